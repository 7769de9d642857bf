"""The state's values: what was sent to Orshot, for which post and account.

Modelled on Terraform's state: `serial` grows by one on every write and `lineage` is set once,
when a blank state is created, so two state files can be compared (`store.write_state`
refuses to clobber a file written by someone else in the meantime; `merge.merge_states`
joins two that grew from one base). The unit is (post id, account alias):
each account of each post has its own record, written *before* a request is sent (an intent,
status `pending`) and again with the result, so a crash leaves a record and never a duplicate.

Everything here is a value: frozen dataclasses with functional updaters. The API key never
passes through this module.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from orshot_gitops.state.posts import LazyPosts, Tally, base_tally, layered
from orshot_gitops.state.sent import Sent

STATE_PATH = ".orshot/state.json"
"""Where the state lives, relative to the content repository root (posix separators)."""

STATE_VERSION = 2
"""The newest layout this version writes: 2 is the index at STATE_PATH and a file per post
under POSTS_DIR (layout.py); 1 was everything in STATE_PATH, still read, and converted on
the first write."""
SCHEMA_NAME = "state.schema.json"
STATE_DIR = ".orshot/state"
STATE_PATHS = (STATE_PATH, STATE_DIR)
"""What a commit of the state takes: the index and the folder of post files."""
POSTS_DIR = ".orshot/state/posts"
SCHEDULE_PATH = ".orshot/state/scheduled.json"
"""The tally's schedules (posts.Tally.scheduled), apart from the index: the index is rewritten
by every write, this file only when a post's schedule in Orshot changes."""
"""Where a v2 state keeps one file per post, `<post id>.json`, mirroring `posts/`."""

_RESTORE_HINT = (
    "the state file is written by orshot-gitops; restore it from git "
    f"('git checkout -- {STATE_PATH}') rather than editing it by hand"
)


