"""When a claim's owner counts as alive (claims.owner_is_live): the rules a takeover rests on."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from orshot_gitops.reconcile.claims import (
    claim_settle,
    heartbeat_interval,
    new_run_id,
    owner_is_live,
)
from orshot_gitops.state.model import AccountState, AccountStatus, PostState, State, Step, new_state

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=15)
OWNER = "a1b2c3d4e5f60718"


def pending(**changes: Any) -> AccountState:
    record = AccountState(
        account_id=1,
        fingerprint="a" * 64,
        revision=1,
        status=AccountStatus.PENDING,
        step=Step.DRAFT,
        last_attempt_at="2026-12-01T09:00:00+00:00",
        run=OWNER,
    )
    return replace(record, **changes)


def with_beat(stamp: str | None) -> State:
    state = new_state("0b7c5e4e-2d1a-4e8e-9a3f-6c1d2e3f4a5b").with_post(
        "p", PostState(path="posts/p.yaml", revision=1, accounts={"x": pending()})
    )
    return state.with_heartbeat(OWNER, stamp) if stamp else state


def test_a_fresh_heartbeat_keeps_an_old_intent_alive() -> None:
    state = with_beat("2026-12-01T09:25:00+00:00")  # the intent is 30 minutes old
    assert owner_is_live(state, pending(), NOW, WINDOW)
    assert claim_settle(state, pending(), "ffffffffffffffff", NOW, WINDOW) is None


def test_a_silent_owner_is_taken_over_and_the_claim_names_the_new_run() -> None:
    state = with_beat("2026-12-01T09:10:00+00:00")
    assert not owner_is_live(state, pending(), NOW, WINDOW)
    taken = claim_settle(state, pending(), "ffffffffffffffff", NOW, WINDOW)
    assert taken is not None and taken.run == "ffffffffffffffff"


def test_without_a_heartbeat_the_attempt_time_decides() -> None:
    assert owner_is_live(
        with_beat(None), pending(last_attempt_at="2026-12-01T09:20:00+00:00"), NOW, WINDOW
    )
    assert not owner_is_live(with_beat(None), pending(), NOW, WINDOW)
    legacy = pending(run=None, last_attempt_at="2026-12-01T09:20:00+00:00")
    assert owner_is_live(with_beat(None), legacy, NOW, WINDOW)


def test_a_dead_run_frees_only_its_steps_on_posts_with_an_id() -> None:
    state = with_beat("2026-12-01T09:29:00+00:00")
    dead = frozenset({OWNER})
    # Its create may still be on its way to Orshot: wait.
    assert owner_is_live(state, pending(), NOW, WINDOW, dead)
    # A publish by id is guarded by Orshot: no need to wait.
    assert not owner_is_live(state, pending(step=Step.PUBLISH, post_id=7), NOW, WINDOW, dead)


def test_a_zero_window_waits_for_no_one_even_a_clock_ahead_of_ours() -> None:
    ahead = with_beat("2026-12-01T10:00:00+00:00")
    assert owner_is_live(ahead, pending(), NOW, WINDOW)  # a beat from the future: still alive
    assert not owner_is_live(ahead, pending(), NOW, timedelta(0))
    assert heartbeat_interval(timedelta(0)) is None
    assert heartbeat_interval(WINDOW) == timedelta(minutes=5)


def test_run_ids_are_unique_and_fit_the_schema() -> None:
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and set(i) <= set("0123456789abcdef") for i in ids)
