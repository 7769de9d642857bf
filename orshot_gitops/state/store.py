"""Reading and writing `.orshot/state.json`: checked on the way in, atomic on the way out.

`load_state`/`parse_state` refuse what is not a whole, valid state (conflict markers,
duplicate keys, a newer version, a schema violation, numbers or nesting past the limits),
each at its line and column; a state whose exact bytes passed once is remembered in the disk
cache. `write_state` never clobbers a file someone else wrote meanwhile (lineage, serial) and
writes atomically: temp file, fsync, rename, fsync the directory.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orshot_gitops.errors import UserError

if TYPE_CHECKING:
    from orshot_gitops.content.cache import DiskCache

from orshot_gitops.state.model import (
    _RESTORE_HINT,
    POSTS_DIR,
    SCHEMA_NAME,
    STATE_PATH,
    STATE_VERSION,
    PostState,
    State,
    new_state,
)
from orshot_gitops.state.posts import Tally


def state_file(repo_root: Path) -> Path:
    """The state file's location under a content repository root."""
    return repo_root / STATE_PATH


def load_state(repo_root: Path) -> State:
    """Read `.orshot/state.json` under `repo_root`; a blank state if there is none.

    Raises UserError, naming the file, line and column, for invalid JSON, a schema violation,
    leftover merge conflict markers, or a version written by a newer orshot-gitops.
    """
    from orshot_gitops.state.layout import walk_ids
    from orshot_gitops.state.postfiles import stored_posts

    path = state_file(repo_root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if walk_ids(repo_root):
            # Taking this for "no state" would send every post again.
            raise UserError(
                f"the state's index is missing, but {POSTS_DIR} holds records",
                path=STATE_PATH,
                hint=f"restore it from the commit that last had it (git log -- {STATE_PATH}); "
                f"to start over, remove {POSTS_DIR} too and run 'orshot-gitops refresh "
                "--rebuild', which records what Orshot holds",
                code="state-index",
            ) from None
        return new_state()
    except OSError as exc:
        raise UserError(f"cannot read the state file: {exc.strerror}", path=STATE_PATH) from exc
    return parse_state(text, posts=lambda tally: stored_posts(repo_root, tally))


PostsOf = Callable[[Tally | None], Mapping[str, PostState]]
"""The posts of a v2 state, given the index's tally (None: stale, to be counted)."""


def parse_state(text: str, source: str = STATE_PATH, posts: PostsOf | None = None) -> State:
    """Parse and validate the text of a state file (`source` names it in errors). A v2
    file is the index alone: `posts` gives its posts (the working tree's, a commit's)."""
    # Parsing builds ~500,000 objects for 10,000 posts, none of them in a cycle; the cyclic
    # collector would walk them all again and again while they are made (measured: the parse,
    # check and build took 0.6 s with it, 0.3 s without).
    with _collector_paused():
        return _parse_state(text, source, posts)


def _parse_state(text: str, source: str, posts: PostsOf | None) -> State:
    memo, key = _valid_memo(text)
    if memo is not None and memo.get(key) is not None:
        # These exact bytes passed every check below before (same schema, same code, the key
        # says so): only the values are needed, and the C parser alone gives the same ones.
        return State.from_json(json.loads(text))
    data = _decode(text, source)
    if isinstance(data, dict) and data.get("version") == STATE_VERSION:
        return _parse_index(text, data, source, posts)
    from orshot_gitops.content.fastschema import conforms

    # Only the compiled check's yes is remembered: it depends on nothing outside the key.
    trusted = conforms(_fast_check(), data)
    error = None if trusted else _first_schema_error(data)
    if error is not None:
        raise schema_error(text, source, *error)
    state = State.from_json(data)
    if memo is not None and trusted:
        memo.put(key, b"")
        memo.flush()
    return state


def schema_error(text: str, source: str, where: tuple[str | int, ...], message: str) -> UserError:
    """The error for a state that does not match its schema, at `where`'s line and column."""
    line, column = _locate(text, where)
    return UserError(
        f"the state file does not match its schema: {message}",
        path=source,
        line=line,
        column=column,
        hint=_RESTORE_HINT,
        code="state-schema",
    )


def _parse_index(text: str, data: dict[str, Any], source: str, posts: PostsOf | None) -> State:
    from orshot_gitops.state.layout import index_problem, tally_from_json

    problem = index_problem(data)
    if problem is not None:
        raise schema_error(text, source, *problem)
    if posts is None:
        raise ValueError("bug: a v2 state index parsed without a way to read its posts")
    tally = None if data.get("tally") == "stale" else tally_from_json(data.get("tally"))
    return State(
        lineage=data["lineage"],
        serial=data["serial"],
        commit=data.get("commit"),
        posts=posts(tally),
        heartbeats=data.get("heartbeats") or {},
        ended=data.get("ended") or {},
        merged_commits=tuple(data.get("merged_commits") or ()),
        awaiting_approval=data.get("awaiting_approval") or {},
    )


def dump_index(state: State, tally: Tally | None) -> str:
    """The v2 index's text; a None tally is written as "stale" (a write under way)."""
    from orshot_gitops.state.layout import tally_json

    data: dict[str, Any] = {
        "version": STATE_VERSION,
        "serial": state.serial,
        "lineage": state.lineage,
        "tally": tally_json(tally) if tally is not None else "stale",
    }
    if state.commit is not None:
        data["commit"] = state.commit
    if state.heartbeats:
        data["heartbeats"] = dict(sorted(state.heartbeats.items()))
    if state.ended:
        data["ended"] = dict(sorted(state.ended.items()))
    if state.merged_commits:
        data["merged_commits"] = list(state.merged_commits)
    if state.awaiting_approval:
        data["awaiting_approval"] = state.awaiting_json()
    return _dumps(data)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _valid_memo(text: str) -> tuple[DiskCache | None, str]:
    """The "checked and valid" memo (orshot_gitops.content.cache) and this text's key in it; the memo
    is None when the cache is off. Checking a 15 MB state costs 0.2 s on every plan; hashing
    it 0.02 s. Keyed by the sha256 of the bytes and of everything the verdict depends on."""
    from orshot_gitops.content.cache import DiskCache, key_of

    memo = DiskCache.named("state")
    if not memo.enabled:
        return None, ""
    try:
        fingerprint = _verdict_fingerprint()
    except OSError:  # our own source is not a readable file (a zip import): no memo
        return None, ""
    return memo, key_of(fingerprint, text.encode("utf-8", "surrogatepass"))


@functools.lru_cache(maxsize=1)
def _verdict_fingerprint() -> bytes:
    # The schema, the code that decodes and checks (this module and fastschema), Python (its
    # json module): a change to any of them and every state is checked afresh.
    from orshot_gitops.content import fastschema

    digest = hashlib.sha256(f"{STATE_VERSION}|{sys.version}".encode())
    for path in (_schema_path(SCHEMA_NAME), Path(__file__), Path(fastschema.__file__)):
        digest.update(b"|" + path.read_bytes())
    return digest.digest()


def _decode(text: str, source: str) -> Any:
    """The JSON of a state file, refusing conflict markers, duplicate keys and newer versions;
    not yet checked against the schema."""
    data = _decode_json(text, source)
    version = data.get("version") if isinstance(data, dict) else None
    # Checked before the schema: a newer format may well fail our schema, and "upgrade" is
    # the useful thing to say about it.
    if isinstance(version, int) and not isinstance(version, bool) and version > STATE_VERSION:
        raise UserError(
            f"the state file has version {version}: written by a newer orshot-gitops; upgrade",
            path=source,
            hint="install a newer orshot-gitops; this one will not touch the file",
            code="state-version",
        )
    return data


def _decode_json(text: str, source: str) -> Any:
    """The JSON of a state file (the index, a post file), refusing conflict markers and
    duplicate keys."""
    # A state file of 10,000 posts has 500,000 lines: only look at them if a marker is there.
    markers = ("<<<<<<< ", ">>>>>>> ", "=======")
    lines = text.splitlines() if any(m in text for m in markers) else []
    for number, text_line in enumerate(lines, start=1):
        if text_line.startswith(("<<<<<<< ", ">>>>>>> ")) or text_line == "=======":
            raise UserError(
                "the state file has git merge conflict markers",
                path=source,
                line=number,
                column=1,
                hint="state files are merged entry by entry, never as text: run "
                "'orshot-gitops state repair' (it merges git's three versions and stages the "
                "result), then commit; 'git checkout --theirs' would drop records",
                code="state-conflict",
            )
    try:
        data = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"the state file is not valid JSON: {exc.msg}",
            path=source,
            line=exc.lineno,
            column=exc.colno,
            hint=_RESTORE_HINT,
            code="state-json",
        ) from exc
    except _DuplicateKeyError as exc:
        raise UserError(
            f"the state file has the key {exc.key!r} twice in one object",
            path=source,
            hint=_RESTORE_HINT,
            code="state-json",
        ) from exc
    except RecursionError:
        raise UserError(
            "the state file nests lists or objects deeper than Python can read",
            path=source,
            hint=_RESTORE_HINT,
            code="state-json",
        ) from None
    except ValueError:  # an integer past Python's int-string conversion limit (4,300 digits)
        long_number = re.search(r"\d{4301,}", text)
        at = long_number.start() if long_number else 0
        raise UserError(
            "the state file holds a number too long to read (more than 4,300 digits)",
            path=source,
            line=text.count("\n", 0, at) + 1,
            column=at - (text.rfind("\n", 0, at) + 1) + 1,
            hint=_RESTORE_HINT,
            code="state-json",
        ) from None
    return data


