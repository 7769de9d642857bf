"""`schedule: next` as a team lives it: queued posts planned, reviewed in pull requests,
merged and applied against a real git repository (with a bare remote) and the sandbox. The
sandbox's Posts Log is the ground truth: which time each post was scheduled for, and that
nothing was sent twice.

The posts say `schedule: {after: 2099-01-05}` so their slots are known dates whatever the
clock says; the queue's behaviour around `now` is tested in tests/test_queue_slots.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SandboxFactory
from reconcile_helpers import API_KEY, CONFIG, Workspace, actions, git, post_yaml, sandbox_config

from orshot_gitops.errors import UserError
from orshot_gitops.reconcile.planner import make_plan
from orshot_gitops.reconcile.savedplan import saved_plan
from orshot_gitops.reconcile.slots import jitter_for
from orshot_gitops.vcs.gitrepo import open_repo

QUEUES = """\
queues:
  - accounts: [x, li]
    slots: ["Mon-Fri 09:30", "Mon-Fri 15:00"]
"""
AFTER = {"after": "2099-01-05"}  # a Monday
S1, S2, S3 = (
    "2099-01-05T09:30:00+00:00",
    "2099-01-05T15:00:00+00:00",
    "2099-01-06T09:30:00+00:00",
)


@pytest.fixture
def qws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workspace]:
    sandbox = sandbox_factory(sandbox_config())
    yield Workspace(tmp_path, sandbox, monkeypatch, capsys, config=CONFIG + QUEUES)


def queued(text: str, accounts: tuple[str, ...] = ("x", "li"), **fields: object) -> str:
    return post_yaml(text, accounts, **{"schedule": AFTER, **fields})


def times(plan: dict[str, Any]) -> dict[tuple[str, str], tuple[str, bool]]:
    """(post, account) -> (scheduled_for, tentative) of each sending action."""
    return {
        (a["post_id"], a["account"]): (a["scheduled_for"], a["tentative"])
        for a in plan["actions"]
        if a["kind"] in ("create", "edit", "retry", "publish-draft")
    }


def scheduled_in_orshot(ws: Workspace) -> list[tuple[str, str | None]]:
    """(caption, scheduled_for) of each post the sandbox ever received, as Orshot holds it now."""
    held = [ws.orshot_post(int(p["post_id"])) for p in ws.sent()]
    return [(post["content"], post["scheduled_for"]) for post in held]


def same_instant(a: str | None, b: str) -> bool:
    return a is not None and datetime.fromisoformat(a.replace("Z", "+00:00")) == (
        datetime.fromisoformat(b)
    )


def test_a_queued_slot_is_the_same_on_every_plan_and_fixed_by_apply(qws: Workspace) -> None:
    qws.post("tips/one", queued("Tip one."))
    first, second = qws.plan_json(), qws.plan_json()
    assert (
        times(first)
        == times(second)
        == {
            ("tips/one", "x"): (S1, True),
            ("tips/one", "li"): (S1, True),
        }
    )
    text = qws.plan().output
    assert "queue slot: tentative until merged" in text
    shown = qws.plan("--show-content").output
    assert "when: Mon 2099-01-05 09:30 UTC (UTC) (queue slot: tentative until merged)" in shown

    assert qws.apply().code == 0
    [(caption, at)] = scheduled_in_orshot(qws)
    assert caption == "Tip one." and same_instant(at, S1)
    assert qws.record("tips/one", "x")["scheduled_for"] == S1

    # Recorded: nothing to do, nothing tentative, nothing sent again.
    assert actions(qws.plan_json()) == []
    requests = qws.requests()
    assert qws.apply().code == 0
    assert qws.requests() == requests and len(qws.sent()) == 1


def test_two_pull_requests_each_show_the_first_slot_and_get_one_each(qws: Workspace) -> None:
    """Both reviews show S1, tentative; merged one after the other, the second gets S2."""
    for branch, post_id in (("pr-a", "tips/a"), ("pr-b", "tips/b")):
        git(qws.root, "checkout", "--quiet", "-b", branch, "main")
        qws.post(post_id, queued(f"Tip {post_id}."))
        plan = qws.plan_json()
        assert times(plan)[(post_id, "x")] == (S1, True)
        review = qws.plan("--format", "markdown").output
        assert "tentative until merged" in review
        git(qws.root, "checkout", "--quiet", "main")

    for branch in ("pr-b", "pr-a"):  # b merges first: it is b that keeps S1
        git(qws.root, "merge", "--quiet", "--no-ff", "-m", f"merge {branch}", branch)
        assert qws.apply("--push").code == 0

    assert qws.record("tips/b", "x")["scheduled_for"] == S1
    assert qws.record("tips/a", "x")["scheduled_for"] == S2
    sent = scheduled_in_orshot(qws)
    assert len(sent) == 2
    assert same_instant(dict(sent)["Tip tips/b."], S1)
    assert same_instant(dict(sent)["Tip tips/a."], S2)
    assert actions(qws.plan_json()) == []


def test_max_per_slot_lets_two_posts_share_a_slot(qws: Workspace) -> None:
    qws.set_config(CONFIG + QUEUES + "    max_per_slot: 2\n")
    for name in ("a", "b", "c"):
        qws.post(f"tips/{name}", queued(f"Tip {name}.", ("x",)))
    got = times(qws.plan_json())
    assert [got[(f"tips/{n}", "x")][0] for n in "abc"] == [S1, S1, S2]
    assert qws.apply().code == 0
    held = dict(scheduled_in_orshot(qws))
    assert len(held) == 3
    for name, expected in zip("abc", (S1, S1, S2), strict=True):
        assert same_instant(held[f"Tip {name}."], expected)


def test_stagger_moves_one_account_and_splits_the_orshot_post(qws: Workspace) -> None:
    qws.set_config(CONFIG + QUEUES + "    stagger: {li: +2h}\n")
    qws.post("tips/one", queued("Tip one."))
    got = times(qws.plan_json())
    assert got[("tips/one", "x")][0] == S1
    assert got[("tips/one", "li")][0] == "2099-01-05T11:30:00+00:00"
    assert qws.apply().code == 0
    sent = scheduled_in_orshot(qws)
    assert len(sent) == 2  # one Orshot post per time
    assert {same_instant(at, S1) for _, at in sent} == {True, False}
    assert actions(qws.plan_json()) == []


def test_jitter_is_the_same_minute_on_every_run(qws: Workspace) -> None:
    qws.set_config(CONFIG + QUEUES + "    jitter: 10m\n")
    qws.post("tips/one", queued("Tip one.", ("x",)))
    expected = datetime.fromisoformat(S1) + jitter_for("tips/one", "x", timedelta(minutes=10))
    for _ in range(2):
        assert times(qws.plan_json())[("tips/one", "x")][0] == expected.isoformat()
    assert qws.apply().code == 0
    assert same_instant(scheduled_in_orshot(qws)[0][1], expected.isoformat())
    assert actions(qws.plan_json()) == []


def test_a_recorded_post_never_moves_and_a_caption_edit_is_in_place(qws: Workspace) -> None:
    qws.post("tips/m", queued("Tip m."))
    assert qws.apply().code == 0
    # A post whose id sorts first arrives later: it takes the next slot, m keeps S1.
    qws.post("tips/a", queued("Tip a."))
    got = times(qws.plan_json())
    assert set(got) == {("tips/a", "x"), ("tips/a", "li")}
    assert got[("tips/a", "x")] == (S2, True)
    assert qws.apply().code == 0

    qws.post("tips/m", queued("Tip m, better."))
    plan = qws.plan_json()
    assert actions(plan) == [("tips/m", "li", "edit"), ("tips/m", "x", "edit")]
    assert times(plan)[("tips/m", "x")] == (S1, False)
    assert qws.apply().code == 0
    assert len(qws.sent()) == 2  # edited in place: no new Orshot post
    orshot = {c: at for c, at in scheduled_in_orshot(qws)}
    assert same_instant(orshot["Tip m, better."], S1)


def test_moving_to_an_explicit_time_and_back_to_the_queue(qws: Workspace) -> None:
    """To a written time: rescheduled in place. Back to `next`: it keeps the time it holds
    (the queue never moves a recorded post)."""
    qws.post("tips/one", queued("Tip one.", ("x",)))
    assert qws.apply().code == 0
    qws.post("tips/one", post_yaml("Tip one.", ("x",), schedule="2099-03-01T12:00"))
    plan = qws.plan_json()
    assert actions(plan) == [("tips/one", "x", "edit")]
    assert qws.apply().code == 0
    qws.post("tips/one", queued("Tip one.", ("x",)))
    assert actions(qws.plan_json()) == []
    assert len(qws.sent()) == 1
    assert same_instant(scheduled_in_orshot(qws)[0][1], "2099-03-01T12:00:00+00:00")


def test_a_slot_taken_by_a_written_time_is_skipped(qws: Workspace) -> None:
    qws.post("launch", post_yaml("Launch.", ("x",), schedule="2099-01-05T09:30"))
    assert qws.apply().code == 0
    qws.post("tips/one", queued("Tip one.", ("x", "li")))
    got = times(qws.plan_json())
    assert got[("tips/one", "x")][0] == S2  # x's 09:30 is the launch's
    assert got[("tips/one", "li")][0] == S1  # li's is free
    # A written time in the same pull request counts as well.
    qws.post("launch-2", post_yaml("Launch 2.", ("li",), schedule="2099-01-05T09:30"))
    assert times(qws.plan_json())[("tips/one", "li")][0] == S2


def test_a_slot_in_a_deny_window_is_skipped(qws: Workspace) -> None:
    rules = 'rules:\n  - name: holiday\n    accounts: [x]\n    deny_windows: ["2099-01-05"]\n'
    qws.set_config(CONFIG + QUEUES + rules)
    qws.post("tips/one", queued("Tip one."))
    got = times(qws.plan_json())
    assert got[("tips/one", "x")][0] == S3
    assert got[("tips/one", "li")][0] == S1
    assert qws.apply().code == 0
    assert len(qws.sent()) == 2


def test_a_queued_account_without_a_queue_sends_nothing(qws: Workspace) -> None:
    qws.post("tips/one", queued("Tip one.", ("x", "fb")))
    run = qws.apply()
    assert run.code == 1
    assert "posts/tips/one.yaml:1:" in run.output and "'fb' has no queue" in run.output
    assert "Traceback" not in run.output
    assert qws.sent() == []


def test_a_queued_draft_takes_no_slot_until_it_is_published(qws: Workspace) -> None:
    qws.post("tips/d", queued("Draft tip.", ("x",), draft=True))
    qws.post("tips/e", queued("Tip e.", ("x",)))
    got = times(qws.plan_json())
    assert got[("tips/d", "x")] == (None, False)
    assert got[("tips/e", "x")] == (S1, True)
    assert qws.apply().code == 0
    qws.post("tips/d", queued("Draft tip.", ("x",)))
    plan = qws.plan_json()
    assert actions(plan) == [("tips/d", "x", "publish-draft")]
    assert times(plan)[("tips/d", "x")] == (S2, True)
    assert qws.apply().code == 0
    assert len(qws.sent()) == 2


def test_a_saved_plan_whose_slot_was_taken_meanwhile_is_refused(qws: Workspace) -> None:
    """`plan --out` showed S1; by the time `apply plan.json` runs, S1 is too close (now moved
    on): the plan now would send S2, a time nobody reviewed, so the saved plan is refused."""
    qws.set_config(CONFIG + 'queues:\n  - accounts: [x]\n    slots: ["daily 09:30"]\n')
    qws.post("tips/one", post_yaml("Tip one.", ("x",), schedule="next"))
    early = datetime(2098, 12, 31, 8, 0, tzinfo=timezone.utc)
    late = datetime(2098, 12, 31, 9, 29, tzinfo=timezone.utc)
    with open_repo(qws.root) as repo:
        reviewed, _, _ = make_plan(qws.root, repo, early)
        now, _, _ = make_plan(qws.root, repo, late)
    assert [a.scheduled_for for a in reviewed.actions] == ["2098-12-31T09:30:00+00:00"]
    assert [a.scheduled_for for a in now.actions] == ["2099-01-01T09:30:00+00:00"]
    saved = qws.root.parent / "plan.json"

    saved.write_text(json.dumps(reviewed.to_json()), encoding="utf-8")
    with pytest.raises(UserError, match="does not match what the committed files would send"):
        saved_plan(saved, now)
    assert saved_plan(saved, reviewed).actions == reviewed.actions


def test_a_moved_queued_post_keeps_its_slot_and_sends_nothing(qws: Workspace) -> None:
    qws.post("tips/one", queued("Tip one."))
    assert qws.apply().code == 0
    qws.post("tips/first", queued("Tip first."))  # sorts before: it must not take S1
    qws.rename("tips/one", "archive/one")
    plan = qws.plan_json()
    assert sorted(actions(plan)) == [
        ("archive/one", "li", "rename"),
        ("archive/one", "x", "rename"),
        ("tips/first", "li", "schedule"),
        ("tips/first", "x", "schedule"),
    ]
    assert times(plan)[("tips/first", "x")] == (S2, True)
    assert qws.apply().code == 0
    assert len(qws.sent()) == 2
    assert qws.record("archive/one", "x")["scheduled_for"] == S1


def test_refresh_sees_a_dashboard_time_change_of_a_queued_post(qws: Workspace) -> None:
    """Outside a plan, refresh compares a queued post at the time its record fixed: nothing
    drifted after apply, and a time moved in Orshot's dashboard is drift."""
    qws.post("tips/one", queued("Tip one.", ("x",)))
    assert qws.apply().code == 0
    run = qws.cli("refresh")
    assert run.code == 0, run.output
    assert "changed in Orshot" not in run.output
    assert qws.record("tips/one", "x").get("drift") is None
    assert actions(qws.plan_json()) == []

    # Someone moves it in Orshot's dashboard: refresh sees it, as for a written time.
    orshot_id = qws.record("tips/one", "x")["post_id"]
    response = httpx.patch(
        f"{qws.sandbox.base_url}/v1/social/posts/{orshot_id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"scheduled_for": "2099-02-01T10:00:00Z"},
        timeout=30.0,
    )
    assert response.status_code == 200, response.text
    run = qws.cli("refresh")
    assert run.code == 0, run.output
    assert qws.record("tips/one", "x")["drift"] == "time"
    assert actions(qws.plan_json()) == [("tips/one", "x", "drift")]


