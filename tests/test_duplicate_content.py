"""A `revision` bump that would send a live post's caption and media again: the platforms
refuse it as duplicate content, so validate and the plan refuse it first, and nothing is sent.

Real parts: a git repository with a bare remote, the sandbox, its Posts Log as the truth.
"""

from __future__ import annotations

from pathlib import Path

from reconcile_helpers import Workspace, actions, post_yaml

from orshot_gitops.content.validate import validate_repo

MEDIA = "https://cdn.example/launch.png"


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "duplicate content" in line]


def test_a_bump_that_repeats_the_live_post_is_refused_by_validate_and_the_plan(
    ws: Workspace,
) -> None:
    ws.post("2026/launch", post_yaml("Launch day!", media_url=MEDIA))
    assert ws.apply().code == 0
    live = {r["post_id"] for r in ws.sent()}

    # Someone bumps the revision to post it again, and changes nothing else.
    ws.post("2026/launch", post_yaml("Launch day!", media_url=MEDIA, revision=2))
    validate = ws.cli("validate")
    assert validate.code == 1
    assert _error_lines(validate.output) == [
        "posts/2026/launch.yaml:2:10: error: revision 2 sends 'li' the same caption and media "
        f"as its live post ({ws.record('2026/launch', 'li')['url']}): the platform refuses it "
        "as duplicate content "
        "(change the text (or the media) of this revision, or undo the revision bump)",
        "posts/2026/launch.yaml:2:10: error: revision 2 sends 'x' the same caption and media "
        f"as its live post ({ws.record('2026/launch', 'x')['url']}): the platform refuses it "
        "as duplicate content "
        "(change the text (or the media) of this revision, or undo the revision bump)",
    ]
    plan = ws.plan()
    assert len(_error_lines(plan.output)) == 2, plan.output
    assert actions(ws.plan_json()) == []
    before = ws.requests()
    ws.apply()
    assert {r["post_id"] for r in ws.sent()} == live  # the Posts Log: nothing new went out
    assert ws.record("2026/launch", "x")["revision"] == 1

    # Changing the text is what the error asks for: then it is posted again.
    ws.post("2026/launch", post_yaml("Launch day, again!", media_url=MEDIA, revision=2))
    assert _error_lines(ws.cli("validate").output) == []
    assert ws.apply().code == 0
    assert ws.requests() > before
    assert [r["request"]["content"] for r in ws.sent()] == ["Launch day!", "Launch day, again!"]


def test_new_media_under_the_same_caption_is_not_a_duplicate(ws: Workspace) -> None:
    ws.post("2026/launch", post_yaml("Launch day!", media_url=MEDIA))
    assert ws.apply().code == 0
    ws.post("2026/launch", post_yaml("Launch day!", media_url=MEDIA + "?v=2", revision=2))
    assert _error_lines(ws.cli("validate").output) == []
    assert ws.apply().code == 0
    assert len(ws.sent()) == 2


def test_a_bump_of_a_post_still_held_is_not_a_duplicate(tmp_path: Path) -> None:
    # A scheduled post that has not fired is edited in place, never posted beside itself:
    # the check looks only at live records.
    from datetime import datetime, timezone

    from repo_fixtures import content_repo

    content_repo(
        tmp_path,
        {
            "posts/p.yaml": "accounts: [x]\ncontent: hi\nrevision: 2\nschedule: 2099-01-01T10:00\n",
            ".orshot/state/posts/p.json": (
                '{"path": "posts/p.yaml", "revision": 1, "accounts": {"x": {"account_id": 1, '
                '"fingerprint": "f", "revision": 1, "status": "scheduled", '
                '"scheduled_for": "2099-01-01T09:00:00+00:00", "sent": {"caption": "hi"}}}}'
            ),
        },
    )
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert validate_repo(tmp_path, now).diagnostics == ()
    # Once its time has passed, the same record is live: the bump would repeat it.
    fired = tmp_path / ".orshot/state/posts/p.json"
    fired.write_text(fired.read_text().replace("2099-01-01T09:00", "2026-11-01T09:00"))
    assert [d.code for d in validate_repo(tmp_path, now).diagnostics] == ["duplicate-content"]


def test_a_v1_state_file_is_read_for_the_sent_copies_too(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from repo_fixtures import content_repo

    record = (
        '{"account_id": 1, "fingerprint": "f", "revision": 1, "status": "published", '
        '"url": "https://twitter.com/acme/status/1", "sent": {"caption": "hi"}}'
    )
    content_repo(
        tmp_path,
        {
            "posts/p.yaml": "accounts: [x]\ncontent: hi\nrevision: 2\n",
            ".orshot/state.json": (
                '{"version": 1, "posts": {"p": {"path": "posts/p.yaml", "revision": 1, '
                f'"accounts": {{"x": {record}}}}}}}}}'
            ),
        },
    )
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert [d.format() for d in validate_repo(tmp_path, now).diagnostics] == [
        "posts/p.yaml:2:10: error: revision 2 sends 'x' the same caption and media as its live "
        "post (https://twitter.com/acme/status/1): the platform refuses it as duplicate content "
        "(change the text (or the media) of this revision, or undo the revision bump)"
    ]


def test_a_record_reached_through_a_link_is_not_read(tmp_path: Path) -> None:
    # The repository is untrusted input: a state record that links elsewhere says nothing.
    from datetime import datetime, timezone

    from repo_fixtures import content_repo

    outside = tmp_path / "outside.json"
    outside.write_text(
        '{"path": "posts/p.yaml", "revision": 1, "accounts": {"x": {"account_id": 1, '
        '"fingerprint": "f", "revision": 1, "status": "published", "sent": {"caption": "hi"}}}}'
    )
    repo = content_repo(
        tmp_path / "repo", {"posts/p.yaml": "accounts: [x]\ncontent: hi\nrevision: 2\n"}
    )
    (repo / ".orshot/state/posts").mkdir(parents=True)
    (repo / ".orshot/state/posts/p.json").symlink_to(outside)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert validate_repo(repo, now).diagnostics == ()
