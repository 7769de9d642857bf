"""`paused: true` is an emergency stop for what Orshot already holds too: the plan lists each
scheduled post that would still go out, apply moves it back to a draft, and lifting the pause
schedules it again. The sandbox's Posts Log says what the world would see."""

from __future__ import annotations

import pytest
from reconcile_helpers import CONFIG, Workspace, git, post_yaml

FUTURE = "2099-01-05T09:00"


def targets(ws: Workspace) -> list[tuple[int, str]]:
    return sorted((int(t["account_id"]), t["status"]) for p in ws.sent() for t in p["platforms"])


def test_a_pause_moves_scheduled_posts_back_to_drafts_and_lifting_it_schedules_them_again(
    ws: Workspace,
) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Monday.", schedule=FUTURE))
    assert ws.apply().code == 0
    [held] = ws.sent()
    assert targets(ws) == [(1, "scheduled"), (2, "scheduled")]

    ws.set_config(CONFIG + "paused: true\n")
    review = ws.plan()
    assert "pause x" in review.out and "pause li" in review.out, review.out
    assert "would still go out" in review.out
    assert review.out.splitlines()[-1].endswith(
        "apply will send nothing but move 2 scheduled (post, account) pair(s) back to drafts."
    ), review.out
    comment = ws.plan("--format", "markdown").out
    assert "sends 0" not in comment and "Merging sends" not in comment, comment
    assert "Merging moves 2 scheduled (post, account) pair(s)" in comment, comment

    run = ws.apply()
    assert run.code == 0, run.output
    assert targets(ws) == [(1, "drafted"), (2, "drafted")]  # nothing will fire
    for account in ("x", "li"):
        record = ws.record("2026/webinar", account)
        assert (record["status"], record["post_id"]) == ("drafted", held["post_id"])
    assert ws.log()[0].startswith("orshot:"), ws.log()
    assert ws.plan("--detailed-exitcode").code == 0  # nothing left to pause

    ws.set_config(CONFIG)
    run = ws.apply()
    assert run.code == 0, run.output
    assert targets(ws) == [(1, "scheduled"), (2, "scheduled")]
    assert len(ws.sent()) == 1  # the same Orshot post, never a second one
    assert ws.orshot_post(held["post_id"])["scheduled_for"].startswith("2099-01-05T09:00")
    for account in ("x", "li"):
        assert ws.record("2026/webinar", account)["status"] == "scheduled"


def test_while_paused_nothing_else_is_sent_and_the_reconciled_commit_does_not_move(
    ws: Workspace,
) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Monday.", schedule=FUTURE))
    assert ws.apply().code == 0
    ws.set_config(CONFIG + "paused: true\n")
    ws.post("2026/launch", post_yaml("Launch day!"))
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", schedule=FUTURE))

    assert ws.apply().code == 0
    [held] = ws.sent()  # no launch post
    assert held["request"]["content"].startswith("Webinar on Monday")
    assert ws.orshot_post(held["post_id"])["content"].startswith("Webinar on Monday")
    assert targets(ws) == [(1, "drafted"), (2, "drafted")]

    ws.set_config(CONFIG)
    assert ws.apply().code == 0
    contents = sorted(ws.orshot_post(p["post_id"])["content"] for p in ws.sent())
    assert [c.splitlines()[0] for c in contents] == ["Launch day!", "Webinar on Tuesday."]
    assert sorted(t for t in targets(ws)) == [
        (1, "published"),
        (1, "scheduled"),
        (2, "published"),
        (2, "scheduled"),
    ]


def test_a_pause_with_nothing_scheduled_says_merging_sends_nothing(ws: Workspace) -> None:
    ws.set_config(CONFIG + "paused: true\n")
    ws.post("2026/launch", post_yaml("Launch day!"))
    comment = ws.plan("--format", "markdown").out
    assert "Merging sends nothing" in comment, comment
    assert "pair(s) across" not in comment, comment


# --- the pause beside the other issue 13 items (merge of i13-fire) ----------------------------


def test_a_paused_pushing_apply_marks_only_the_pause_as_an_intent(ws: Workspace) -> None:
    """apply pushes its intents first (the workspace has an upstream). Paused, only the pause
    is sent: a waiting new post marked pending would be settled by the next run as if sent."""
    ws.post("2026/webinar", post_yaml("Webinar on Monday.", schedule=FUTURE))
    assert ws.apply().code == 0
    ws.set_config(CONFIG + "paused: true\n")
    ws.post("2026/launch", post_yaml("Launch day!"))

    run = ws.apply()

    assert run.code == 0, run.output
    assert "2026/launch" not in ws.state()["posts"], ws.state()["posts"].get("2026/launch")
    intents = [s for s in ws.log() if s.startswith("orshot: sending ")]
    assert intents, ws.log()
    assert git(ws.root, "rev-parse", "HEAD") == git(ws.remote, "rev-parse", "main")
    [held] = ws.sent()  # the launch post waits
    assert held["request"]["content"].startswith("Webinar on Monday")


def test_a_paused_apply_with_a_wrong_key_records_nothing(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pause sends (a PATCH), so the key is checked before its intent is written."""
    ws.post("2026/webinar", post_yaml("Webinar on Monday.", schedule=FUTURE))
    assert ws.apply().code == 0
    ws.set_config(CONFIG + "paused: true\n")
    before, head, remote = ws.state(), ws.head(), git(ws.remote, "rev-parse", "main")
    requests = ws.requests()
    monkeypatch.setenv("ORSHOT_API_KEY", "wrong")

    run = ws.apply()

    assert run.code == 1, run.output
    assert "API key" in run.output, run.output
    assert "Traceback" not in run.output
    assert ws.state() == before
    assert (ws.head(), git(ws.remote, "rev-parse", "main")) == (head, remote)
    assert ws.requests() - requests <= 1  # the key check alone
    assert targets(ws) == [(1, "scheduled"), (2, "scheduled")]


def test_a_pause_whose_answer_was_lost_is_settled_while_still_paused(ws: Workspace) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Monday.", schedule=FUTURE))
    assert ws.apply().code == 0
    ws.set_config(CONFIG + "paused: true\n")
    # The pause's PATCH left, its answer and the read-back after it were lost: the state says
    # unknown; Orshot never got it and still holds the post scheduled.
    state = ws.state()
    for record in state["posts"]["2026/webinar"]["accounts"].values():
        record.update(status="unknown", step="patch", paused_schedule=record["scheduled_for"])
    ws.write_state(state)
    ws.commit("a pause whose answer was lost")

    run = ws.apply()

    assert run.code == 0, run.output
    assert targets(ws) == [(1, "drafted"), (2, "drafted")]  # nothing fires while paused