def test_a_failed_queued_post_whose_slot_passed(qws: Workspace) -> None:
    """Refused for good and unchanged: it stays at its time (an error now it has passed),
    never sent again on a new slot. Failed for a passing reason: it takes the next slot."""
    qws.post("tips/one", queued("Tip one.", ("x",)))
    qws.post("tips/two", queued("Tip two.", ("li",)))
    assert qws.apply().code == 0
    state = qws.state()
    for post_id, account, failure in (
        ("tips/one", "x", "permanent"),
        ("tips/two", "li", "transient"),
    ):
        record = state["posts"][post_id]["accounts"][account]
        record.update(status="failed", step="schedule", error="refused", failure=failure)
        record["scheduled_for"] = None
    qws.write_state(state)
    qws.commit("the sends failed")
    later = datetime(2099, 1, 5, 12, 0, tzinfo=timezone.utc)  # S1 has passed
    with open_repo(qws.root) as repo:
        plan, _, _ = make_plan(qws.root, repo, later)
    kinds = {(a.post_id, a.account): a for a in plan.actions}
    assert kinds[("tips/one", "x")].kind.value == "past-schedule"
    assert kinds[("tips/two", "li")].kind.value == "retry"
    assert kinds[("tips/two", "li")].scheduled_for == S2
    assert kinds[("tips/two", "li")].tentative


