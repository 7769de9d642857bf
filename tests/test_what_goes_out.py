"""What the pull request shows is what goes out: a caption whose first line renders blank is
sent without it, and the review shows exactly that; a post Orshot still holds whose recorded
caption began with a blank line (sent by an older version) gets that edit in place, shown
before and after like any edit; a wall time a DST change repeats is warned about in the review,
and the instant it names is the one scheduled.

Real parts: a git repository with a bare remote, the sandbox, its Posts Log as the truth.
"""

from __future__ import annotations

from datetime import datetime, timezone

from reconcile_helpers import Workspace, actions

# A template's `{% if %}` on its own first line leaves a blank line above the text.
LEADING_IF = "accounts: [x]\ncontent: |\n  {% if platform == 'linkedin' %}Hi LinkedIn{% endif %}\n  Launch day!\n"


def test_a_caption_whose_first_line_renders_blank_is_sent_and_shown_without_it(
    ws: Workspace,
) -> None:
    ws.post("launch", LEADING_IF)
    plan = ws.plan_json()
    assert [a["content"] for a in plan["actions"]] == ["Launch day!"]
    # The pull request's comment fences the caption exactly as it goes out: no blank line.
    review = ws.plan("--format", "markdown").output
    assert "```text\nLaunch day!\n```" in review, review
    assert ws.apply().code == 0
    assert [p["request"]["content"] for p in ws.sent()] == ["Launch day!"]
    assert ws.record("launch", "x")["sent"]["caption"] == "Launch day!"


def test_a_held_post_sent_with_the_blank_line_is_edited_in_place(ws: Workspace) -> None:
    text = LEADING_IF + "schedule: 2099-01-05T09:00\n"
    ws.post("launch", text)
    assert ws.apply().code == 0
    (held,) = ws.sent()
    # What an older version recorded (and Orshot holds): the caption with its blank line.
    state = ws.state()
    record = state["posts"]["launch"]["accounts"]["x"]
    record["fingerprint"] = "0" * 64
    record["sent"]["caption"] = "\nLaunch day!"
    ws.write_state(state)
    ws.post("launch", text + "# touched\n", "touch the post")

    plan = ws.plan_json()
    assert actions(plan) == [("launch", "x", "edit")]
    edit = plan["actions"][0]
    assert edit["content"] == "Launch day!"
    assert ws.apply().code == 0
    (after,) = ws.sent()  # the same Orshot post, edited: nothing new went out
    assert after["post_id"] == held["post_id"]
    assert ws.orshot_post(int(held["post_id"]))["content"] == "Launch day!"


def test_a_repeated_wall_time_is_warned_in_the_review_and_the_first_instant_goes_out(
    ws: Workspace,
) -> None:
    # What the pull request shows is what goes out: the warning names both instants, and the
    # one sent is the first, as the review's time says.
    ws.post(
        "fallback",
        "accounts: [x]\ncontent: Fall back\nschedule: 2099-11-01T01:30\n"
        "timezone: America/New_York\n",
    )
    review = ws.plan("--format", "markdown").output
    assert "happens twice in America/New\\_York" in review, review  # Markdown-escaped
    assert "2099-11-01T01:30-04:00 (05:30 UTC) and 2099-11-01T01:30-05:00 (06:30 UTC)" in review
    assert ws.plan_json()["actions"][0]["scheduled_for"] == "2099-11-01T05:30:00+00:00"
    assert ws.apply().code == 0
    (sent,) = ws.sent()
    held = ws.orshot_post(int(sent["post_id"]))
    assert datetime.fromisoformat(held["scheduled_for"]) == datetime(
        2099, 11, 1, 5, 30, tzinfo=timezone.utc
    )
