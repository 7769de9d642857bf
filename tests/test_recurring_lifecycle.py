"""Recurring posts through the reconciler: each occurrence sent once, as the clock moves.

The sandbox runs on a clock the test moves (FakeClock), and `apply` is run at the same
moment, as the workflow's cron would: scheduled occurrences fire in Orshot, the next ones
come into the horizon, and the Posts Log says what really went out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock, SandboxFactory
from reconcile_helpers import CONFIG, Workspace, git, sandbox_config

from orshot_gitops.orshot.client import OrshotClient
from orshot_gitops.reconcile.plan import Plan
from orshot_gitops.reconcile.planner import make_plan
from orshot_gitops.reconcile.runner import ApplyOptions, ApplyReport, run_apply
from orshot_gitops.vcs.gitrepo import open_repo

START = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
FIRST = (START + timedelta(days=1)).replace(hour=9, minute=0)
WEEK = timedelta(days=7)


def day(n: int) -> str:
    """The date of the n-th occurrence (0 first) of the weekly series."""
    return (FIRST + n * WEEK).date().isoformat()


def series(*, content: str = "Tip #{{ occurrence.number }}: commit small.", **repeat: Any) -> str:
    fields = ", ".join(f"{k}: {v}" for k, v in {"every": "1w", **repeat}.items())
    return (
        "accounts: [x]\n"
        f"content: '{content}'\n"
        f"schedule: '{FIRST:%Y-%m-%dT%H:%M}'\n"
        f"repeat: {{{fields}}}\n"
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START.timestamp())


@pytest.fixture
def ws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workspace]:
    config = CONFIG + "prune: true\n"
    sandbox = sandbox_factory(sandbox_config(), clock=clock)
    yield Workspace(tmp_path, sandbox, monkeypatch, capsys, config=config)


def at(clock: FakeClock, when: datetime) -> datetime:
    """Move the sandbox's clock to `when` (never back) and return it, for apply and plan."""
    clock.advance(max(0.0, when.timestamp() - clock()))
    return when


def apply_at(ws: Workspace, when: datetime) -> ApplyReport:
    def client() -> OrshotClient:
        return OrshotClient.from_env(os.environ)

    with open_repo(ws.root) as repo:
        return run_apply(ws.root, repo, client, lambda: when, ApplyOptions())


def plan_at(ws: Workspace, when: datetime) -> Plan:
    with open_repo(ws.root) as repo:
        plan, _, _ = make_plan(ws.root, repo, when)
    return plan


def kinds(plan: Plan) -> list[tuple[str, str]]:
    return sorted((a.post_id, a.kind.value) for a in plan.actions)