def test_an_adopted_queued_post_is_not_taken_for_changed(qws: Workspace) -> None:
    """Sent by other means and adopted: recorded as published with no time, and the next
    plan, reading the queued post at that record, has nothing to do."""
    qws.post("tips/one", queued("Tip one.", ("x",)))
    run = qws.cli("adopt", "--all")
    assert run.code == 0, run.output
    assert actions(qws.plan_json()) == []
    assert qws.apply().code == 0
    assert qws.sent() == []


def test_a_rebuilt_state_reads_a_queued_post_at_orshots_time(qws: Workspace) -> None:
    """`refresh --rebuild` records what the Posts Log holds: a queued post at the time
    Orshot has, so the next plan has nothing to edit."""
    qws.post("tips/one", queued("Tip one.", ("x",)))
    assert qws.apply().code == 0
    run = qws.cli("refresh", "--rebuild")
    assert run.code == 0, run.output
    assert qws.record("tips/one", "x")["status"] == "scheduled"
    assert actions(qws.plan_json()) == []


def test_the_preview_calendar_shows_the_queued_slot(qws: Workspace) -> None:
    """`orshot-gitops preview` puts a queued post on its slot in the calendar feed, as the
    plan shows it, not as 'on merge'."""
    import icalendar

    from orshot_gitops.report.site.ics import event_uid

    qws.post("tips/one", queued("Tip one.", ("x",)))
    out = qws.root.parent / "site"
    run = qws.cli("preview", "--out", str(out))
    assert run.code == 0, run.output
    feed = icalendar.Calendar.from_ical((out / "calendar-x.ics").read_bytes())
    found = {str(e["uid"]): e for e in feed.walk("VEVENT")}
    start = found[event_uid("tips/one", "x")].decoded("dtstart")
    assert start == datetime.fromisoformat(S1)


