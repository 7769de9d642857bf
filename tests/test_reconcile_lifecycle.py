"""The reconciler's whole lifecycle, as a team lives it: posts written, reviewed with `plan`,
published with `apply`, edited, scheduled, moved, deleted, failed and retried, against a real
git repository with a bare remote and the sandbox on loopback. The sandbox's Posts Log is the
ground truth of what went out: every story ends by counting what the world saw.

Every story runs twice: against answers carrying `account_id` in the request's order, and
against answers in the shape Orshot's publish pages document (no ids, another order), which
the client matches by reading the post back (tests/test_results_by_account.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import SandboxFactory
from reconcile_helpers import (
    API_KEY,
    CONFIG,
    Workspace,
    actions,
    git,
    outcomes,
    post_yaml,
    sandbox_config,
)

FUTURE = "2099-01-05T09:00"
LATER = "2099-02-10T15:30"


@pytest.fixture(params=["with-ids", "documented"])
def answers(request: pytest.FixtureRequest) -> str:
    """The shape of the sandbox's publish answers (sandbox/config.py, ANSWER_SHAPES)."""
    return str(request.param)


@pytest.fixture
def ws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answers: str,
) -> Iterator[Workspace]:
    """conftest's workspace, its sandbox answering in the shape `answers` names."""
    sandbox = sandbox_factory(sandbox_config(answers=answers))
    yield Workspace(tmp_path, sandbox, monkeypatch, capsys)


@pytest.fixture
def expired_li(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answers: str,
) -> Iterator[Workspace]:
    """A workspace whose LinkedIn account (id 2) has an expired token, which Orshot's health
    does not report yet (it expired after Orshot's check): sends to it fail."""
    config = sandbox_config(expired=(2,), noticed=False, answers=answers)
    sandbox = sandbox_factory(config, data_dir=tmp_path / "orshot-data")
    yield Workspace(tmp_path, sandbox, monkeypatch, capsys)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def statuses(ws: Workspace) -> dict[str, str]:
    """Each Orshot post's status, by the content it was created with."""
    return {p["request"]["content"]: p["status"] for p in ws.sent()}


def reconnect_linkedin(ws: Workspace, sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """The user reconnects LinkedIn in Orshot: the same workspace, the token valid again."""
    answers = ws.sandbox.app.config.answers
    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(answers=answers), data_dir=tmp_path / "orshot-data"))


# --- new, re-run ----------------------------------------------------------------------------


def test_a_new_post_goes_out_once_per_account_and_the_results_are_pushed(ws: Workspace) -> None:
    post_commit = ws.post("2026/launch", post_yaml("{{ product }} 2.0 is live!"))

    review = ws.plan("--detailed-exitcode")
    assert review.code == 2
    assert review.out.splitlines() == [
        "2026/launch  (posts/2026/launch.yaml)",
        "  + publish li (linkedin): new: publish now",
        "  + publish x (twitter): new: publish now",
        "Plan: 2 publish; 0 unchanged.",
    ]

    run = ws.apply("--push")
    assert run.code == 0, run.output
    assert run.out.splitlines()[-1].startswith("Apply: 2 published. Recorded in ")

    # Exactly one Orshot post, for both accounts, created as a draft and published by id.
    [sent] = ws.sent()
    assert sent["request"]["content"] == "Acme Rockets 2.0 is live!"
    assert sent["request"]["accounts"] == [2, 1]
    assert sent["request"]["isDraft"] is True
    assert sent["status"] == "published"
    assert [(t["account_id"], t["status"]) for t in sent["platforms"]] == [
        (2, "published"),
        (1, "published"),
    ]
    urls = {t["account_id"]: t["url"] for t in sent["platforms"]}
    assert ws.calls("POST /v1/social/publish") == 1
    assert ws.calls("POST /v1/social/posts/{id}/publish") == 1

    # The state names the Orshot post and each account's URL, and the commit it reconciled.
    state = ws.state()
    assert state["commit"] == post_commit
    assert state["posts"]["2026/launch"]["path"] == "posts/2026/launch.yaml"
    for alias, account_id in (("x", 1), ("li", 2)):
        record = ws.record("2026/launch", alias)
        assert (record["status"], record["post_id"], record["url"]) == (
            "published",
            sent["post_id"],
            urls[account_id],
        )
        assert (record["account_id"], record["revision"], record["step"]) == (account_id, 1, None)
        assert re.fullmatch(r"[0-9a-f]{64}", record["fingerprint"])

    # Intents pushed before the first request, results after; both skip CI.
    assert ws.log() == [
        "orshot: 2 published [skip ci]",
        "orshot: sending 2 post(s) [skip ci]",
        "post 2026/launch",
        "content repository",
    ]
    assert ws.message().splitlines()[2:] == [
        f"published  2026/launch → li  {urls[2]}",
        f"published  2026/launch → x  {urls[1]}",
    ]
    assert git(ws.root, "rev-parse", "origin/main") == ws.head()
    assert git(ws.remote, "rev-parse", "main") == ws.head()

    # Running again sends nothing, and adds no commit.
    before, head = ws.requests(), ws.head()
    again = ws.apply("--push")
    assert again.code == 0, again.output
    assert again.out == "Apply: nothing to send.\n"
    assert ws.requests() == before
    assert ws.head() == head
    quiet = ws.plan("--detailed-exitcode")
    assert (quiet.code, quiet.out) == (0, "Plan: no changes; 2 unchanged.\n")
    assert len(ws.sent()) == 1


