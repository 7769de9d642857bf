"""The state file, `.orshot/state.json`: what was sent to Orshot, for which post and account.

Modelled on Terraform's state: `serial` grows by one on every write and `lineage` is set once,
when a blank state is created, so two state files can be compared (`write_state` refuses to
clobber a file written by someone else in the meantime). The unit is (post id, account alias):
each account of each post has its own record, written *before* a request is sent (an intent,
status `pending`) and again with the result, so a crash leaves a record and never a duplicate.

Everything here is a value: frozen dataclasses with functional updaters. The API key never
passes through this module.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import gc
import hashlib
import importlib
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from orshot_gitops.errors import UserError

if TYPE_CHECKING:
    from orshot_gitops.content.cache import DiskCache

STATE_PATH = ".orshot/state.json"
"""Where the state lives, relative to the content repository root (posix separators)."""

STATE_VERSION = 1
SCHEMA_NAME = "state.schema.json"

_RESTORE_HINT = (
    "the state file is written by orshot-gitops; restore it from git "
    f"('git checkout -- {STATE_PATH}') rather than editing it by hand"
)


class AccountStatus(str, enum.Enum):
    """Where one (post, account) stands, as far as the last run knows."""

    PUBLISHED = "published"
    SCHEDULED = "scheduled"
    DRAFTED = "drafted"
    PROCESSING = "processing"
    FAILED = "failed"
    PENDING = "pending"
    UNKNOWN = "unknown"

    @property
    def holds_post(self) -> bool:
        """Orshot holds a post for this account in a known state (the merge's "advanced")."""
        return self in (self.PUBLISHED, self.SCHEDULED, self.DRAFTED, self.PROCESSING)

    @property
    def needs_work(self) -> bool:
        """Always joins the plan, whatever changed: an unfinished or uncertain outcome."""
        return self in (self.PENDING, self.FAILED, self.PROCESSING, self.UNKNOWN)


class Step(str, enum.Enum):
    """One request of the two-phase protocol (see DESIGN.md, "The reconciler's rules")."""

    RENDER = "render"
    DRAFT = "draft"
    PUBLISH = "publish"
    SCHEDULE = "schedule"
    PATCH = "patch"
    DISCARD = "discard"
    SYNC = "sync"


@dataclass(frozen=True)
class AccountState:
    """The record of one account of one post.

    `fingerprint` is the sha256 of what was (or is being) sent to this account; `step` is the
    request in flight (with status `pending`) or the one to retry (with status `failed`), and
    `None` once a result is final. Timestamps are ISO 8601 strings with an offset, kept as
    written so a load/dump round trip is byte-identical.

    `run` is the claim (DESIGN.md, "Claims, not windows"): the id of the apply run that wrote
    the record's latest intent. Only that run may act on the record while its heartbeat is
    fresh; another takes it over by writing (and, with --push, pushing) its own id first.
    None in records written before claims existed; left out of the file then.
    """

    account_id: int
    fingerprint: str
    revision: int
    status: AccountStatus
    step: Step | None = None
    post_id: int | None = None
    url: str | None = None
    error: str | None = None
    action: str | None = None
    attempts: int = 0
    first_attempt_at: str | None = None
    last_attempt_at: str | None = None
    scheduled_for: str | None = None
    group: str | None = None
    # What the last draft request carried (`sent_digest`) and the posts earlier revisions
    # made (`earlier_post_ids`): a draft whose answer was lost is then found by exactly what
    # was sent, and never confused with a post this record made before. Optional in the file.
    sent_digest: str | None = None
    earlier_post_ids: tuple[int, ...] = ()
    # Added later, so optional in the file and written only when set: older states load, and
    # a state that never needed them keeps its bytes.
    # The held Orshot post this account is moving off (a split or a replacement in progress):
    # until it is cleared, that post may still hold this account and must be taken off it.
    replaces: int | None = None
    # sha256 of the platform_options sent with this account's draft: PATCH cannot change
    # them, so a held post whose options changed is replaced, not edited.
    options_fingerprint: str | None = None
    # The claim: the run that wrote this record's latest intent (claims.py).
    run: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["status"] = self.status.value
        data["step"] = self.step.value if self.step else None
        # Optional fields are written only when they say something: files without them
        # stay byte-identical, and older versions' files read the same.
        for name, default in _OPTIONAL_ACCOUNT_FIELDS.items():
            if data[name] == default:
                del data[name]
        if "earlier_post_ids" in data:
            data["earlier_post_ids"] = list(self.earlier_post_ids)
        return data

    def owned_post_ids(self) -> tuple[int, ...]:
        """Every Orshot post this record made: its earlier revisions', the held post it is
        moving off (`replaces`) and the current one."""
        owned = list(self.earlier_post_ids)
        for post_id in (self.replaces, self.post_id):
            if post_id is not None and post_id not in owned:
                owned.append(post_id)
        return tuple(owned)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccountState:
        # The schema guarantees exactly our fields, so they map one to one.
        step = data["step"]
        status = _STATUSES.get(data["status"])
        keys = data.keys()
        if (
            _REQUIRED_ACCOUNT_FIELDS <= keys <= _ACCOUNT_FIELDS
            and status is not None
            and (not step or step in _STEPS)
        ):
            # A plan reads every record (24,500 for 10,000 posts): filling the instance's
            # __dict__ is 3x faster than the frozen __init__'s setattr per field, and gives
            # the same value, since every field is present and there is no __post_init__.
            record = object.__new__(cls)
            record.__dict__.update(_OPTIONAL_ACCOUNT_FIELDS)
            record.__dict__.update(data)
            record.__dict__["status"] = status
            record.__dict__["step"] = _STEPS[step] if step else None
            record.__dict__["earlier_post_ids"] = tuple(data.get("earlier_post_ids", ()))
            return record
        return cls(
            **{
                **data,
                "status": AccountStatus(data["status"]),
                "step": Step(step) if step else None,
                "earlier_post_ids": tuple(data.get("earlier_post_ids", ())),
            }
        )


_ACCOUNT_FIELDS = frozenset(f.name for f in fields(AccountState))
_OPTIONAL_ACCOUNT_FIELDS: dict[str, Any] = {
    "sent_digest": None,
    "earlier_post_ids": (),
    "replaces": None,
    "options_fingerprint": None,
    "run": None,
}
_REQUIRED_ACCOUNT_FIELDS = _ACCOUNT_FIELDS - _OPTIONAL_ACCOUNT_FIELDS.keys()
_STATUSES = {status.value: status for status in AccountStatus}
_STEPS = {step.value: step for step in Step}
_NEEDS_WORK = frozenset(status.value for status in AccountStatus if status.needs_work)


@dataclass(frozen=True)
class Render:
    """A Studio render done for a post: re-used by every later step and retry, never redone."""

    fingerprint: str
    media_urls: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "media_urls", tuple(self.media_urls))


