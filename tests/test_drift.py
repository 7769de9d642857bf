"""Drift: a held post changed in Orshot's dashboard (through the sandbox's API, as the
dashboard would) is found by `refresh`, recorded per (post, account), shown by `status`, the
plan and the PR comment, and never silently overwritten."""

from __future__ import annotations

from typing import Any

import httpx
from reconcile_helpers import API_KEY, Workspace, actions, post_yaml

FUTURE = "2099-01-05T09:00"


def dashboard_edit(ws: Workspace, post_id: int, **fields: Any) -> None:
    """What a person does in Orshot's dashboard: edit the post Orshot holds."""
    response = httpx.patch(
        f"{ws.sandbox.base_url}/v1/social/posts/{post_id}",
        json=fields,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10.0,
    )
    response.raise_for_status()


def scheduled(ws: Workspace) -> int:
    ws.post("2026/webinar", post_yaml("Webinar on Monday.", schedule=FUTURE))
    assert ws.apply().code == 0
    [held] = ws.sent()
    return int(held["post_id"])


def test_a_caption_changed_in_the_dashboard_is_drift_shown_everywhere_and_not_overwritten(
    ws: Workspace,
) -> None:
    held = scheduled(ws)
    dashboard_edit(ws, held, content="Webinar moved to Tuesday!")

    run = ws.cli("refresh")
    assert run.code == 0, run.output
    assert "No drift" not in run.out, run.out
    assert "caption changed in Orshot" in run.out, run.out
    assert ws.record("2026/webinar", "x")["drift"] == "caption"
    assert ws.record("2026/webinar", "li")["drift"] == "caption"
    assert ws.log()[0].startswith("orshot: refresh")  # committed

    assert "DRIFT: caption" in ws.cli("status").out
    review = ws.plan()
    assert "drift x" in review.out and "drift li" in review.out, review.out
    comment = ws.plan("--format", "markdown").out
    assert "changed in Orshot" in comment, comment

    # The file is edited meanwhile: the plan says the dashboard's change is in the way.
    ws.post("2026/webinar", post_yaml("Webinar on Monday, room 2.", schedule=FUTURE))
    plan = ws.plan()
    assert "drift x" in plan.out and "edit" not in plan.out.split("Plan:")[-1], plan.out
    assert ws.apply().code == 0
    assert ws.orshot_post(held)["content"] == "Webinar moved to Tuesday!"

    # Asked for, the file's version is sent over it, in place; the drift is resolved.
    assert ws.apply("--overwrite-drift").code == 0
    assert ws.orshot_post(held)["content"].startswith("Webinar on Monday, room 2.")
    assert len(ws.sent()) == 1
    assert "drift" not in ws.record("2026/webinar", "x")
    assert "No drift" in ws.cli("refresh").out


def test_a_time_changed_in_the_dashboard_is_drift(ws: Workspace) -> None:
    held = scheduled(ws)
    dashboard_edit(ws, held, scheduled_for="2099-01-06T09:00:00Z")
    run = ws.cli("refresh")
    assert "time changed in Orshot" in run.out, run.out
    assert ws.record("2026/webinar", "x")["drift"] == "time"
    # Re-applied as it is in the file: the post goes back to its reviewed time.
    assert ws.apply("--overwrite-drift").code == 0
    assert ws.orshot_post(held)["scheduled_for"].startswith("2099-01-05T09:00")
    assert "No drift" in ws.cli("refresh").out


def test_taking_orshots_version_into_the_file_resolves_the_drift(ws: Workspace) -> None:
    held = scheduled(ws)
    dashboard_edit(ws, held, content="Webinar moved to Tuesday!\n")
    ws.cli("refresh")
    ws.post("2026/webinar", post_yaml("Webinar moved to Tuesday!", schedule=FUTURE))
    plan = ws.plan()
    assert "drift" not in plan.out.split("Plan:")[-1], plan.out
    assert ws.apply().code == 0
    assert "drift" not in ws.record("2026/webinar", "x")
    assert "No drift" in ws.cli("refresh").out
    assert len(ws.sent()) == 1


def test_an_unchanged_held_post_has_no_drift(ws: Workspace) -> None:
    scheduled(ws)
    run = ws.cli("refresh")
    assert "No drift" in run.out, run.out