# --- drafts -----------------------------------------------------------------------------------


def test_a_draft_is_edited_in_place_then_published_by_its_id(ws: Workspace) -> None:
    ws.post("2026/year", post_yaml("Our year: 1,204 launches.", ("li",), draft=True))
    assert ws.apply().code == 0
    [draft] = ws.sent()
    assert (draft["status"], draft["request"]["isDraft"]) == ("draft", True)
    assert ws.record("2026/year", "li")["status"] == "drafted"
    assert ws.record("2026/year", "li")["post_id"] == draft["post_id"]

    # Edited while still a draft: the same Orshot post changes.
    ws.post("2026/year", post_yaml("Our year: 1,205 launches.", ("li",), draft=True))
    assert actions(ws.plan_json()) == [("2026/year", "li", "edit")]
    run = ws.apply()
    assert run.code == 0, run.output
    assert len(ws.sent()) == 1
    assert ws.calls("PATCH /v1/social/posts/{id}") == 1
    held = ws.orshot_post(draft["post_id"])
    assert (held["status"], held["content"]) == ("draft", "Our year: 1,205 launches.")
    record = ws.record("2026/year", "li")
    assert (record["status"], record["post_id"]) == ("drafted", draft["post_id"])

    # `draft: false`: that very draft is published, by its id.
    ws.post("2026/year", post_yaml("Our year: 1,205 launches.", ("li",), draft=False))
    plan = ws.plan_json()
    assert actions(plan) == [("2026/year", "li", "publish-draft")]
    assert plan["actions"][0]["orshot_post_id"] == draft["post_id"]
    run = ws.apply()
    assert run.code == 0, run.output
    [published] = ws.sent()
    assert published["post_id"] == draft["post_id"]
    assert published["status"] == "published"
    assert ws.calls("POST /v1/social/publish") == 1
    assert ws.calls("POST /v1/social/posts/{id}/publish") == 1
    record = ws.record("2026/year", "li")
    assert (record["status"], record["post_id"], record["url"]) == (
        "published",
        draft["post_id"],
        published["platforms"][0]["url"],
    )
    assert ws.public() == [(2, "Our year: 1,204 launches.")]  # the log keeps the first request


# --- scheduled posts --------------------------------------------------------------------------


