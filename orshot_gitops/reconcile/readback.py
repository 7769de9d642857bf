"""Reading back from Orshot what it holds for us: `refresh` (every held or processing post)
and, before every `apply`, the scheduled posts whose time has passed (`read_back_fired`).

A scheduled post fires in Orshot, not in a run of ours: until someone reads it back the
state would say "scheduled" with a time in the past and no URL. Reading it back is a GET,
sends nothing, and records only what Orshot answered for each account by its own id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from orshot_gitops.orshot.client import NotFound, OrshotClient, Post
from orshot_gitops.reconcile.failures import PERMANENT, classify_result, failed_fields
from orshot_gitops.state.model import AccountState, AccountStatus, State, Step

_OPEN = frozenset({AccountStatus.DRAFTED, AccountStatus.SCHEDULED, AccountStatus.PROCESSING})
_HELD = (AccountStatus.DRAFTED, AccountStatus.SCHEDULED)
_MAPPED = {
    "draft": AccountStatus.DRAFTED,
    "drafted": AccountStatus.DRAFTED,
    "scheduled": AccountStatus.SCHEDULED,
    "published": AccountStatus.PUBLISHED,
    "processing": AccountStatus.PROCESSING,
}


@dataclass(frozen=True)
class Drift:
    """One (post, account) where Orshot and the state disagreed, and what was recorded."""

    post: str
    account: str
    recorded: str
    orshot: str
    note: str


Entry = tuple[str, str, AccountState]


def held_entries(state: State) -> list[Entry]:
    """Every (post, account) Orshot holds or is processing, by its recorded post id."""
    return [
        (post_id, key, record)
        for post_id, key, record in state.entries()
        if record.status in _OPEN and record.post_id is not None
    ]


def fired_entries(state: State, now: datetime) -> list[Entry]:
    """The scheduled (post, account)s whose time has passed: Orshot has sent them (or tried).
    Only the posts the index says are due are read."""
    due = sorted(
        post_id
        for post_id, earliest in state.tally().scheduled.items()
        if datetime.fromisoformat(earliest) <= now
    )
    return [
        (post_id, key, record)
        for post_id in due
        for key, record in sorted(state.posts[post_id].accounts.items())
        if record.status is AccountStatus.SCHEDULED
        and record.post_id is not None
        and record.scheduled_for is not None
        and datetime.fromisoformat(record.scheduled_for) <= now
    ]


def read_back_fired(state: State, client: OrshotClient, now: datetime) -> tuple[State, list[Drift]]:
    """Record what became of the scheduled posts whose time has passed (published with its
    URL, or failed with Orshot's reason). Ones Orshot has not fired yet stay as they are."""
    return read_back(state, client, fired_entries(state, now))


def read_back(
    state: State,
    client: OrshotClient,
    entries: Iterable[Entry],
    seen: dict[int, Post] | None = None,
) -> tuple[State, list[Drift]]:
    """Read each Orshot post of `entries` once and record what it says of each account.
    `seen`, if given, collects the posts read, by id (drift.py compares them)."""
    drifts: list[Drift] = []
    by_orshot_id: dict[int, list[Entry]] = {}
    for post_id, key, record in entries:
        assert record.post_id is not None
        by_orshot_id.setdefault(record.post_id, []).append((post_id, key, record))
    for orshot_id, group in sorted(by_orshot_id.items()):
        try:
            remote = client.get_post(orshot_id)
            if seen is not None:
                seen[orshot_id] = remote
        except NotFound:
            for post_id, key, record in group:
                drifts.append(
                    Drift(
                        post_id,
                        key,
                        record.status.value,
                        "missing",
                        "discarded in the dashboard? it will not go out",
                    )
                )
                state = state.with_account(
                    post_id,
                    key,
                    replace(
                        record,
                        status=AccountStatus.FAILED,
                        step=Step.DRAFT,
                        error="not found in Orshot (discarded in the dashboard?)",
                        # Someone took it down on purpose: it waits for a change to the post
                        # (or 'resolve'), never re-created by the next run as a transient.
                        failure=PERMANENT,
                        next_try_at=None,
                    ),
                )
            continue
        if not any(a.account_id is not None for a in remote.accounts):
            # No account ids to read: absence of evidence is not "taken off the post", and
            # recording it so would send the post again. Say so, change nothing.
            for post_id, key, record in group:
                note = f"Orshot post {orshot_id} was read without its accounts: left as recorded"
                drifts.append(Drift(post_id, key, record.status.value, "unknown", note))
            continue
        for post_id, key, record in group:
            result = next((a for a in remote.accounts if a.account_id == record.account_id), None)
            if result is None:
                # The post is not this account's any more (taken off it in the dashboard, or
                # by an edit): the post's own status says nothing about this account.
                state = _not_on_post(state, drifts, post_id, key, record, orshot_id)
                continue
            mapped = _MAPPED.get(result.status, AccountStatus.FAILED)
            if mapped is record.status:
                continue
            drifts.append(
                Drift(post_id, key, record.status.value, result.status, "updated from Orshot")
            )
            state = state.with_account(
                post_id,
                key,
                replace(
                    record,
                    status=mapped,
                    url=result.url,
                    error=result.error,
                    action=result.action,
                    step=Step.DRAFT if mapped is AccountStatus.FAILED else None,
                    **_failure_fields(mapped, result.error, result.action, record.attempts),
                    # Drift is about a post Orshot holds: one that went out has none left.
                    drift=record.drift if mapped in _HELD else None,
                    drift_digest=record.drift_digest if mapped in _HELD else None,
                ),
            )
    return state, drifts


def _not_on_post(
    state: State,
    drifts: list[Drift],
    post_id: str,
    key: str,
    record: AccountState,
    orshot_id: int,
) -> State:
    """An account its Orshot post no longer targets: it will not go out from there. Recorded
    failed, so the plan sends it again on a post of its own, and the drift says why."""
    note = f"not on Orshot post {orshot_id} any more (taken off it in the dashboard?)"
    drifts.append(Drift(post_id, key, record.status.value, "missing", note))
    return state.with_account(
        post_id,
        key,
        replace(record, status=AccountStatus.FAILED, step=Step.DRAFT, error=note, url=None),
    )


def _failure_fields(
    status: AccountStatus, error: str | None, action: str | None, attempts: int
) -> dict[str, Any]:
    """A post that failed when it fired is permanent or transient like any failure (a
    duplicate waits for a change, a platform's hiccup backs off); any other status has none."""
    if status is not AccountStatus.FAILED:
        return {"failure": None, "next_try_at": None}
    return failed_fields(classify_result(error, action), attempts, datetime.now(timezone.utc))