@dataclass(frozen=True)
class PostState:
    """The record of one post file: its path, revision, render output and accounts."""

    path: str
    revision: int
    render: Render | None = None
    accounts: Mapping[str, AccountState] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # A read-only copy: a caller's dict can't change this value behind its back.
        object.__setattr__(self, "accounts", MappingProxyType(dict(self.accounts)))

    def with_account(self, account_key: str, account: AccountState) -> PostState:
        """A copy with `account_key`'s record set to `account`."""
        return replace(self, accounts={**self.accounts, account_key: account})

    def without_account(self, account_key: str) -> PostState:
        """A copy without `account_key`'s record (absent keys are fine)."""
        return replace(self, accounts={k: v for k, v in self.accounts.items() if k != account_key})

    def to_json(self) -> dict[str, Any]:
        render = None
        if self.render is not None:
            render = {
                "fingerprint": self.render.fingerprint,
                "media_urls": list(self.render.media_urls),
            }
        return {
            "path": self.path,
            "revision": self.revision,
            "render": render,
            "accounts": {key: acc.to_json() for key, acc in self.accounts.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PostState:
        render = data.get("render")
        if data.keys() == _POST_FIELDS:
            # As in AccountState.from_json: the same value as __init__ and __post_init__ make.
            post = object.__new__(cls)
            post.__dict__.update(
                path=data["path"],
                revision=data["revision"],
                render=Render(render["fingerprint"], tuple(render["media_urls"]))
                if render
                else None,
                accounts=MappingProxyType(
                    {k: AccountState.from_json(v) for k, v in data["accounts"].items()}
                ),
            )
            return post
        return cls(
            path=data["path"],
            revision=data["revision"],
            render=Render(render["fingerprint"], tuple(render["media_urls"])) if render else None,
            accounts={k: AccountState.from_json(v) for k, v in data["accounts"].items()},
        )


_POST_FIELDS = frozenset(f.name for f in fields(PostState))


@dataclass(frozen=True)
class State:
    """The whole state file. `serial` is the serial of the file this value was loaded from
    (or last written as); `write_state` writes `serial + 1`.

    >>> state = new_state("0b7c5e4e-2d1a-4e8e-9a3f-6c1d2e3f4a5b")
    >>> state.serial, state.commit, dict(state.posts)
    (0, None, {})
    """

    lineage: str
    serial: int = 0
    commit: str | None = None
    posts: Mapping[str, PostState] = field(default_factory=dict, hash=False)
    heartbeats: Mapping[str, str] = field(default_factory=dict, hash=False)
    """{run id: when that run last said it is alive}: a run's claims can be taken over only
    once its heartbeat is older than the settle window. A run removes its own when it ends."""

    def __post_init__(self) -> None:
        if not isinstance(self.posts, _RecordedPosts):  # that one is read-only already
            object.__setattr__(self, "posts", MappingProxyType(dict(self.posts)))
        object.__setattr__(self, "heartbeats", MappingProxyType(dict(self.heartbeats)))

    def account(self, post_id: str, account_key: str) -> AccountState | None:
        """The record of (post, account), or None if there is none."""
        post = self.posts.get(post_id)
        return post.accounts.get(account_key) if post else None

    def entries(self) -> Iterator[tuple[str, str, AccountState]]:
        """Every (post id, account alias, record), in sorted order."""
        for post_id in sorted(self.posts):
            accounts = self.posts[post_id].accounts
            for key in sorted(accounts):
                yield post_id, key, accounts[key]

    def post_ids_needing_work(self) -> set[str]:
        """The posts with an account that needs work. Answered from the file's own values
        when the posts came from one: `plan` asks it of every post, and building them all
        cost 0.1 s of every plan on 10,000 posts."""
        if isinstance(self.posts, _RecordedPosts):
            return self.posts.ids_needing_work()
        return {
            post_id
            for post_id, post in self.posts.items()
            if any(a.status.needs_work or a.replaces is not None for a in post.accounts.values())
        }

    def post_ids_with_aliases_outside(self, known: Iterable[str]) -> set[str]:
        """The posts with a record under an alias not in `known` (an alias renamed or
        dropped in orshot.yaml). From the file's own values, like `post_ids_needing_work`."""
        aliases = set(known)
        if isinstance(self.posts, _RecordedPosts):
            return self.posts.ids_with_aliases_outside(aliases)
        return {pid for pid, post in self.posts.items() if not aliases.issuperset(post.accounts)}

    def account_count(self, post_id: str) -> int:
        """How many accounts the post has records for (0 if it is not recorded)."""
        if isinstance(self.posts, _RecordedPosts):
            return self.posts.account_count(post_id)
        post = self.posts.get(post_id)
        return len(post.accounts) if post is not None else 0

    def needing_work(self) -> Iterator[tuple[str, str, AccountState]]:
        """The entries that join every plan: pending, failed, processing or unknown, or still
        moving off a held post."""
        return (
            (p, k, a) for p, k, a in self.entries() if a.status.needs_work or a.replaces is not None
        )

    def with_post(self, post_id: str, post: PostState) -> State:
        """A copy with `post_id`'s record set to `post`."""
        return replace(self, posts={**self.posts, post_id: post})

    def without_post(self, post_id: str) -> State:
        """A copy without `post_id`'s record (absent ids are fine)."""
        return replace(self, posts={k: v for k, v in self.posts.items() if k != post_id})

    def with_account(self, post_id: str, account_key: str, account: AccountState) -> State:
        """A copy with one account record set. The post must already be recorded
        (`with_post`), because only the caller knows its path and revision."""
        post = self.posts.get(post_id)
        if post is None:
            raise KeyError(f"post {post_id!r} is not in the state; add it with with_post first")
        return self.with_post(post_id, post.with_account(account_key, account))

    def without_account(self, post_id: str, account_key: str) -> State:
        """A copy without one account record (absent ones are fine)."""
        post = self.posts.get(post_id)
        if post is None:
            return self
        return self.with_post(post_id, post.without_account(account_key))

    def with_commit(self, commit: str | None) -> State:
        """A copy recording `commit` as the last reconciled commit."""
        return replace(self, commit=commit)

    def with_heartbeat(self, run: str, stamp: str | None) -> State:
        """A copy where `run` said it was alive at `stamp` (None: the run has ended)."""
        beats = {k: v for k, v in self.heartbeats.items() if k != run}
        if stamp is not None:
            beats[run] = stamp
        return replace(self, heartbeats=beats)

    def to_json(self) -> dict[str, Any]:
        data = {
            "version": STATE_VERSION,
            "serial": self.serial,
            "lineage": self.lineage,
            "commit": self.commit,
            "posts": {post_id: post.to_json() for post_id, post in self.posts.items()},
        }
        if self.heartbeats:  # optional: absent while no run is under way
            data["heartbeats"] = dict(sorted(self.heartbeats.items()))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """The state of the (schema-valid) JSON `data`, which it takes over: each post is
        built when first looked up (a plan looks at the few that changed)."""
        return cls(
            serial=data["serial"],
            lineage=data["lineage"],
            commit=data["commit"],
            posts=_RecordedPosts(data["posts"]),
            heartbeats=data.get("heartbeats") or {},
        )


class _RecordedPosts(Mapping[str, PostState]):
    """The posts of a state file: a read-only mapping over the file's JSON that builds each
    PostState the first time it is looked up, and keeps it. Equal to, and read like, the
    mapping of built posts it stands for; only the building is deferred."""

    __slots__ = ("_built", "_raw")

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._built: dict[str, PostState] = {}

    def __getitem__(self, post_id: str) -> PostState:
        post = self._built.get(post_id)
        if post is None:
            post = self._built[post_id] = PostState.from_json(self._raw[post_id])
        return post

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._raw

    def __repr__(self) -> str:
        return f"mappingproxy({dict(self.items())!r})"

    # A built post is made from its JSON and never changes, so the JSON answers for both.

    def ids_needing_work(self) -> set[str]:
        return {
            post_id
            for post_id, post in self._raw.items()
            # An unfinished move off a held post (`replaces`) needs work whatever its status.
            if any(
                a["status"] in _NEEDS_WORK or a.get("replaces") is not None
                for a in post["accounts"].values()
            )
        }

    def ids_with_aliases_outside(self, aliases: set[str]) -> set[str]:
        return {
            post_id
            for post_id, post in self._raw.items()
            if not aliases.issuperset(post["accounts"])
        }

    def account_count(self, post_id: str) -> int:
        post = self._raw.get(post_id)
        return len(post["accounts"]) if post is not None else 0


def sent_digest(content: str | None, media_urls: tuple[str, ...] | list[str]) -> str:
    """The digest of a caption and media as sent to Orshot: what a post found in the Posts
    Log must carry, exactly, to be taken for the one a lost draft request made."""
    canonical = json.dumps(
        {"content": content or "", "media_urls": list(media_urls)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def new_state(lineage: str | None = None) -> State:
    """A blank state (serial 0) with a fresh lineage, or the one given (for tests)."""
    return State(lineage=lineage or str(uuid.uuid4()))


# --- reading and writing ------------------------------------------------------------------


def state_file(repo_root: Path) -> Path:
    """The state file's location under a content repository root."""
    return repo_root / STATE_PATH


def load_state(repo_root: Path) -> State:
    """Read `.orshot/state.json` under `repo_root`; a blank state if there is none.

    Raises UserError, naming the file, line and column, for invalid JSON, a schema violation,
    leftover merge conflict markers, or a version written by a newer orshot-gitops.
    """
    path = state_file(repo_root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return new_state()
    except OSError as exc:
        raise UserError(f"cannot read the state file: {exc.strerror}", path=STATE_PATH) from exc
    return parse_state(text)


def parse_state(text: str, source: str = STATE_PATH) -> State:
    """Parse and validate the text of a state file (`source` names it in errors)."""
    # Parsing builds ~500,000 objects for 10,000 posts, none of them in a cycle; the cyclic
    # collector would walk them all again and again while they are made (measured: the parse,
    # check and build took 0.6 s with it, 0.3 s without).
    with _collector_paused():
        return _parse_state(text, source)


def _parse_state(text: str, source: str) -> State:
    memo, key = _valid_memo(text)
    if memo is not None and memo.get(key) is not None:
        # These exact bytes passed every check below before (same schema, same code, the key
        # says so): only the values are needed, and the C parser alone gives the same ones.
        return State.from_json(json.loads(text))
    data = _decode(text, source)
    from orshot_gitops.content.fastschema import conforms

    # Only the compiled check's yes is remembered: it depends on nothing outside the key.
    trusted = conforms(_fast_check(), data)
    error = None if trusted else _first_schema_error(data)
    if error is not None:
        where, message = error
        line, column = _locate(text, where)
        raise UserError(
            f"the state file does not match its schema: {message}",
            path=source,
            line=line,
            column=column,
            hint=_RESTORE_HINT,
            code="state-schema",
        )
    state = State.from_json(data)
    if memo is not None and trusted:
        memo.put(key, b"")
        memo.flush()
    return state


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
                hint="state files are merged entry by entry by orshot-gitops, never as text: "
                "abort the merge or rebase and run again",
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
    written = replace(state, serial=state.serial + 1)
    data = written.to_json()
    # Never persist what load_state would refuse: that would lock every later run out. Only
    # posts that differ from the file on disk are checked: jsonschema costs ~0.1 ms per
    # account, and apply writes before and after every request.
    unchanged = on_disk["posts"] if on_disk is not None else {}
    changed = {k: v for k, v in data["posts"].items() if unchanged.get(k) != v}
    error = _first_schema_error({**data, "posts": changed})
    if error is not None:
        raise ValueError(f"bug: refusing to write an invalid state: {error[1]}")
    text = _dumps(data)
    try:
        _atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise UserError(
            f"cannot write the state file: {exc.strerror or exc}",
            path=STATE_PATH,
            hint="check the directory's permissions and free space; the old file is intact",
            code="state-write",
        ) from exc
    return written


def _read_for_write(path: Path) -> dict[str, Any] | None:
    """The JSON on disk, trusted as far as lineage, serial and posts go (None if absent)."""
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
        and isinstance(data.get("posts"), dict)
    )
    if not shaped:
        parse_state(text)  # raises with the line and column of what is wrong
        raise UserError("the state file on disk is malformed", path=STATE_PATH)
    result: dict[str, Any] = data
    return result


def _atomic_write(path: Path, data: bytes) -> None:
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


# --- three-way merge ------------------------------------------------------------------------


def merge_states(base: State, ours: State, theirs: State) -> State:
    """Merge two states that grew from `base`, entry by entry: never a textual conflict.

    Used when our push is rejected and we rebase onto another run's results. For each
    (post, account): a side that left it as in `base` yields to the other; when both changed
    it, the record that says more about what Orshot holds wins (see `_prefer`). A record
    deleted on one side and changed on the other is kept: losing a post id could mean a
    duplicate. The result's serial is max(ours, theirs) + 1; lineages must all match.
    """
    lineages = {base.lineage, ours.lineage, theirs.lineage}
    if len(lineages) != 1:
        raise UserError(
            "cannot merge state files of different lineages: " + ", ".join(sorted(lineages)),
            path=STATE_PATH,
            hint="they belong to different repositories or one was recreated; keep one by hand",
            code="state-lineage",
        )
    posts: dict[str, PostState] = {}
    for post_id in sorted({*base.posts, *ours.posts, *theirs.posts}):
        merged = _merge_post(
            base.posts.get(post_id), ours.posts.get(post_id), theirs.posts.get(post_id)
        )
        if merged is not None:
            posts[post_id] = merged
    # Both sides reconciled different commits: forget the commit so the next run compiles
    # everything (level-triggered) instead of trusting a diff base that may skip changes.
    commit = _three_way(base.commit, ours.commit, theirs.commit, lambda o, t: None)
    return State(
        lineage=base.lineage,
        serial=max(ours.serial, theirs.serial) + 1,
        commit=commit,
        posts=posts,
        heartbeats=_merge_heartbeats(base, ours, theirs),
    )


def _merge_heartbeats(base: State, ours: State, theirs: State) -> dict[str, str]:
    """Only a run beats for itself; others only remove beats they found stale. So when both
    sides changed one, a beat on one side means the run was alive after the other side
    judged it: keep the later beat."""

    def later(o: str | None, t: str | None) -> str | None:
        if o is None or t is None:
            return o or t
        return o if _instant(o) >= _instant(t) else t

    merged: dict[str, str] = {}
    for run in sorted({*base.heartbeats, *ours.heartbeats, *theirs.heartbeats}):
        beat = _three_way(
            base.heartbeats.get(run), ours.heartbeats.get(run), theirs.heartbeats.get(run), later
        )
        if beat is not None:
            merged[run] = beat
    return merged


def _three_way(base: Any, ours: Any, theirs: Any, both_changed: Any) -> Any:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    return both_changed(ours, theirs)


def _merge_post(
    base: PostState | None, ours: PostState | None, theirs: PostState | None
) -> PostState | None:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    empty: Mapping[str, AccountState] = {}
    b_acc = base.accounts if base else empty
    o_acc = ours.accounts if ours else empty
    t_acc = theirs.accounts if theirs else empty
    accounts: dict[str, AccountState] = {}
    for key in sorted({*b_acc, *o_acc, *t_acc}):
        account = _three_way(b_acc.get(key), o_acc.get(key), t_acc.get(key), _prefer)
        if account is not None:
            accounts[key] = account
    if ours is None or theirs is None:
        # Deleted on one side, changed on the other: keep the changed side's fields.
        present = ours or theirs
        assert present is not None
        return replace(present, accounts=accounts) if accounts else None
    b_path = base.path if base else None
    b_render = base.render if base else None
    return PostState(
        # The remote side is already committed and pushed: it wins a tie on plain fields.
        path=_three_way(b_path, ours.path, theirs.path, lambda o, t: t),
        revision=max(ours.revision, theirs.revision),
        render=_three_way(b_render, ours.render, theirs.render, lambda o, t: t or o),
        accounts=accounts,
    )


def _prefer(ours: AccountState | None, theirs: AccountState | None) -> AccountState | None:
    """Both sides changed one record: pick the one that says more about what Orshot holds.

    Two intents of different runs: the pushed one (theirs) is the claim of record; ours was
    written by a run that had lost the claim and must not win it back by being later."""
    if ours is None or theirs is None:
        return ours or theirs
    if _rank(ours)[0] == _rank(theirs)[0] == 1 and ours.run != theirs.run:
        return theirs
    return ours if _rank(ours) > _rank(theirs) else theirs


def _rank(account: AccountState) -> tuple[int, datetime]:
    if account.status.holds_post and account.post_id is not None:
        tier = 2
    elif account.status in (AccountStatus.PENDING, AccountStatus.UNKNOWN):
        # An intent without an outcome must be settled by reading Orshot: fail closed, keep it.
        tier = 1
    else:
        tier = 0
    return tier, _instant(account.last_attempt_at)


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _instant(text: str | None) -> datetime:
    if not text:
        return _EPOCH
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
    error = _jsonschema().exceptions.best_match(_validator().iter_errors(data))
    if error is None:
        return None
    where = tuple(error.absolute_path)
    label = "/".join(str(part) for part in where)
    return where, f"{error.message} (at {label or 'the top level'})"


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