def test_a_scheduled_post_edited_before_it_fires_keeps_its_orshot_id(ws: Workspace) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", schedule=FUTURE))
    plan = ws.plan_json()
    assert actions(plan) == [("2026/webinar", "li", "schedule"), ("2026/webinar", "x", "schedule")]
    assert plan["actions"][0]["scheduled_for"] == "2099-01-05T09:00:00+00:00"
    assert ws.apply().code == 0
    [scheduled] = ws.sent()
    assert scheduled["status"] == "scheduled"
    assert ws.record("2026/webinar", "x")["scheduled_for"] == "2099-01-05T09:00:00+00:00"

    ws.post("2026/webinar", post_yaml("Webinar moved to Wednesday.", schedule=LATER))
    review = ws.plan()
    assert review.out.splitlines() == [
        "2026/webinar  (posts/2026/webinar.yaml)",
        "  ~ edit li (linkedin): still held by Orshot: reschedule for 2099-02-10 15:30 UTC, "
        "same Orshot post",
        "  ~ edit x (twitter): still held by Orshot: reschedule for 2099-02-10 15:30 UTC, "
        "same Orshot post",
        "Plan: 2 edit; 0 unchanged.",
    ]
    run = ws.apply()
    assert run.code == 0, run.output
    assert len(ws.sent()) == 1
    assert ws.calls("POST /v1/social/publish") == 1
    assert ws.calls("PATCH /v1/social/posts/{id}") == 2  # scheduling it, then the edit
    held = ws.orshot_post(scheduled["post_id"])
    assert (held["status"], held["content"], instant(held["scheduled_for"])) == (
        "scheduled",
        "Webinar moved to Wednesday.",
        datetime(2099, 2, 10, 15, 30, tzinfo=timezone.utc),
    )
    for alias in ("x", "li"):
        record = ws.record("2026/webinar", alias)
        assert (record["status"], record["post_id"], record["scheduled_for"]) == (
            "scheduled",
            scheduled["post_id"],
            "2099-02-10T15:30:00+00:00",
        )


def test_an_account_dropped_from_a_scheduled_post_is_taken_off_it(ws: Workspace) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("x", "li", "fb"), schedule=FUTURE))
    assert ws.apply().code == 0
    [scheduled] = ws.sent()

    # Review removes LinkedIn: the held post must not go out there (no prune needed: it is an
    # edit of a reviewed file, not a deleted one).
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("x", "fb"), schedule=FUTURE))
    review = ws.plan()
    assert review.out.splitlines() == [
        "2026/webinar  (posts/2026/webinar.yaml)",
        "  - discard li: no longer in this post's accounts: take it off the post Orshot still holds",
        "Plan: 1 discard; 2 unchanged.",
    ]
    run = ws.apply()
    assert run.code == 0, run.output
    held = ws.orshot_post(scheduled["post_id"])
    assert (held["status"], sorted(a["account_id"] for a in held["accounts"])) == (
        "scheduled",
        [1, 4],
    )
    assert sorted(ws.state()["posts"]["2026/webinar"]["accounts"]) == ["fb", "x"]
    assert ws.calls("DELETE /v1/social/posts/{id}") == 0
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."


def test_a_deleted_scheduled_post_is_only_warned_about_until_prune_discards_it(
    ws: Workspace,
) -> None:
    ws.post("evergreen/tip", post_yaml("Tip: pre-chill the fuel.", ("x",)))
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", schedule=FUTURE))
    assert ws.apply().code == 0
    assert statuses(ws) == {
        "Tip: pre-chill the fuel.": "published",
        "Webinar on Tuesday.": "scheduled",
    }

    ws.delete("2026/webinar")
    review = ws.plan("--detailed-exitcode")
    assert review.code == 0  # nothing to send
    warning = (
        "removed from the repository, but still scheduled for 2099-01-05 09:00 UTC: it WILL go "
        "out (set 'prune: true' in orshot.yaml to discard it)"
    )
    assert review.out.splitlines() == [
        "2026/webinar  (posts/2026/webinar.yaml)",
        f"  · removed li: {warning}",
        f"  · removed x: {warning}",
        "Plan: 2 removed; 1 unchanged.",
    ]
    before = ws.requests()
    run = ws.apply()
    assert run.code == 0, run.output
    assert ws.requests() == before
    assert statuses(ws)["Webinar on Tuesday."] == "scheduled"  # it will still go out

    ws.set_config(CONFIG + "prune: true\n")
    assert actions(ws.plan_json()) == [
        ("2026/webinar", "li", "discard"),
        ("2026/webinar", "x", "discard"),
    ]
    report = ws.apply_json()
    assert report["exit_code"] == 0
    assert outcomes(report) == [
        ("2026/webinar", "li", "discarded"),
        ("2026/webinar", "x", "discarded"),
    ]
    assert ws.calls("DELETE /v1/social/posts/{id}") == 1
    assert statuses(ws) == {
        "Tip: pre-chill the fuel.": "published",
        "Webinar on Tuesday.": "discarded",
    }
    assert sorted(ws.state()["posts"]) == ["evergreen/tip"]
    assert ws.plan("--detailed-exitcode").code == 0