def by_occurrence(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """The Posts Log by occurrence id (the state's record names each one's Orshot post)."""
    state = ws.state()["posts"]
    orshot_ids = {
        str(record["post_id"]): post_id
        for post_id, post in state.items()
        for record in post["accounts"].values()
    }
    found: dict[str, list[dict[str, Any]]] = {}
    for sent in ws.sent():
        found.setdefault(orshot_ids.get(str(sent["post_id"]), "?"), []).append(sent)
    return found


def held(ws: Workspace) -> list[str]:
    """The captions of the posts Orshot has not discarded, oldest first."""
    return [p["request"]["content"] for p in ws.sent() if p["status"] != "discarded"]


def statuses(ws: Workspace) -> dict[str, str]:
    return {pid: p["accounts"]["x"]["status"] for pid, p in sorted(ws.state()["posts"].items())}


def test_occurrences_appear_as_the_horizon_moves_and_each_is_sent_once(
    ws: Workspace, clock: FakeClock
) -> None:
    ws.post("tips", series())
    first = plan_at(ws, START)
    # 30 days ahead (the default horizon): five weekly dates, each a post of its own.
    assert kinds(first) == [(f"tips@{day(n)}", "create") for n in range(5)]
    apply_at(ws, START)
    assert len(ws.sent()) == 5

    two_weeks = at(clock, START + 2 * WEEK)
    later = plan_at(ws, two_weeks)
    # The next two dates come into the horizon; nothing already sent is sent again.
    assert [a for a in kinds(later) if a[1] != "sync"] == [
        (f"tips@{day(5)}", "create"),
        (f"tips@{day(6)}", "create"),
    ]
    apply_at(ws, two_weeks)
    sent = by_occurrence(ws)
    assert sorted(sent) == [f"tips@{day(n)}" for n in range(7)]
    assert all(len(posts) == 1 for posts in sent.values())
    captions = [posts[0]["request"]["content"] for _, posts in sorted(sent.items())]
    assert captions == [f"Tip #{n}: commit small." for n in range(1, 8)]
    # The first two fired in Orshot meanwhile, and the state says so.
    assert [s for s in statuses(ws).values()].count("published") == 2

    # Another run at the same moment has nothing to do.
    apply_at(ws, two_weeks)
    assert len(ws.sent()) == 7


def test_an_override_edits_its_one_occurrence_in_place(ws: Workspace) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    before = {pid: posts[0]["post_id"] for pid, posts in by_occurrence(ws).items()}
    ws.post("tips", series() + f"overrides:\n  {day(2)}: {{content: Holiday edition}}\n")
    assert kinds(plan_at(ws, START)) == [(f"tips@{day(2)}", "edit")]
    apply_at(ws, START)
    after = by_occurrence(ws)
    assert {pid: posts[0]["post_id"] for pid, posts in after.items()} == before  # no new post
    orshot_id = int(before[f"tips@{day(2)}"])
    assert ws.orshot_post(orshot_id)["content"] == "Holiday edition"
    assert ws.orshot_post(int(before[f"tips@{day(3)}"]))["content"] == "Tip #4: commit small."


def test_a_caption_edit_reaches_only_the_occurrences_orshot_still_holds(
    ws: Workspace, clock: FakeClock
) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    two_weeks = at(clock, START + 2 * WEEK)
    apply_at(ws, two_weeks)
    assert len(ws.sent()) == 7
    ws.post("tips", series(content="Tip #{{ occurrence.number }}: say why."))
    plan = plan_at(ws, two_weeks)
    edits = {a.post_id for a in plan.actions if a.kind.value == "edit"}
    unchanged_live = {a.post_id for a in plan.actions if a.kind.value == "changed-after-publish"}
    assert edits == {f"tips@{day(n)}" for n in range(2, 7)}
    assert unchanged_live == {f"tips@{day(0)}", f"tips@{day(1)}"}
    apply_at(ws, two_weeks)
    assert len(ws.sent()) == 7  # edited in place, nothing new
    records = ws.state()["posts"]
    contents = {
        pid: ws.orshot_post(int(records[pid]["accounts"]["x"]["post_id"]))["content"]
        for pid in sorted(records)
    }
    assert contents[f"tips@{day(0)}"] == "Tip #1: commit small."  # live: left as it went out
    assert contents[f"tips@{day(3)}"] == "Tip #4: say why."


def test_until_moved_earlier_removes_the_later_occurrences_as_deleted_posts(
    ws: Workspace,
) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    ws.post("tips", series(until=day(1)))
    assert kinds(plan_at(ws, START)) == [(f"tips@{day(n)}", "discard") for n in range(2, 5)]
    assert apply_at(ws, START).ok
    assert held(ws) == ["Tip #1: commit small.", "Tip #2: commit small."]
    assert sorted(ws.state()["posts"]) == [f"tips@{day(0)}", f"tips@{day(1)}"]


def test_a_skip_added_later_removes_that_one_occurrence(ws: Workspace) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    ws.post("tips", series(skip=f"[{day(3)}]"))
    assert kinds(plan_at(ws, START)) == [(f"tips@{day(3)}", "discard")]


def test_a_shorter_horizon_deletes_nothing_already_created(ws: Workspace) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    ws.set_config(CONFIG + "prune: true\nhorizon: 7d\n")
    assert kinds(plan_at(ws, START)) == []
    apply_at(ws, START)
    assert len(held(ws)) == 5


def test_a_broken_series_deletes_nothing(ws: Workspace) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    ws.post("tips", series(every="6h"))
    plan = plan_at(ws, START)
    assert plan.actions == ()
    assert [d.code for d in plan.diagnostics] == ["repeat-every"]
    assert not apply_at(ws, START).ok
    assert len(held(ws)) == 5


def test_an_unchanged_series_is_still_expanded_when_another_file_changes(ws: Workspace) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    ws.post("launch", "accounts: [x]\ncontent: Launch day\n")
    assert kinds(plan_at(ws, START)) == [("launch", "create")]
    apply_at(ws, START)
    assert len(held(ws)) == 6


def test_repeat_added_to_a_sent_post_keeps_it_and_its_occurrences(ws: Workspace) -> None:
    ws.post("tips", "accounts: [x]\ncontent: 'Once: commit small.'\n")
    apply_at(ws, START)
    ws.post("tips", series())
    apply_at(ws, START)
    assert len(ws.sent()) == 6
    # Unchanged since, the file is still read for its occurrences: none looks deleted.
    ws.post("other", "accounts: [x]\ncontent: Something else\n")
    assert kinds(plan_at(ws, START)) == [("other", "create")]


def test_moving_the_series_file_sends_nothing_again(ws: Workspace) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    ws.rename("tips", "weekly/tips")
    plan = plan_at(ws, START)
    assert {a.kind.value for a in plan.actions} == {"rename"}
    apply_at(ws, START)
    assert len(ws.sent()) == 5
    assert sorted(ws.state()["posts"]) == [f"weekly/tips@{day(n)}" for n in range(5)]


def test_deleting_the_series_file_removes_its_held_occurrences(ws: Workspace) -> None:
    ws.post("tips", series())
    ws.post("other", "accounts: [x]\ncontent: Something else\n")
    apply_at(ws, START)
    ws.delete("tips")
    assert [k for k in kinds(plan_at(ws, START)) if k[1] == "discard"] == [
        (f"tips@{day(n)}", "discard") for n in range(5)
    ]
    assert apply_at(ws, START).ok
    assert held(ws) == ["Something else"]


def test_the_state_records_each_occurrences_time_in_its_zone(ws: Workspace) -> None:
    ws.post("tips", series())
    apply_at(ws, START)
    record = ws.record(f"tips@{day(1)}", "x")
    assert record["status"] == "scheduled"
    assert datetime.fromisoformat(record["scheduled_for"]) == FIRST + WEEK
    assert git(ws.root, "status", "--porcelain") == ""


def test_next_occurrences_are_sent_while_another_post_is_being_deleted(
    ws: Workspace, clock: FakeClock
) -> None:
    """A recorded post whose file is gone makes the plan wary of new posts that might be it
    moved (identity.py); an occurrence the clock brought, of a series the state records, is
    not one of them."""
    ws.post("tips", series())
    ws.post("other", "accounts: [x]\ncontent: Something else\n", "another post")
    apply_at(ws, START)
    ws.delete("other")
    two_weeks = at(clock, START + 2 * WEEK)
    plan = plan_at(ws, two_weeks)
    assert [k for k in kinds(plan) if k[1] not in ("sync", "removed")] == [
        (f"tips@{day(5)}", "create"),
        (f"tips@{day(6)}", "create"),
    ]
    assert apply_at(ws, two_weeks).ok
    assert len(by_occurrence(ws)) == 8


def test_a_saved_plan_is_sent_as_saved_after_the_horizon_moved(
    ws: Workspace, clock: FakeClock, tmp_path: Path
) -> None:
    """`plan --out` in the pull request, `apply plan.json` days later: the occurrences the
    horizon reached meanwhile were in no reviewed plan. The saved plan goes out as saved;
    they are left to the next run, which plans them as any run does."""
    later = (START + timedelta(days=10)).replace(hour=9, minute=0)
    ws.post("tips", series().replace(f"{FIRST:%Y-%m-%dT%H:%M}", f"{later:%Y-%m-%dT%H:%M}"))
    saved = tmp_path / "plan.json"
    assert ws.plan("--out", str(saved)).code == 0
    assert len(json_actions(saved)) == 3
    three_days = at(clock, START + timedelta(days=3))

    def client() -> OrshotClient:
        return OrshotClient.from_env(os.environ)

    with open_repo(ws.root) as repo:
        report = run_apply(ws.root, repo, client, lambda: three_days, ApplyOptions(plan_file=saved))
    assert report.ok
    assert len(ws.sent()) == 3
    assert [a.kind.value for a in plan_at(ws, three_days).actions] == ["create"]
    apply_at(ws, three_days)
    assert len(ws.sent()) == 4


def json_actions(path: Path) -> list[Any]:
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    actions = data["actions"]
    assert isinstance(actions, list)
    return actions


def test_moving_and_editing_the_series_in_one_commit_edits_in_place(ws: Workspace) -> None:
    """git shows the file renamed: each occurrence continues its recorded one (as a moved
    post file does), edited in place, never created again beside it."""
    ws.post("tips", series())
    apply_at(ws, START)
    (ws.root / "posts/weekly").mkdir()
    git(ws.root, "mv", "posts/tips.yaml", "posts/weekly/tips.yaml")
    ws.post("weekly/tips", series(content="Tip #{{ occurrence.number }}: say why."))
    plan = plan_at(ws, START)
    assert sorted({a.kind.value for a in plan.actions}) == ["edit", "rename"]
    assert apply_at(ws, START).ok
    assert len(ws.sent()) == 5
    assert held(ws) == [f"Tip #{n}: commit small." for n in range(1, 6)]  # as created
    records = ws.state()["posts"]
    assert sorted(records) == [f"weekly/tips@{day(n)}" for n in range(5)]
    contents = {
        ws.orshot_post(int(r["accounts"]["x"]["post_id"]))["content"] for r in records.values()
    }
    assert contents == {f"Tip #{n}: say why." for n in range(1, 6)}


def test_a_record_of_an_occurrence_still_in_its_series_cannot_be_forgotten(
    ws: Workspace, clock: FakeClock
) -> None:
    from orshot_gitops.errors import UserError
    from orshot_gitops.reconcile.manage import forget_deleted
    from orshot_gitops.reconcile.snapshots import load_checked

    ws.post("tips", series())
    apply_at(ws, START)
    two_weeks = at(clock, START + 2 * WEEK)
    apply_at(ws, two_weeks)
    assert ws.record(f"tips@{day(0)}", "x")["status"] == "published"
    with open_repo(ws.root) as repo:
        state = load_checked(repo)
    # Forgotten, it would be a post of the series the state does not know: sent again.
    with pytest.raises(UserError, match="is still in the repository"):
        forget_deleted(ws.root, state, f"tips@{day(0)}", two_weeks)
    # Skipped, it is a deleted post, and its record may go.
    ws.post("tips", series(skip=f"[{day(0)}]"))
    forgotten, _ = forget_deleted(ws.root, state, f"tips@{day(0)}", two_weeks)
    assert f"tips@{day(0)}" not in forgotten.posts


@pytest.mark.parametrize("lost", [2, 4], ids=["a middle date", "the last date"])
def test_a_lost_record_of_an_occurrence_is_never_sent_again(ws: Workspace, lost: int) -> None:
    """A hand edit (or a bad merge) drops one occurrence's record: a commit since the
    recorded one deleted it, so a state since knew it. Sending it would be a second post:
    record-missing, as for any post file."""
    ws.post("tips", series())
    apply_at(ws, START)
    data = ws.state()
    del data["posts"][f"tips@{day(lost)}"]
    ws.write_state(data)
    ws.commit("hand edit")
    assert kinds(plan_at(ws, START)) == [(f"tips@{day(lost)}", "record-missing")]
    apply_at(ws, START)
    assert len(ws.sent()) == 5


def test_a_record_lost_where_no_commit_shows_it_is_still_never_sent_again(
    ws: Workspace,
) -> None:
    """The state commit itself rewritten without one occurrence's record (amended, or a
    squashed history): no commit since the recorded one deleted a record file, yet the
    state records later dates of the unchanged series, so this one was created too."""
    ws.post("tips", series())
    apply_at(ws, START)
    data = ws.state()
    del data["posts"][f"tips@{day(2)}"]
    ws.write_state(data)
    git(ws.root, "add", "--all")
    git(ws.root, "commit", "--quiet", "--amend", "--no-edit")
    assert kinds(plan_at(ws, START)) == [(f"tips@{day(2)}", "record-missing")]
    apply_at(ws, START)
    assert len(ws.sent()) == 5


def test_a_daily_series_through_irregular_runs_sends_each_date_once(
    ws: Workspace, clock: FakeClock
) -> None:
    """The cron runs late, twice in a day, after a long gap: every date inside each run's
    horizon is sent by the first run that sees it, and by no other."""
    ws.set_config(CONFIG + "prune: true\nhorizon: 5d\n")
    ws.post("daily", series(every="1d", count=30).replace("Tip #", "Day "))
    when = START
    for step in (0, 1, 0.5, 3, 0.25, 4, 2):
        when = at(clock, when + timedelta(days=step))
        assert apply_at(ws, when).ok
    sent = by_occurrence(ws)
    assert all(len(posts) == 1 for posts in sent.values())
    last = (when + timedelta(days=5)).date()
    expected = [
        f"daily@{(FIRST + timedelta(days=n)).date()}"
        for n in range(30)
        if FIRST + timedelta(days=n) <= when + timedelta(days=5)
    ]
    assert sorted(sent) == expected
    assert expected[-1] <= f"daily@{last}"


def test_adopting_a_series_records_its_occurrences_and_sends_nothing(ws: Workspace) -> None:
    """Onboarding a series that went out by other means: `adopt tips` stands for its
    occurrences up to the horizon, and `adopt tips@<date>` for one of them."""
    ws.post("tips", series())
    run = ws.cli("adopt", f"tips@{day(1)}")
    assert run.code == 0, run.output
    assert sorted(ws.state()["posts"]) == [f"tips@{day(1)}"]
    run = ws.cli("adopt", "tips")
    assert run.code == 0, run.output
    assert sorted(ws.state()["posts"]) == [f"tips@{day(n)}" for n in range(5)]
    assert kinds(plan_at(ws, START)) == []
    apply_at(ws, START)
    assert ws.sent() == []
    assert ws.cli("adopt", f"tips@{day(1)}x").code == 1


def test_an_occurrence_no_run_saw_before_its_time_is_reported_never_sent_late(
    ws: Workspace, clock: FakeClock
) -> None:
    """Runs stopped for longer than the horizon: a date that came and went unseen is a
    past schedule (an error, nothing sent for it); the next dates go out as usual."""
    ws.set_config(CONFIG + "prune: true\nhorizon: 2d\n")
    ws.post("daily", series(every="1d", count=10).replace("Tip #", "Day "))
    apply_at(ws, START)
    seen = set(by_occurrence(ws))
    later = at(clock, FIRST + timedelta(days=4, hours=1))
    plan = plan_at(ws, later)
    missed = sorted(a.post_id for a in plan.actions if a.kind.value == "past-schedule")
    assert missed and not set(missed) & seen
    assert all(a.severity == "error" for a in plan.actions if a.post_id in missed)
    apply_at(ws, later)
    sent = by_occurrence(ws)
    assert not set(missed) & set(sent)  # never sent late
    assert all(len(posts) == 1 for posts in sent.values())
    assert f"daily@{(FIRST + timedelta(days=5)).date()}" in sent