def dump_state(state: State) -> str:
    """The file text: sorted keys, 2-space indent, a trailing newline, so diffs read well."""
    return _dumps(state.to_json())


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_state(repo_root: Path, state: State) -> State:
    """Write `state` with its serial bumped, atomically; returns what was written.

    Refuses (UserError) when the file on disk has another lineage, or a serial higher than
    `state.serial` (someone wrote it after we read it), or is unreadable or newer: we never
    clobber a record of what was sent. A crash at any point leaves the old file or the new
    one, never a mix: temp file in the same directory, fsync, rename, fsync the directory.
    """
    path = state_file(repo_root)
    on_disk = _read_for_write(path)
    if on_disk is not None:
        lineage, serial = on_disk["lineage"], on_disk["serial"]
        if lineage != state.lineage:
            raise UserError(
                f"refusing to write the state: the file on disk has lineage {lineage}, "
                f"this run's state has {state.lineage}",
                path=STATE_PATH,
                hint="it belongs to another repository or was recreated; restore it from git",
                code="state-lineage",
            )
        if serial > state.serial:
            raise UserError(
                f"refusing to write the state: the file on disk has serial {serial}, "
                f"newer than the {state.serial} this run read (another run is writing it)",
                path=STATE_PATH,
                hint="let the other run finish, then run again",
                code="state-serial",
            )
    from orshot_gitops.state.postfiles import changed_posts, write_posts, write_schedule

    written = replace(state, serial=state.serial + 1)
    on_disk_is_v2 = on_disk is not None and on_disk.get("version") == STATE_VERSION
    changes = changed_posts(repo_root, state.posts, on_disk_is_v2)
    # Never persist what load_state would refuse: that would lock every later run out. Only
    # the posts being written are checked: jsonschema costs ~0.1 ms per account, and apply
    # writes before and after every request.
    posts = {pid: post.to_json() for pid, post in changes.items() if post is not None}
    checked = replace(written, posts={}).to_json()  # the run metadata, checked as v1 has it
    error = _first_schema_error({**checked, "posts": posts})
    if error is not None:
        raise ValueError(f"bug: refusing to write an invalid state: {error[1]}")
    tally = written.tally()
    try:
        if changes:
            # The index says "stale" while the post files change: a crash in between costs
            # the next load a recount, never a post that needs work and was forgotten.
            atomic_write(path, dump_index(written, None).encode("utf-8"))
            write_posts(repo_root, changes, atomic_write)
            write_schedule(repo_root, tally, atomic_write)
        atomic_write(path, dump_index(written, tally).encode("utf-8"))
    except OSError as exc:
        raise UserError(
            f"cannot write the state file: {exc.strerror or exc}",
            path=STATE_PATH,
            hint="check the directory's permissions and free space; the old file is intact",
            code="state-write",
        ) from exc
    return written