def test_a_pause_does_not_wash_out_drift(ws: Workspace) -> None:
    """Pausing PATCHes the held post: the dashboard's edit is still there, and lifting the
    pause must not send the file's version over it unasked."""
    from reconcile_helpers import CONFIG

    held = scheduled(ws)
    dashboard_edit(ws, held, content="Webinar moved to Tuesday!")
    ws.cli("refresh")
    ws.set_config(CONFIG + "paused: true\n")
    assert ws.apply().code == 0
    assert ws.record("2026/webinar", "x")["drift"] == "caption"

    ws.set_config(CONFIG)
    plan = ws.plan()
    assert "drift x" in plan.out, plan.out
    assert ws.apply().code == 0
    assert ws.orshot_post(held)["content"] == "Webinar moved to Tuesday!"


def test_an_unfinished_move_is_finished_before_drift_holds_anything_back(ws: Workspace) -> None:
    """Precedence: unfinished work (settle) before drift. An account moved to a post of its
    own but not yet taken off the held one (`replaces`) would otherwise stay on both: two
    held posts that fire for one account, because a dashboard edit was recorded."""
    held = scheduled(ws)
    state = ws.state()
    record = state["posts"]["2026/webinar"]["accounts"]["x"]
    record.update(replaces=held, drift="caption", drift_digest="0" * 64)
    ws.write_state(state)
    ws.commit("an unfinished move, and drift recorded on it")

    plan = ws.plan_json()

    kinds = {(a["account"], a["kind"]) for a in plan["actions"]}
    assert ("x", "settle") in kinds, kinds
    assert ("x", "drift") not in kinds, kinds


def test_a_pause_cut_off_after_its_intent_still_records_the_drift(ws: Workspace) -> None:
    """The pause's intent is on disk before its PATCH: a run killed right there must not
    leave a record that forgot the dashboard's edit (the next run would take the file's
    version for what Orshot holds)."""
    from fault_helpers import apply as apply_process
    from reconcile_helpers import CONFIG

    held = scheduled(ws)
    dashboard_edit(ws, held, content="Webinar moved to Tuesday!")
    ws.cli("refresh")
    ws.set_config(CONFIG + "paused: true\n")

    run = apply_process(ws.root, ws.sandbox, crash_at="after-intent")

    assert run.killed, run.describe()
    for account in ("x", "li"):
        record = ws.record("2026/webinar", account)
        assert (record["status"], record["step"]) == ("pending", "patch"), record
        assert record.get("drift") == "caption", record


def test_a_pause_cut_off_after_its_intent_is_not_settled_over_the_dashboards_edit(
    ws: Workspace,
) -> None:
    """Settled, the cut-off pause is recorded as Orshot holds it (a draft), not PATCHed again
    from the file: that would be an edit, over the dashboard's."""
    from fault_helpers import apply as apply_process
    from reconcile_helpers import CONFIG

    held = scheduled(ws)
    dashboard_edit(ws, held, content="Webinar moved to Tuesday!")
    ws.cli("refresh")
    ws.set_config(CONFIG + "paused: true\n")
    assert apply_process(ws.root, ws.sandbox, crash_at="after-intent").killed
    ws.set_config(CONFIG)

    assert ws.apply("--settle-after", "0").code == 0
    assert ws.apply().code == 0

    assert ws.orshot_post(held)["content"] == "Webinar moved to Tuesday!"
    assert ws.record("2026/webinar", "x")["drift"] == "caption"
    assert "drift x" in ws.plan().out


def test_a_held_post_discarded_in_the_dashboard_is_not_created_again(ws: Workspace) -> None:
    """Someone took the scheduled post down in Orshot on purpose: refresh records it failed
    for good (it waits for a change to the file), and no later apply re-creates it."""
    held = scheduled(ws)
    response = httpx.delete(
        f"{ws.sandbox.base_url}/v1/social/posts/{held}",
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10.0,
    )
    response.raise_for_status()
    assert ws.cli("refresh").code == 0
    record = ws.record("2026/webinar", "x")
    assert (record["status"], record["failure"]) == ("failed", "permanent")
    before = len(ws.sent())
    for _ in range(2):
        ws.apply()
        assert len(ws.sent()) == before
    assert {a[2] for a in actions(ws.plan_json())} == {"waiting"}
