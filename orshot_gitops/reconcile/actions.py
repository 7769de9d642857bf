"""The plan's values: what to do for each (post, account) (`Kind`, `Action`) and the `Plan` that
holds them, serialised as `plan --out` saves it. `plan.py` decides them; every later stage reads
them. Their own module so the decision table and the values it produces each fit one reading.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from orshot_gitops.errors import Diagnostic, Severity

PLAN_VERSION = 1
RECONNECT_REASON = "held: Orshot reports this account needs reconnecting"  # health.py


class Kind(str, enum.Enum):
    CREATE = "create"  # publish, schedule or keep as a draft, as the file says (`mode`)
    RETRY = "retry"  # failed before: send again to this account only
    EDIT = "edit"  # a post Orshot still holds (draft, or scheduled and not fired): PATCH in place
    PUBLISH_DRAFT = "publish-draft"  # the user's draft, now `draft: false`: publish it by id
    SETTLE = "settle"  # an interrupted step: confirm with Orshot before anything else
    SYNC = "sync"  # Instagram/TikTok `processing`: ask for the final state
    DISCARD = "discard"  # file deleted, post still held, `prune: true`: DELETE it
    RENAME = "rename"  # the file moved: the same post, nothing is sent
    REMOVED = "removed"  # file deleted: noted (nothing can or will be done)
    CHANGED_AFTER_PUBLISH = "changed-after-publish"  # live posts are immutable
    PAST_SCHEDULE = "past-schedule"  # never sent and its time has passed: an error
    AMBIGUOUS = "ambiguous"  # no history says it is new: it may be a recorded post moved
    RECORD_MISSING = "record-missing"  # in the reconciled commit, yet unrecorded: not new
    WAITING = "waiting"  # failed: waits for a change (permanent) or its next try (transient)
    PAUSE = "pause"  # paused: a held scheduled post goes back to a draft (pause.py)
    DRIFT = "drift"  # changed in Orshot's dashboard: nothing is sent over it (drift.py)
    NEEDS_RECONNECT = "needs-reconnect"  # its account needs reconnecting: held (health.py)
    AWAITING_APPROVAL = "awaiting-approval"  # an approvals: rule is not met: held (approvals.py)
    DENY_WINDOW = "deny-window"  # no schedule, now in a rule's deny window: held (rulesplan.py)

    @property
    def sends(self) -> bool:
        return self in _SENDING


_HELD_FOR_NOW = (Kind.NEEDS_RECONNECT, Kind.DENY_WINDOW, Kind.AWAITING_APPROVAL)
_SENDING = {
    Kind.CREATE,
    Kind.RETRY,
    Kind.EDIT,
    Kind.PUBLISH_DRAFT,
    Kind.SETTLE,
    Kind.SYNC,
    Kind.DISCARD,
    Kind.PAUSE,
}


@dataclass(frozen=True)
class Action:
    """One (post, account) and what to do about it, with everything needed to do it."""

    post_id: str
    path: str
    account: str
    account_id: int
    platform: str
    kind: Kind
    reason: str
    mode: str | None = None  # publish | schedule | draft
    severity: str = ""  # "", "warning" or "error"
    fingerprint: str | None = None
    revision: int = 1
    group: str | None = None  # accounts of one post that share one Orshot post
    content: str | None = None
    media_urls: tuple[str, ...] = ()
    media_alt: tuple[str | None, ...] = ()  # shown in the review, never sent: orshot-api-notes
    render: Mapping[str, Any] | None = None
    platform_options: Mapping[str, Any] = field(default_factory=dict)
    scheduled_for: str | None = None
    timezone: str | None = None
    orshot_post_id: int | None = None
    previous_post_id: str | None = None
    caption_length: int | None = None
    caption_limit: int | None = None
    before: dict[str, Any] | None = None  # what Orshot holds now, as sent (reconcile/before.py)
    # A queue slot this plan gave (reconcile/queueplan.py): another pull request merged first
    # may take it, so the review says it is tentative until merged.
    tentative: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["media_urls"] = list(self.media_urls)
        data["media_alt"] = list(self.media_alt)
        data["render"] = dict(self.render) if self.render is not None else None
        data["platform_options"] = dict(self.platform_options)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        tuples = {key: tuple(data.get(key, ())) for key in ("media_urls", "media_alt")}
        return cls(**{**data, "kind": Kind(data["kind"]), **tuples})


@dataclass(frozen=True)
class Batch:
    """A batch file the plan looked at (content/batches.py): its data file and how many rows
    (posts) it holds now. The plan groups its rows under one line (`counts`)."""

    path: str
    data_path: str
    rows: int

    def counts(self, actions: Iterable[Action]) -> dict[str, int]:
        """Rows new, changed, moved, removed and unchanged, from the plan's actions: a row
        counts once whatever number of accounts it has."""
        kinds: dict[str, set[Kind]] = {}
        for action in actions:
            if action.path == self.path:
                kinds.setdefault(action.post_id, set()).add(action.kind)
        found = {"new": 0, "changed": 0, "moved": 0, "removed": 0}
        for row_kinds in kinds.values():
            if row_kinds & {Kind.REMOVED, Kind.DISCARD}:
                found["removed"] += 1
            elif Kind.RENAME in row_kinds:
                found["moved"] += 1
            elif row_kinds == {Kind.CREATE}:
                found["new"] += 1
            else:
                found["changed"] += 1
        present = found["new"] + found["changed"] + found["moved"]
        found["unchanged"] = max(self.rows - present, 0)
        return found

    def to_json(self, actions: Iterable[Action]) -> dict[str, Any]:
        return {
            "path": self.path,
            "data_path": self.data_path,
            "rows": self.rows,
            **self.counts(actions),
        }


@dataclass(frozen=True)
class Plan:
    head: str | None
    base_commit: str | None
    state_lineage: str
    state_serial: int
    created_at: str
    actions: tuple[Action, ...]
    unchanged: int = 0
    paused: bool = False
    full_rescan: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    # (post, account, content rule, reviewers): a `deny` held until they lift it (approvals.py)
    overrides: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()
    # The batch files the plan looked at, each shown as one line over its changing rows.
    batches: tuple[Batch, ...] = ()

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def sending(self) -> tuple[Action, ...]:
        """What apply sends. Paused, only the pause itself: the rest waits, shown as it will
        be sent once the pause is lifted."""
        if self.paused:
            return tuple(a for a in self.actions if a.kind is Kind.PAUSE)
        return tuple(a for a in self.actions if a.kind.sends)

    @property
    def holds_back(self) -> bool:
        """A post is held back until a person says what it is: the reconciled commit must
        not move past it, or the next run would take it for new. Nor past a post refused
        because its schedule passed: never sent, a post file of the recorded commit without
        a record is taken for a lost record (reconcile/missing.py); held or live, its record
        is not what the file says and nothing else brings it back into a plan, so the next
        run would say "nothing to do" of an approved post. Nor past a post held for now: a
        reconnect (health.py), a deny window (rulesplan.py), an approval (approvals.py)."""
        held_back = (Kind.AMBIGUOUS, Kind.RECORD_MISSING, Kind.PAST_SCHEDULE, *_HELD_FOR_NOW)
        return any(a.kind in held_back for a in self.actions)

    @property
    def reconnect_holds(self) -> dict[str, int]:
        """Per account needing a reconnect (health.py), how many of its posts are held."""
        own = RECONNECT_REASON
        held = {(a.account, a.post_id) for a in self.actions if a.reason.startswith(own)}
        return dict(sorted(Counter(account for account, _ in held).items()))

    @property
    def has_changes(self) -> bool:
        """Anything to send or to record (a rename changes the state without a request)."""
        if self.paused:
            return bool(self.sending)
        return any(a.kind.sends or a.kind is Kind.RENAME for a in self.actions)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "head": self.head,
            "base_commit": self.base_commit,
            "state_lineage": self.state_lineage,
            "state_serial": self.state_serial,
            "created_at": self.created_at,
            "paused": self.paused,
            "full_rescan": self.full_rescan,
            "unchanged": self.unchanged,
            "summary": summary_counts(self),
            "needs_reconnect": [
                {"account": account, "posts_held": n} for account, n in self.reconnect_holds.items()
            ],
            "actions": [a.to_json() for a in self.actions],
            "diagnostics": [d.as_dict() for d in self.diagnostics],
            "overrides": [[p, a, r, list(who)] for p, a, r, who in self.overrides],
            "batches": [b.to_json(self.actions) for b in self.batches],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        diagnostics = tuple(
            Diagnostic(**{**d, "severity": Severity(d["severity"])})
            for d in data.get("diagnostics", [])
        )
        return cls(
            head=data["head"],
            base_commit=data["base_commit"],
            state_lineage=data["state_lineage"],
            state_serial=data["state_serial"],
            created_at=data["created_at"],
            actions=tuple(Action.from_json(a) for a in data["actions"]),
            unchanged=data.get("unchanged", 0),
            paused=data.get("paused", False),
            full_rescan=data.get("full_rescan", ""),
            diagnostics=diagnostics,
            overrides=tuple((p, a, r, tuple(w)) for p, a, r, w in data.get("overrides", [])),
            batches=tuple(
                Batch(b["path"], b["data_path"], b["rows"]) for b in data.get("batches", [])
            ),
        )


def summary_counts(plan: Plan) -> dict[str, int]:
    kinds = (a.mode if a.kind is Kind.CREATE and a.mode else a.kind.value for a in plan.actions)
    return dict(sorted(Counter(kinds).items()))