def _read_for_write(path: Path) -> dict[str, Any] | None:
    """The index (or v1 file) on disk, trusted as far as lineage, serial and version go
    (None if absent)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"cannot read the state file: {exc.strerror}", path=STATE_PATH) from exc
    data = _decode(text, STATE_PATH)
    shaped = (
        isinstance(data, dict)
        and isinstance(data.get("lineage"), str)
        and type(data.get("serial")) is int
        and (isinstance(data.get("posts"), dict) or data.get("version") == STATE_VERSION)
    )
    if not shaped:
        parse_state(text)  # raises with the line and column of what is wrong
        raise UserError("the state file on disk is malformed", path=STATE_PATH)
    result: dict[str, Any] = data
    return result


def atomic_write(path: Path, data: bytes) -> None:
    """`data` at `path`, whole or not at all: temp file, fsync, rename, the folder fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename is only durable once the directory entry is on disk (POSIX only).
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# --- schema validation and error positions --------------------------------------------------


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = dict(pairs)
    if len(result) == len(pairs):  # no key twice (the C-speed common case)
        return result
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _schema_path(name: str) -> Path:
    # Until orshot_gitops/content/schemas.py exists: the wheel carries schemas/ inside the package,
    # a checkout has it beside the package.
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "schemas" / name, here.parent / "schemas" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name} not found beside {here}")