def test_spacing_is_checked_at_each_accounts_own_slot(qws: Workspace) -> None:
    """li runs 2h behind x: its slot is 11:30, clear of li's 09:30 post by the 1h spacing;
    checked at x's 09:30 it would be a false error."""
    rules = "rules:\n  - name: li-spacing\n    accounts: [li]\n    min_spacing: 1h\n"
    qws.set_config(CONFIG + QUEUES + "    stagger: {li: +2h}\n" + rules)
    qws.post("launch", post_yaml("Launch.", ("li",), schedule="2099-01-05T09:30"))
    assert qws.apply().code == 0
    qws.post("tips/one", queued("Tip one."))
    plan = qws.plan_json()
    assert [d["message"] for d in plan["diagnostics"]] == []
    got = times(plan)
    assert got[("tips/one", "x")][0] == S1
    assert got[("tips/one", "li")][0] == "2099-01-05T11:30:00+00:00"


def test_a_post_published_from_its_slot_is_never_sent_again_and_the_next_takes_a_later_slot(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The sandbox's clock and apply's move together: tip A's slot comes, Orshot publishes
    it, the next apply records it published; tip B, queued then, takes the next slot."""
    import os

    from conftest import FakeClock

    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.reconcile.runner import ApplyOptions, run_apply

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    first, second = start + timedelta(minutes=10), start + timedelta(minutes=40)
    clock = FakeClock(start.timestamp())
    slots = f'["daily {first:%H:%M}", "daily {second:%H:%M}"]'
    config = CONFIG + f"queues:\n  - accounts: [x]\n    slots: {slots}\n"
    ws = Workspace(
        tmp_path, sandbox_factory(sandbox_config(), clock=clock), monkeypatch, capsys, config
    )

    def apply_at(when: datetime) -> None:
        with open_repo(ws.root) as repo:
            report = run_apply(
                ws.root,
                repo,
                lambda: OrshotClient.from_env(os.environ),
                lambda: when,
                ApplyOptions(),
            )
        assert report.ok, report

    ws.post("tips/a", post_yaml("Tip A.", ("x",), schedule="next"))
    apply_at(start)
    assert ws.record("tips/a", "x")["scheduled_for"] == first.isoformat()
    later = start + timedelta(minutes=20)
    clock.advance((later - start).total_seconds())
    apply_at(later)
    assert ws.record("tips/a", "x")["status"] == "published"

    ws.post("tips/b", post_yaml("Tip B.", ("x",), schedule="next"))
    with open_repo(ws.root) as repo:
        plan, _, _ = make_plan(ws.root, repo, later)
    assert [(a.post_id, a.scheduled_for) for a in plan.actions] == [("tips/b", second.isoformat())]
    apply_at(later)
    assert ws.record("tips/b", "x")["scheduled_for"] == second.isoformat()
    assert [p["request"]["content"] for p in ws.sent()] == ["Tip A.", "Tip B."]


def test_changing_the_queue_moves_no_recorded_post(qws: Workspace) -> None:
    """New slots in orshot.yaml: every post is compiled again (a shared input changed), and
    the recorded ones stay at their times; only a new queued post sees the new slots."""
    qws.post("tips/one", queued("Tip one.", ("x",)))
    assert qws.apply().code == 0
    qws.set_config(CONFIG + QUEUES.replace("Mon-Fri 09:30", "Mon-Fri 08:00"))
    qws.post("tips/two", queued("Tip two.", ("x",)))
    plan = qws.plan_json()
    assert plan["full_rescan"]
    assert times(plan) == {("tips/two", "x"): ("2099-01-05T08:00:00+00:00", True)}
    assert qws.apply().code == 0
    assert qws.record("tips/one", "x")["scheduled_for"] == S1
    assert len(qws.sent()) == 2


def test_a_revision_bump_of_a_live_queued_post_takes_a_new_slot(qws: Workspace) -> None:
    """Posting it again (revision 2) makes a new post: it needs a slot of its own, not the
    time the live one went out at (which has passed)."""
    qws.post("tips/one", queued("Tip one.", ("x",)))
    assert qws.apply().code == 0
    state = qws.state()
    state["posts"]["tips/one"]["accounts"]["x"]["status"] = "published"  # it went out
    qws.write_state(state)
    qws.commit("it went out")
    qws.post("tips/one", queued("Tip one, again.", ("x",), revision=2))
    plan = qws.plan_json()
    assert actions(plan) == [("tips/one", "x", "schedule")]
    assert times(plan)[("tips/one", "x")] == (S2, True)


def test_a_batch_of_queued_rows_takes_one_slot_per_row_and_keeps_them(qws: Workspace) -> None:
    """A catalogue that says `schedule: next` fills the queue row by row, in row-id order;
    a row added later takes the next free slot and moves no recorded row."""
    qws.write("data/tips.csv", "key,text\nb,Second tip.\na,First tip.\n")
    qws.write(
        "posts/tips.yaml",
        'for_each: data/tips.csv\nid: "{{ row.key }}"\naccounts: [x]\n'
        'content: "{{ row.text }}"\nschedule: {after: 2099-01-05}\n',
    )
    qws.commit("a queued batch")
    assert {k: v for k, v in times(qws.plan_json()).items()} == {
        ("tips/a", "x"): (S1, True),
        ("tips/b", "x"): (S2, True),
    }
    assert qws.apply().code == 0
    qws.write("data/tips.csv", "key,text\nb,Second tip.\na,First tip.\n0,Zeroth tip.\n")
    qws.commit("a row whose id sorts first")
    assert times(qws.plan_json()) == {("tips/0", "x"): (S3, True)}
    assert qws.apply().code == 0
    held = sorted(scheduled_in_orshot(qws))
    assert [caption for caption, _ in held] == ["First tip.", "Second tip.", "Zeroth tip."]
    assert all(same_instant(t, s) for (_, t), s in zip(held, (S1, S2, S3), strict=True))