def test_prune_refuses_a_plan_that_would_discard_everything(ws: Workspace) -> None:
    ws.set_config(CONFIG + "prune: true\n")
    ws.post("evergreen/tip", post_yaml("Tip: pre-chill the fuel.", ("x",)))
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("li",), schedule=FUTURE))
    assert ws.apply().code == 0

    # Every post file gone at once (a wrong posts_dir, a botched move): refuse, send nothing.
    ws.delete("evergreen/tip", "2026/webinar")
    review = ws.plan("--format", "json")
    assert review.code == 1
    [problem] = review.json()["diagnostics"]
    assert (problem["code"], problem["severity"], problem["path"]) == (
        "prune-everything",
        "error",
        "orshot.yaml",
    )
    before = ws.requests()
    run = ws.apply()
    assert run.code == 1
    assert "would discard" in run.out
    assert ws.requests() == before
    assert statuses(ws) == {
        "Tip: pre-chill the fuel.": "published",
        "Webinar on Tuesday.": "scheduled",
    }


def test_prune_discards_when_the_last_scheduled_post_goes_but_others_stay(ws: Workspace) -> None:
    """The guard is about the repository emptying, not about discarding the one held post."""
    ws.set_config(CONFIG + "prune: true\n")
    ws.post("evergreen/tip", post_yaml("Tip: pre-chill the fuel.", ("x",)))
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("li",), schedule=FUTURE))
    assert ws.apply().code == 0
    ws.delete("2026/webinar")
    assert actions(ws.plan_json()) == [("2026/webinar", "li", "discard")]
    assert ws.apply().code == 0
    assert statuses(ws) == {
        "Tip: pre-chill the fuel.": "published",
        "Webinar on Tuesday.": "discarded",
    }


# --- failures and retries ---------------------------------------------------------------------


def test_a_partial_failure_is_retried_for_the_failed_account_only(
    expired_li: Workspace, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    ws = expired_li
    ws.post("2026/launch", post_yaml("Launch day!"))
    run = ws.apply()
    assert run.code == 1
    assert (
        "failed: 2026/launch → li: Account token expired — reconnect required"
        in run.out.splitlines()
    )
    [first] = ws.sent()
    assert first["status"] == "partial"
    assert [(t["account_id"], t["status"]) for t in first["platforms"]] == [
        (2, "failed"),
        (1, "published"),
    ]
    li = ws.record("2026/launch", "li")
    assert (li["status"], li["action"], li["error"]) == (
        "failed",
        "reconnect",
        "Account token expired — reconnect required",
    )
    assert ws.record("2026/launch", "x")["status"] == "published"
    assert ws.message().startswith("orshot: 1 failed, 1 published [skip ci]")

    review = ws.plan()
    assert review.out.splitlines() == [
        "2026/launch  (posts/2026/launch.yaml)",
        "  ↻ retry li (linkedin): failed before: Account token expired — reconnect required; "
        "publish now, once Orshot reports the account reconnected (attempt 2)",
        "Plan: 1 retry; 1 unchanged.",
    ]
    # Orshot now reports it: held, nothing is sent, no new failed post.
    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(expired=(2,)), data_dir=tmp_path / "orshot-data"))
    run = ws.apply()
    assert run.code == 0, run.output
    assert "li needs reconnecting: 1 post held" in run.output
    assert len(ws.sent()) == 1

    reconnect_linkedin(ws, sandbox_factory, tmp_path)
    run = ws.apply()
    assert run.code == 0, run.output
    first_again, retry = ws.sent()
    assert first_again["post_id"] == first["post_id"]
    assert retry["request"]["accounts"] == [2]
    assert retry["status"] == "published"
    assert ws.public() == [(1, "Launch day!"), (2, "Launch day!")]
    li = ws.record("2026/launch", "li")
    assert (li["status"], li["post_id"], li["error"], li["action"]) == (
        "published",
        retry["post_id"],
        None,
        None,
    )
    assert ws.record("2026/launch", "x")["post_id"] == first["post_id"]
    assert ws.plan("--detailed-exitcode").code == 0