def recorded_time(text: str | None) -> datetime | None:
    """A time the state records, as an aware datetime (UTC when it names no offset); None
    when there is none or it is no time at all: the state is the repository's, and its
    schema's pattern lets "2026-02-30T25:61Z" through, so a reader must not crash on it."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
    # A failed record's kind (reconcile/failures.py): "permanent" waits for a change to the
    # post or the account's health; "transient" waits until `next_try_at` (backoff).
    failure: str | None = None
    next_try_at: str | None = None
    # `paused: true` took this account's scheduled post back to a draft (pause.py): the time
    # it was scheduled for. It joins every plan until the pause is lifted and it is scheduled
    # again; any later request for the account clears it.
    paused_schedule: str | None = None
    # What `refresh` found changed in Orshot's dashboard on the post it holds for this
    # account ("caption, time"), and the digest of Orshot's version (drift.py). The plan
    # sends nothing over it until it is resolved; any later request for the account clears it.
    drift: str | None = None
    drift_digest: str | None = None
    # What the recorded fingerprint's version carried (sent.py): the review's "before".
    # Written with the fingerprint, so both describe one version; None in older records.
    sent: Sent | None = None

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
        if self.sent is not None:
            data["sent"] = self.sent.to_json()
        return data

    def to_compact_json(self) -> dict[str, Any]:
        """The record as a v2 post file holds it: every field that is unset or at its
        default left out (`from_json` puts them back)."""
        data = self.to_json()
        for name, default in _V1_NULLABLE_FIELDS.items():
            if data[name] == default:
                del data[name]
        return data

    @property
    def needs_work(self) -> bool:
        """Joins every plan: pending, failed, processing or unknown, still moving off a held
        post (`replaces`), paused, or drifted."""
        return (
            self.status.needs_work
            or self.replaces is not None
            or self.paused_schedule is not None
            or self.drift is not None
        )

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
        # The schema guarantees exactly our fields, so they map one to one; a v2 record
        # leaves out those at their defaults.
        if not _V1_NULLABLE_FIELDS.keys() <= data.keys():
            data = {**_V1_NULLABLE_FIELDS, **data}
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
            if data.get("sent") is not None:
                record.__dict__["sent"] = Sent.from_json(data["sent"])
            return record
        sent = data.get("sent")
        return cls(
            **{
                **data,
                "status": AccountStatus(data["status"]),
                "step": Step(step) if step else None,
                "earlier_post_ids": tuple(data.get("earlier_post_ids", ())),
                "sent": Sent.from_json(sent) if sent is not None else None,
            }
        )


_ACCOUNT_FIELDS = frozenset(f.name for f in fields(AccountState))
_OPTIONAL_ACCOUNT_FIELDS: dict[str, Any] = {
    "sent_digest": None,
    "earlier_post_ids": (),
    "replaces": None,
    "options_fingerprint": None,
    "run": None,
    "failure": None,
    "next_try_at": None,
    "paused_schedule": None,
    "drift": None,
    "drift_digest": None,
    "sent": None,
}
_REQUIRED_ACCOUNT_FIELDS = _ACCOUNT_FIELDS - _OPTIONAL_ACCOUNT_FIELDS.keys()
# Required by the v1 schema (null or 0 when unset); left out of a v2 post file then.
_V1_NULLABLE_FIELDS: dict[str, Any] = {
    "step": None,
    "post_id": None,
    "url": None,
    "error": None,
    "action": None,
    "attempts": 0,
    "first_attempt_at": None,
    "last_attempt_at": None,
    "scheduled_for": None,
    "group": None,
}
_STATUSES = {status.value: status for status in AccountStatus}
_STEPS = {step.value: step for step in Step}
_NEEDS_WORK = frozenset(status.value for status in AccountStatus if status.needs_work)


@dataclass(frozen=True)
class Render:
    """A Studio render done for a post: re-used by every later step and retry, never redone."""

    fingerprint: str
    media_urls: tuple[str, ...]
    #: A render done as a job (a video, a PDF): its id, written before anything waits for it,
    #: so a run that dies while it runs is resumed by the next, never rendered again. No
    #: `media_urls` yet: the job is under way (no `job` either: its start's answer was lost).
    job: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "media_urls", tuple(self.media_urls))

    @property
    def done(self) -> bool:
        return bool(self.media_urls)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "media_urls": list(self.media_urls),
        }
        if self.job is not None:
            data["job"] = self.job
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Render:
        return cls(data["fingerprint"], tuple(data["media_urls"]), data.get("job"))


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

    @property
    def needs_work(self) -> bool:
        return any(record.needs_work for record in self.accounts.values())

    def earliest_schedule(self) -> str | None:
        """The earliest time an account of this post is scheduled for in Orshot (None when
        none is): when the next apply must read it back."""
        times = [
            record.scheduled_for
            for record in self.accounts.values()
            if record.status is AccountStatus.SCHEDULED
            and record.post_id is not None
            and record.scheduled_for is not None
        ]
        return min(times, key=datetime.fromisoformat) if times else None

    def to_json(self) -> dict[str, Any]:
        render = self.render.to_json() if self.render is not None else None
        return {
            "path": self.path,
            "revision": self.revision,
            "render": render,
            "accounts": {key: acc.to_json() for key, acc in self.accounts.items()},
        }

    def to_compact_json(self) -> dict[str, Any]:
        """The post as its v2 file holds it: no nulls, no defaults."""
        data: dict[str, Any] = {"path": self.path, "revision": self.revision}
        if self.render is not None:
            data["render"] = self.render.to_json()
        data["accounts"] = {key: acc.to_compact_json() for key, acc in self.accounts.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PostState:
        render = data.get("render")
        if data.keys() == _POST_FIELDS or data.keys() == _POST_FIELDS - {"render"}:
            # As in AccountState.from_json: the same value as __init__ and __post_init__ make.
            post = object.__new__(cls)
            post.__dict__.update(
                path=data["path"],
                revision=data["revision"],
                render=Render.from_json(render) if render else None,
                accounts=MappingProxyType(
                    {k: AccountState.from_json(v) for k, v in data["accounts"].items()}
                ),
            )
            return post
        return cls(
            path=data["path"],
            revision=data["revision"],
            render=Render.from_json(render) if render else None,
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
    ended: Mapping[str, str] = field(default_factory=dict, hash=False)
    """{run id: when that run ended normally}: it settled what it could of its own lost
    answers before it exited, and nothing of it is in flight, so its records are settled at
    once, not after the window (that is only for a run that died). Kept while a record still
    names the run."""
    merged_commits: tuple[str, ...] = ()
    """While `commit` is None because a merge joined two states that had reconciled different
    commits: every commit the merged sides had reconciled. A post file git shows as added
    since each of them is new for certain; one moved since any of them is that record's post
    (reconcile/merged.py). Forgotten once a run records a commit of its own."""
    awaiting_approval: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=dict, hash=False
    )
    """{post id: {account: (what it still needs, ...)}}: sends held by the last apply until an
    `approvals:` rule is met (reconcile/approvals.py). A report, rewritten by every apply:
    the held post itself is kept by not moving `commit` past it."""

    def __post_init__(self) -> None:
        if not isinstance(self.posts, LazyPosts):  # read-only already
            object.__setattr__(self, "posts", MappingProxyType(dict(self.posts)))
        object.__setattr__(self, "heartbeats", MappingProxyType(dict(self.heartbeats)))
        object.__setattr__(self, "ended", MappingProxyType(dict(self.ended)))
        awaiting = {
            post: MappingProxyType({k: tuple(v) for k, v in sorted(accounts.items())})
            for post, accounts in sorted(self.awaiting_approval.items())
        }
        object.__setattr__(self, "awaiting_approval", MappingProxyType(awaiting))

    def account(self, post_id: str, account_key: str) -> AccountState | None:
        """The record of (post, account), or None if there is none."""
        post = self.posts.get(post_id)
        return post.accounts.get(account_key) if post else None

    def entries_of(self, post_ids: Iterable[str]) -> Iterator[tuple[str, str, AccountState]]:
        """The records of `post_ids` alone, in sorted order. Who else is on a held Orshot post
        is asked of its own post file's records: an Orshot post is made by one draft request
        for one post's accounts and its id is recorded only in that post's records (a move
        carries them all), so reading every post of a 50,000-post state (13 s) finds nothing
        more."""
        for post_id in sorted(set(post_ids)):
            post = self.posts.get(post_id)
            if post is not None:
                for key in sorted(post.accounts):
                    yield post_id, key, post.accounts[key]

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
        return set(self.tally().needs_work)

    def post_ids_with_aliases_outside(self, known: Iterable[str]) -> set[str]:
        """The posts with a record under an alias not in `known` (an alias renamed or
        dropped in orshot.yaml). From the file's own values, like `post_ids_needing_work`."""
        aliases = set(known)
        if aliases.issuperset(self.tally().aliases):
            return set()  # the usual case: answered without reading a post
        return {pid for pid, post in self.posts.items() if not aliases.issuperset(post.accounts)}

    def account_count(self, post_id: str) -> int:
        """How many accounts the post has records for (0 if it is not recorded)."""
        post = self.posts.get(post_id)
        return len(post.accounts) if post is not None else 0

    def tally(self) -> Tally:
        """Which posts need work, which aliases and runs the records name, how many records
        there are: from the index of a stored state, without reading every post."""
        return base_tally(self.posts)

    def record_count(self) -> int:
        """How many (post, account) records the state holds."""
        return self.tally().records

    def needing_work(self) -> Iterator[tuple[str, str, AccountState]]:
        """The entries that join every plan: pending, failed, processing or unknown, or still
        moving off a held post."""
        return (
            (p, k, a) for p, k, a in self.entries() if a.status.needs_work or a.replaces is not None
        )

    def with_post(self, post_id: str, post: PostState) -> State:
        """A copy with `post_id`'s record set to `post`."""
        return replace(self, posts=layered(self.posts, post_id, post))

    def without_post(self, post_id: str) -> State:
        """A copy without `post_id`'s record (absent ids are fine)."""
        if post_id not in self.posts:
            return self
        return replace(self, posts=layered(self.posts, post_id, None))

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
        """A copy recording `commit` as the last reconciled commit (and no merged sides'
        commits: a recorded commit explains every post file on its own)."""
        return replace(self, commit=commit, merged_commits=() if commit else self.merged_commits)

    def with_heartbeat(self, run: str, stamp: str | None) -> State:
        """A copy where `run` said it was alive at `stamp` (None: the run has ended)."""
        beats = {k: v for k, v in self.heartbeats.items() if k != run}
        if stamp is not None:
            beats[run] = stamp
        return replace(self, heartbeats=beats)

    def with_awaiting(self, awaiting: Mapping[str, Mapping[str, tuple[str, ...]]]) -> State:
        """A copy recording the sends now held for approval (replacing the last record)."""
        return replace(self, awaiting_approval=awaiting)

    def awaiting_json(self) -> dict[str, dict[str, list[str]]]:
        return {
            post: {account: list(needs) for account, needs in accounts.items()}
            for post, accounts in self.awaiting_approval.items()
        }

    def with_ended(self, run: str, stamp: str) -> State:
        """A copy where `run` ended normally at `stamp`; ends of runs no record names any
        longer are forgotten (nothing is left to settle at once for them)."""
        named = set(self.tally().runs)
        ended = {k: v for k, v in self.ended.items() if k in named and k != run}
        if run in named:
            ended[run] = stamp
        return replace(self, ended=ended)

    def to_json(self) -> dict[str, Any]:
        """The state as a whole v1 file holds it (`merge-state` on v1 files, tests)."""
        data = {
            "version": 1,
            "serial": self.serial,
            "lineage": self.lineage,
            "commit": self.commit,
            "posts": {post_id: post.to_json() for post_id, post in self.posts.items()},
        }
        if self.heartbeats:  # optional: absent while no run is under way
            data["heartbeats"] = dict(sorted(self.heartbeats.items()))
        if self.ended:  # optional: absent while no record names a run that ended
            data["ended"] = dict(sorted(self.ended.items()))
        if self.merged_commits:  # optional: only after a merge of two reconciled commits
            data["merged_commits"] = list(self.merged_commits)
        if self.awaiting_approval:  # optional: absent while nothing awaits an approval
            data["awaiting_approval"] = self.awaiting_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """The state of the (schema-valid) JSON `data`, which it takes over: each post is
        built when first looked up (a plan looks at the few that changed)."""
        from orshot_gitops.state.v1posts import RecordedPosts

        return cls(
            serial=data["serial"],
            lineage=data["lineage"],
            commit=data["commit"],
            posts=RecordedPosts(data["posts"]),
            heartbeats=data.get("heartbeats") or {},
            ended=data.get("ended") or {},
            merged_commits=tuple(data.get("merged_commits") or ()),
            awaiting_approval=data.get("awaiting_approval") or {},
        )


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
