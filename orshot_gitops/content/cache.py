"""A small on-disk cache of work that depends only on its input's bytes.

Three users: `templating.TemplateEngine` (Jinja's parse, code generation and Python
`compile()` are most of `validate`'s time, and a caption's compiled code never changes while
its text, and orshot-gitops, Jinja and Python, do not); `compile.CaptionLengths`, in the same
file, each X caption's weighted length (twitter-text's import alone is 0.2 s); and
`state.parse_state`, which notes the state files whose exact bytes passed its checks (0.2 s of
every `plan` on 10,000 posts).

Where: `$ORSHOT_CACHE_DIR`, else `$XDG_CACHE_HOME/orshot-gitops`, else
`~/.cache/orshot-gitops`; `ORSHOT_CACHE_DIR=off` turns it off. Each kind of entry has its own
subdirectory holding one SQLite file; an entry's key is the sha256 of everything its content
depends on, so it can only ever be found by the input that made it.

Why SQLite and not a file per entry: measured on ext4 with validate's two worker processes,
creating 10,000 small files (temp file + rename) cost 0.4-0.8 ms each, more than compiling the
template; a batch of SQLite inserts costs 0.02 ms each and reads 0.006 ms. Writes are buffered
and committed in batches (and when the cache is dropped or the process exits); readers never
wait for a writer (WAL).

Trust: template entries are code we execute. So a directory is used only if this user owns it
and nobody else can write to it (we create it 0700), and each value carries the sha256 of its key
and payload: a damaged entry is ignored and written again, never loaded. See docs/security.md.

Every failure here (read-only disk, no home, a locked or damaged database) means "no cache",
never an error: the cache only ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
import weakref
from collections.abc import Mapping
from pathlib import Path

OFF = "off"
DB_NAME = "cache.sqlite3"
_DIGEST = 32  # bytes of sha256
_BATCH = 500  # entries per write transaction
_BUSY_MS = 2000  # how long a write waits for another process' transaction


def cache_root(environ: Mapping[str, str] | None = None) -> Path | None:
    """The cache's root directory as configured (not created), or None when it is off."""
    env = os.environ if environ is None else environ
    configured = env.get("ORSHOT_CACHE_DIR", "").strip()
    if configured:
        if configured.lower() == OFF:
            return None
        try:
            chosen = Path(configured).expanduser()
        except RuntimeError:  # '~someone' for a user this machine does not know: no cache
            return None
        # Relative, it would be read from the current directory: in CI, the checkout of a
        # repository anyone can open a pull request against, and template entries are code
        # we run. Refused like a relative XDG_CACHE_HOME below.
        return chosen if chosen.is_absolute() else None
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "orshot-gitops"
    try:
        return Path.home() / ".cache" / "orshot-gitops"
    except RuntimeError:  # no home directory to be found
        return None


class DiskCache:
    """One kind of entry: bytes in, bytes out, by key (a hex sha256)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory if directory is not None and _usable(directory) else None
        self._store = _Store(self.directory / DB_NAME) if self.directory is not None else None
        if self._store is not None:
            # Buffered entries are written when this cache is dropped, or at exit at the latest.
            weakref.finalize(self, self._store.flush)

    @classmethod
    def named(cls, name: str, environ: Mapping[str, str] | None = None) -> DiskCache:
        root = cache_root(environ)
        return cls(root / name if root is not None else None)

    @property
    def enabled(self) -> bool:
        return self._store is not None and not self._store.broken

    def get(self, key: str) -> bytes | None:
        """The payload stored under key, or None if absent or damaged."""
        if self._store is None:
            return None
        data = self._store.get(key)
        if data is None or len(data) < _DIGEST:
            return None
        payload = data[_DIGEST:]
        if _seal(key, payload) != data[:_DIGEST]:
            return None
        return payload

    def put(self, key: str, payload: bytes) -> None:
        """Store payload under key (buffered: see flush)."""
        if self._store is not None:
            self._store.put(key, _seal(key, payload) + payload)

    def flush(self) -> None:
        """Write the buffered entries now."""
        if self._store is not None:
            self._store.flush()


class _Store:
    """The SQLite file, opened on first use, and again in a forked child (a connection must
    not cross a fork)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.broken = False
        self._db: sqlite3.Connection | None = None
        self._pid = 0  # the process that opened _db
        self._pending: dict[str, bytes] = {}
        self._pending_pid = 0  # the process that buffered _pending

    def get(self, key: str) -> bytes | None:
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            if _damaged(exc):
                self._discard()
            return None
        return bytes(row[0]) if row is not None else None

    def put(self, key: str, value: bytes) -> None:
        if self.broken:
            return
        if self._pending_pid != os.getpid():
            # A forked child's copy of its parent's buffer: the parent writes those itself.
            self._pending, self._pending_pid = {}, os.getpid()
        self._pending[key] = value
        if len(self._pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending or self._pending_pid != os.getpid():
            return
        pending, self._pending = self._pending, {}
        db = self._connect()
        if db is None:
            return
        try:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", pending.items()
                )
        except sqlite3.Error as exc:
            # Locked for too long, or a full disk: these entries are simply not kept.
            if _damaged(exc):
                self._discard()

    def _connect(self) -> sqlite3.Connection | None:
        if self.broken:
            return None
        if self._db is not None and self._pid == os.getpid():
            return self._db
        self._db, self._pid = None, os.getpid()
        for attempt in range(2):
            try:
                self._db = self._open()
                return self._db
            except sqlite3.Error as exc:
                if not (_damaged(exc) and attempt == 0):
                    break
                # Not a database, or a damaged one: start afresh, once.
                with contextlib.suppress(OSError):
                    self.path.unlink()
            except (_NotOurs, OSError):
                break
        self.broken = True
        return None

    def _discard(self) -> None:
        """The database turned out damaged: use no cache for the rest of this process, and
        remove the file so the next run starts a fresh one."""
        self.broken = True
        if self._db is not None and self._pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, check_same_thread=False)
        try:
            if not _owned(os.stat(self.path)):
                raise _NotOurs(self.path)
            with contextlib.suppress(sqlite3.OperationalError):  # another process is setting it
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                # A rowid table: WITHOUT ROWID was twice as slow and large for 2 kB values.
                "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)"
            )
            return db
        except BaseException:
            db.close()
            raise


def _seal(key: str, payload: bytes) -> bytes:
    # Over the key too: a damaged file that handed one key's value to another would fail it.
    return hashlib.sha256(key.encode("ascii") + b"\0" + payload).digest()


class _NotOurs(Exception):
    """The database file belongs to another user: never read it."""


def _damaged(exc: sqlite3.Error) -> bool:
    # "file is not a database" and "database disk image is malformed" raise DatabaseError
    # itself; its subclasses are other trouble (locked, busy, read-only, full disk).
    return type(exc) is sqlite3.DatabaseError


def key_of(*parts: bytes) -> str:
    """A cache key: the sha256 of the parts, each length-prefixed so none can run into another."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _usable(directory: Path) -> bool:
    """Create directory (0700) if needed; True only if it is ours and no one else may write."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and _owned(info) and not info.st_mode & 0o022


def _owned(info: os.stat_result) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or info.st_uid == getuid()


__all__ = ["DiskCache", "cache_root", "key_of"]