def test_a_render_is_done_once_and_its_output_reused_by_the_retry(
    expired_li: Workspace, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    ws = expired_li
    render = {"template": 123, "modifications": {"title": "{{ product }} 3.2"}, "format": "png"}
    ws.post("2026/release", post_yaml("Release 3.2 is out.", render=render))
    assert ws.apply().code == 1
    assert ws.calls("POST /v1/studio/render") == 1
    [first] = ws.sent()
    media = first["request"]["media_url"]
    assert media.startswith("http")
    assert ws.state()["posts"]["2026/release"]["render"]["media_urls"] == [media]

    reconnect_linkedin(ws, sandbox_factory, tmp_path)
    assert ws.apply().code == 0
    assert ws.calls("POST /v1/studio/render") == 0  # the new server's counters: no render
    _, retry = ws.sent()
    assert (retry["request"]["accounts"], retry["request"]["media_url"]) == ([2], media)
    assert ws.record("2026/release", "li")["status"] == "published"


# --- after publication ------------------------------------------------------------------------


def test_an_edit_after_publish_is_flagged_and_a_revision_bump_posts_it_again(
    ws: Workspace,
) -> None:
    ws.post("2026/launch", post_yaml("Launch day!"))
    assert ws.apply().code == 0

    ws.post("2026/launch", post_yaml("Launch day! (typo fixed)"))
    plan = ws.plan_json()
    assert actions(plan) == [
        ("2026/launch", "li", "changed-after-publish"),
        ("2026/launch", "x", "changed-after-publish"),
    ]
    assert {a["severity"] for a in plan["actions"]} == {"warning"}
    assert ws.plan("--detailed-exitcode").code == 0
    before = ws.requests()
    assert ws.apply().code == 0
    assert ws.requests() == before

    ws.post("2026/launch", post_yaml("Launch day! (typo fixed)", revision=2))
    plan = ws.plan_json()
    assert actions(plan) == [("2026/launch", "li", "publish"), ("2026/launch", "x", "publish")]
    assert plan["actions"][0]["reason"] == "revision 2 (was 1): publish now as a new post"
    run = ws.apply()
    assert run.code == 0, run.output
    first, second = ws.sent()
    assert (first["status"], first["request"]["content"]) == ("published", "Launch day!")
    assert second["request"]["accounts"] == [2, 1]
    assert ws.public() == [
        (1, "Launch day!"),
        (1, "Launch day! (typo fixed)"),
        (2, "Launch day!"),
        (2, "Launch day! (typo fixed)"),
    ]
    for alias in ("x", "li"):
        record = ws.record("2026/launch", alias)
        assert (record["revision"], record["post_id"], record["status"]) == (
            2,
            second["post_id"],
            "published",
        )
    assert ws.state()["posts"]["2026/launch"]["revision"] == 2
    before = ws.requests()
    assert ws.apply().code == 0
    assert ws.requests() == before


def test_a_moved_post_is_the_same_post_nothing_is_sent(ws: Workspace) -> None:
    ws.post("drafts/launch", post_yaml("Launch day!"))
    assert ws.apply().code == 0
    recorded = ws.state()["posts"]["drafts/launch"]

    ws.rename("drafts/launch", "2026/12/launch")
    review = ws.plan("--detailed-exitcode")
    assert review.code == 2  # the state changes, though nothing is sent
    assert review.out.splitlines()[1:3] == [
        "  → rename li: moved from posts/drafts/launch.yaml: the same post, nothing is sent",
        "  → rename x: moved from posts/drafts/launch.yaml: the same post, nothing is sent",
    ]
    before = ws.requests()
    report = ws.apply_json()
    assert report["exit_code"] == 0
    assert outcomes(report) == [
        ("2026/12/launch", "li", "renamed"),
        ("2026/12/launch", "x", "renamed"),
    ]
    assert ws.requests() == before
    posts = ws.state()["posts"]
    assert sorted(posts) == ["2026/12/launch"]
    assert posts["2026/12/launch"] == {**recorded, "path": "posts/2026/12/launch.yaml"}
    assert ws.plan("--detailed-exitcode").code == 0


def test_deleting_a_published_post_is_noted_and_nothing_is_sent(ws: Workspace) -> None:
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    assert ws.apply().code == 0
    ws.delete("2026/launch")
    review = ws.plan("--detailed-exitcode")
    assert (review.code, review.out.splitlines()) == (
        0,
        [
            "2026/launch  (posts/2026/launch.yaml)",
            "  · removed x: removed from the repository; live posts are not deleted",
            "Plan: 1 removed; 0 unchanged.",
        ],
    )
    before = ws.requests()
    assert ws.apply().code == 0
    assert ws.requests() == before
    assert ws.sent()[0]["status"] == "published"


def test_a_processing_post_is_synced_to_published_by_a_later_apply(ws: Workspace) -> None:
    ws.post(
        "2026/reel",
        post_yaml("Behind the scenes.", ("ig",), media_url="https://cdn.example.com/reel.jpg"),
    )
    report = ws.apply_json()
    assert (report["exit_code"], outcomes(report)) == (0, [("2026/reel", "ig", "processing")])
    assert ws.record("2026/reel", "ig")["status"] == "processing"

    assert actions(ws.plan_json()) == [("2026/reel", "ig", "sync")]
    report = ws.apply_json()
    assert (report["exit_code"], outcomes(report)) == (0, [("2026/reel", "ig", "published")])
    assert ws.calls("POST /v1/social/posts/{id}/sync") == 1
    [reel] = ws.sent()
    record = ws.record("2026/reel", "ig")
    assert (record["status"], record["url"]) == ("published", reel["platforms"][0]["url"])
    assert ws.plan("--detailed-exitcode").code == 0


# --- holding back -----------------------------------------------------------------------------


def test_paused_sends_nothing_until_unpaused(ws: Workspace) -> None:
    ws.set_config(CONFIG + "paused: true\n")
    ws.post("2026/launch", post_yaml("Launch day!"))
    review = ws.plan()
    assert review.out.splitlines()[-1] == (
        "Plan: 2 publish; 0 unchanged. PAUSED (orshot.yaml paused: true): apply will send nothing."
    )
    run = ws.apply()
    assert run.code == 0
    assert "paused (orshot.yaml paused: true): nothing was sent" in run.out
    assert ws.requests() == 0
    assert ws.sent() == []

    ws.set_config(CONFIG)
    assert ws.apply().code == 0
    assert len(ws.sent()) == 1


def test_a_post_whose_schedule_has_passed_is_an_error_and_is_not_sent(ws: Workspace) -> None:
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    ws.post("2020/old", post_yaml("Happy 2020!", ("x",), schedule="2020-01-01T09:00"))
    review = ws.plan("--detailed-exitcode")
    assert review.code == 1
    assert (
        "  ✗ past-schedule x (twitter): never sent, and its schedule for 2020-01-01 09:00 UTC "
        "has passed" in review.out.splitlines()
    )
    run = ws.apply()
    assert run.code == 1
    assert (
        "posts/2020/old.yaml: error: never sent, and its schedule for 2020-01-01 09:00 UTC "
        "has passed" in run.out.splitlines()
    )
    assert ws.public() == [(1, "Launch day!")]
    assert "2020/old" not in ws.state()["posts"]
    assert ws.plan("--detailed-exitcode").code == 1  # still reported, still not sent


# --- plans as values --------------------------------------------------------------------------


def test_plan_as_json_names_every_action_with_what_will_be_sent(ws: Workspace) -> None:
    head = ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    plan = ws.plan_json()
    assert {k: v for k, v in plan.items() if k not in ("actions", "created_at")} == {
        "version": 1,
        "head": head,
        "base_commit": None,
        "state_lineage": "",
        "state_serial": 0,
        "paused": False,
        "needs_reconnect": [],
        "full_rescan": "no reconciled commit recorded",
        "unchanged": 0,
        "summary": {"publish": 1},
        "diagnostics": [],
        "overrides": [],
        "batches": [],
    }
    [action] = plan["actions"]
    assert {k: action[k] for k in ("post_id", "path", "account", "account_id", "platform")} == {
        "post_id": "2026/launch",
        "path": "posts/2026/launch.yaml",
        "account": "x",
        "account_id": 1,
        "platform": "twitter",
    }
    assert (action["kind"], action["mode"], action["content"]) == (
        "create",
        "publish",
        "Launch day!",
    )
    assert (action["caption_length"], action["caption_limit"]) == (11, 280)


def test_a_saved_plan_is_applied_exactly_and_refused_once_stale(ws: Workspace) -> None:
    plan_file = ws.root.parent / "plan.json"
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    assert ws.plan("--out", str(plan_file)).code == 0
    run = ws.apply(str(plan_file))
    assert run.code == 0, run.output
    assert len(ws.sent()) == 1

    # HEAD moved since the plan was saved: what was reviewed is not what would be sent.
    ws.post("2026/teaser", post_yaml("Soon.", ("x",)))
    assert ws.plan("--out", str(plan_file)).code == 0
    ws.post("2026/other", post_yaml("Other.", ("x",)))
    before = ws.requests()
    run = ws.apply(str(plan_file))
    assert run.code == 1
    assert "the saved plan was made on commit" in run.err
    assert ws.requests() == before

    # The state moved (another apply ran) since the plan was saved.
    assert ws.plan("--out", str(plan_file)).code == 0
    assert ws.apply("--no-commit").code == 0
    before = ws.requests()
    run = ws.apply(str(plan_file))
    assert run.code == 1
    assert "the state changed since the plan was saved" in run.err
    assert ws.requests() == before
    assert ws.public() == [(1, "Launch day!"), (1, "Other."), (1, "Soon.")]


def test_detailed_exitcode_is_0_for_no_changes_2_for_changes_1_for_errors(ws: Workspace) -> None:
    assert ws.plan("--detailed-exitcode").code == 0
    ws.post("2026/launch", post_yaml("Launch day!", ("x",)))
    assert ws.plan("--detailed-exitcode").code == 2
    assert ws.plan().code == 0  # without the flag, changes are not a distinct exit code
    ws.post("2026/bad", post_yaml("To nowhere.", ("mastodon",)))
    bad = ws.plan("--detailed-exitcode")
    assert bad.code == 1
    assert "posts/2026/bad.yaml" in bad.out


# --- secrets and the network ------------------------------------------------------------------


def test_plan_needs_no_api_key_and_no_network(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.post("2026/launch", post_yaml("Launch day!"))
    monkeypatch.delenv("ORSHOT_API_KEY")
    monkeypatch.setenv("ORSHOT_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    review = ws.plan("--detailed-exitcode")
    assert review.code == 2
    assert review.out.splitlines()[-1] == "Plan: 2 publish; 0 unchanged."
    assert ws.requests() == 0


def test_the_api_key_appears_in_no_state_commit_or_output(
    expired_li: Workspace, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    ws = expired_li
    ws.post("2026/launch", post_yaml("Launch day!"))
    ws.post("2026/later", post_yaml("Later.", schedule=FUTURE))
    assert ws.apply("--push").code == 1
    reconnect_linkedin(ws, sandbox_factory, tmp_path)
    assert ws.apply("--push").code == 0
    ws.plan("--format", "json")
    ws.plan("--format", "markdown")
    assert ws.apply("--format", "json").code == 0

    state_text = json.dumps(ws.state())
    history = git(ws.root, "log", "-p", "--all")
    remote_history = git(ws.remote, "log", "-p", "--all")
    assert len(ws.all_output) == 5
    for text in (state_text, history, remote_history, *ws.all_output):
        assert API_KEY not in text
    assert json.loads(state_text)["posts"]["2026/launch"]["accounts"]["li"]["status"] == (
        "published"
    )
