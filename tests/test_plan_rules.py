"""The decision table as a pure function: cases that are awkward to reach through a real run."""

from __future__ import annotations

from datetime import datetime, timezone

from orshot_gitops.reconcile.plan import Kind, decide
from orshot_gitops.state.model import AccountState, AccountStatus, PostState, State, Step, new_state

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def state_with(record: AccountState) -> State:
    post = PostState(path="posts/gone.yaml", revision=1, accounts={"x": record})
    return new_state("11111111-2222-3333-4444-555555555555").with_post("gone", post)


def record(**changes: object) -> AccountState:
    base = {
        "account_id": 1,
        "fingerprint": "f" * 64,
        "revision": 1,
        "status": AccountStatus.SCHEDULED,
        "post_id": 42,
        "scheduled_for": "2030-06-01T09:00:00+00:00",
    }
    return AccountState(**{**base, **changes})  # type: ignore[arg-type]


def kinds(rec: AccountState, prune: bool = False) -> list[tuple[str, str, str]]:
    actions, _ = decide([], state_with(rec), NOW, present_post_ids=[], prune=prune)
    return [(a.kind.value, a.severity, a.reason) for a in actions]


def test_a_discard_cut_off_mid_way_is_sent_again() -> None:
    rec = record(status=AccountStatus.PENDING, step=Step.DISCARD)
    assert kinds(rec) == [("discard", "", "an earlier discard did not finish: discard it again")]


def test_a_removed_post_with_an_unfinished_send_is_never_sent_but_flagged() -> None:
    rec = record(status=AccountStatus.UNKNOWN, step=Step.PUBLISH)
    [(kind, severity, reason)] = kinds(rec, prune=True)
    assert (kind, severity) == (Kind.REMOVED.value, "warning")
    assert reason.startswith("removed while its publish step was unfinished: nothing is sent")


def test_a_removed_scheduled_post_warns_it_will_go_out_without_prune() -> None:
    [(kind, severity, reason)] = kinds(record())
    assert (kind, severity) == ("removed", "warning")
    assert "scheduled for 2030-06-01 09:00 UTC: it WILL go out" in reason


def test_a_removed_scheduled_post_is_discarded_with_prune() -> None:
    assert kinds(record(), prune=True)[0][0] == "discard"


def test_a_removed_post_that_already_fired_is_only_noted() -> None:
    rec = record(scheduled_for="2029-06-01T09:00:00+00:00")
    assert kinds(rec, prune=True) == [
        ("removed", "", "removed from the repository; live posts are not deleted")
    ]