def _jsonschema() -> Any:
    # A slow import (and no type stubs in the dev set): only commands that read state pay.
    return importlib.import_module("jsonschema")


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    schema = json.loads(_schema_path(SCHEMA_NAME).read_text(encoding="utf-8"))
    return _jsonschema().Draft202012Validator(schema)


@functools.lru_cache(maxsize=1)
def _fast_check() -> Any:
    # jsonschema costs ~0.1 ms per account: 1.4 s for 5,000 posts on every plan. A valid state
    # (the usual case) is recognised by a compiled check of the same schema; anything else
    # still goes through jsonschema, which decides and explains.
    from orshot_gitops.content.fastschema import compile_schema

    schema = json.loads(_schema_path(SCHEMA_NAME).read_text(encoding="utf-8"))
    return compile_schema(schema)


def _first_schema_error(data: Any) -> tuple[tuple[str | int, ...], str] | None:
    from orshot_gitops.content.fastschema import conforms

    if conforms(_fast_check(), data):
        return None
    from orshot_gitops.content.schemas import explain

    error = _jsonschema().exceptions.best_match(_validator().iter_errors(data))
    if error is None:
        return None
    # In the words a post file's schema errors use: jsonschema's own name schemas and regexes
    # the reader never wrote.
    where, _, message, _ = explain(error)
    label = "/".join(str(part) for part in where)
    return where, f"{message} (at {label or 'the top level'})"


def _locate(text: str, where: tuple[str | int, ...]) -> tuple[int, int]:
    """1-based line and column of the value at JSON path `where` in valid JSON `text`.

    The json module keeps no positions, so walk the text with its own scanner; the deepest
    value found is reported if the path runs out (e.g. a missing required key)."""
    decoder = json.JSONDecoder()
    index = _skip_ws(text, 0)
    for part in where:
        found = _child_start(text, index, part, decoder)
        if found is None:
            break
        index = found
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _child_start(text: str, index: int, part: str | int, decoder: json.JSONDecoder) -> int | None:
    opener = text[index : index + 1]
    if opener not in ("{", "["):
        return None
    closer = "}" if opener == "{" else "]"
    index = _skip_ws(text, index + 1)
    position = 0
    while index < len(text) and text[index] != closer:
        if opener == "{":
            key, index = json.decoder.scanstring(text, index + 1)  # type: ignore[attr-defined]
            index = _skip_ws(text, _skip_ws(text, index) + 1)  # past the ':'
            if key == part:
                return index
        elif position == part:
            return index
        _, index = decoder.raw_decode(text, index)
        index = _skip_ws(text, index)
        if text[index : index + 1] == ",":
            index = _skip_ws(text, index + 1)
        position += 1
    return None
