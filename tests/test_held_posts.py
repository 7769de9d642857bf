"""Posts Orshot still holds (scheduled, or drafts), edited after review: each account gets
exactly what its file now says, and the state records each account from its own answer.

The stories of issue 11: one account's caption of a shared scheduled post diverges (split it,
never drop the others), one account's token expired (record that account failed, never
"scheduled" because the post as a whole is), and `platform_options` change on a held post
(PATCH cannot carry them: replace the post, new draft first, then the old one discarded).
The sandbox's Posts Log is the ground truth.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock, SandboxFactory
from fault_helpers import Gate, assert_no_orphan_drafts, assert_no_public_duplicates, converge
from fault_helpers import apply as apply_process
from reconcile_helpers import API_KEY, CONFIG, Workspace, post_yaml, sandbox_config

from orshot_gitops.state.store import load_state

FUTURE = "2099-01-05T09:00"
SHARED = "Webinar on Tuesday."
LI_EDITED = (
    'Webinar on Tuesday.{% if platform == "linkedin" %} Agenda and slides inside.{% endif %}'
)
PATCH = "PATCH /v1/social/posts/{id}"
DELETE = "DELETE /v1/social/posts/{id}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "orshot-data"


@pytest.fixture
def ws(
    tmp_path: Path,
    data_dir: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workspace]:
    sandbox = sandbox_factory(sandbox_config(), data_dir=data_dir)
    yield Workspace(tmp_path, sandbox, monkeypatch, capsys)


def restart(ws: Workspace, sandbox_factory: SandboxFactory, data_dir: Path, **config: Any) -> None:
    """The same Orshot workspace (the same Posts Log), its accounts' health changed."""
    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(**config), data_dir=data_dir))


def targets(ws: Workspace, post_id: int) -> dict[int, str]:
    """{account id: status} of one Orshot post, as the API shows it now."""
    return {a["account_id"]: a["status"] for a in ws.orshot_post(post_id)["accounts"]}


def live_posts(ws: Workspace) -> list[dict[str, Any]]:
    return [p for p in ws.sent() if p["status"] not in ("draft", "discarded")]


def patch_directly(ws: Workspace, post_id: int, body: dict[str, Any]) -> None:
    """A change made in Orshot's dashboard, behind the repository's back."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    url = f"{ws.sandbox.base_url}/v1/social/posts/{post_id}"
    httpx.patch(url, headers=headers, json=body, timeout=30).raise_for_status()


# --- item 3: one account's caption diverges ---------------------------------------------------


def test_one_accounts_caption_edited_on_a_scheduled_post_splits_it_and_keeps_the_other(
    ws: Workspace,
) -> None:
    ws.post("2026/webinar", post_yaml(SHARED, schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()
    assert targets(ws, shared["post_id"]) == {1: "scheduled", 2: "scheduled"}

    ws.post("2026/webinar", post_yaml(LI_EDITED, schedule=FUTURE))
    review = ws.plan()
    assert review.out.splitlines()[1:] == [
        "  ~ edit li (linkedin): still held by Orshot: its caption now differs from the other "
        f"accounts': a post of its own (a new draft, then taken off Orshot post {shared['post_id']})",
        "Plan: 1 edit; 1 unchanged.",
    ]
    run = ws.apply()
    assert run.code == 0, run.output

    # X keeps the post it was scheduled on, with its caption; LinkedIn has a post of its own.
    kept = ws.orshot_post(shared["post_id"])
    assert (kept["status"], kept["content"], targets(ws, shared["post_id"])) == (
        "scheduled",
        "Webinar on Tuesday.",
        {1: "scheduled"},
    )
    [own] = [p for p in ws.sent() if p["post_id"] != shared["post_id"]]
    assert (own["status"], own["request"]["content"], targets(ws, own["post_id"])) == (
        "scheduled",
        "Webinar on Tuesday. Agenda and slides inside.",
        {2: "scheduled"},
    )
    x, li = ws.record("2026/webinar", "x"), ws.record("2026/webinar", "li")
    assert (x["status"], x["post_id"]) == ("scheduled", shared["post_id"])
    assert (li["status"], li["post_id"], li.get("replaces")) == ("scheduled", own["post_id"], None)
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."
    assert_no_orphan_drafts(ws.sandbox, load_state(ws.root))


def test_both_captions_edited_apart_keep_one_group_on_the_post_and_split_the_other(
    ws: Workspace,
) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("x", "li", "fb"), schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()

    text = 'Webinar moved.{% if platform == "linkedin" %} Slides inside.{% endif %}'
    ws.post("2026/webinar", post_yaml(text, ("x", "li", "fb"), schedule=FUTURE))
    run = ws.apply()
    assert run.code == 0, run.output
    held = ws.orshot_post(shared["post_id"])
    assert (held["content"], targets(ws, shared["post_id"])) == (
        "Webinar moved.",
        {1: "scheduled", 4: "scheduled"},
    )
    [own] = [p for p in ws.sent() if p["post_id"] != shared["post_id"]]
    assert (own["request"]["content"], targets(ws, own["post_id"])) == (
        "Webinar moved. Slides inside.",
        {2: "scheduled"},
    )
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 3 unchanged."


def test_refresh_reads_each_accounts_own_status_not_the_posts(ws: Workspace) -> None:
    ws.post("2026/webinar", post_yaml(SHARED, schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()
    # X taken off the post in the dashboard: Orshot's post is still scheduled, for LinkedIn only.
    patch_directly(ws, shared["post_id"], {"accounts": [2]})

    run = ws.cli("refresh")
    assert run.code == 0, run.output
    x = ws.record("2026/webinar", "x")
    assert x["status"] == "failed", x
    assert f"not on Orshot post {shared['post_id']}" in x["error"]
    assert ws.record("2026/webinar", "li")["status"] == "scheduled"
    # The plan sends X again, on a post of its own.
    assert "retry x" in ws.plan().out


# --- item 4: one account's token expired ------------------------------------------------------


@pytest.fixture
def expired_li(
    tmp_path: Path,
    data_dir: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workspace]:
    sandbox = sandbox_factory(sandbox_config(expired=(2,), noticed=False), data_dir=data_dir)
    yield Workspace(tmp_path, sandbox, monkeypatch, capsys)


def test_scheduling_with_one_expired_token_records_that_account_failed(
    expired_li: Workspace, sandbox_factory: SandboxFactory, data_dir: Path
) -> None:
    ws = expired_li
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", schedule=FUTURE))
    run = ws.apply()
    assert run.code == 1, run.output
    [post] = ws.sent()
    assert targets(ws, post["post_id"]) == {1: "scheduled", 2: "failed"}
    li = ws.record("2026/webinar", "li")
    assert (li["status"], li["action"], li["error"]) == (
        "failed",
        "reconnect",
        "Account token expired — reconnect required",
    )
    assert ws.record("2026/webinar", "x")["status"] == "scheduled"
    failed = ws.cli("status", "--failed")
    assert "2026/webinar" in failed.out and "li" in failed.out, failed.output

    # Reconnected: LinkedIn alone is scheduled again, on a post of its own; X is untouched.
    restart(ws, sandbox_factory, data_dir)
    run = ws.apply()
    assert run.code == 0, run.output
    assert targets(ws, post["post_id"]) == {1: "scheduled", 2: "failed"}
    [retry] = [p for p in ws.sent() if p["post_id"] != post["post_id"]]
    assert targets(ws, retry["post_id"]) == {2: "scheduled"}
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."


def test_an_edit_while_one_token_expired_records_that_account_failed(
    ws: Workspace, sandbox_factory: SandboxFactory, data_dir: Path
) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", schedule=FUTURE))
    assert ws.apply().code == 0
    [post] = ws.sent()
    restart(ws, sandbox_factory, data_dir, expired=(2,), noticed=False)

    ws.post("2026/webinar", post_yaml("Webinar moved to Wednesday.", schedule=FUTURE))
    run = ws.apply()
    assert run.code == 1, run.output
    assert targets(ws, post["post_id"]) == {1: "scheduled", 2: "failed"}
    assert ws.record("2026/webinar", "li")["status"] == "failed"
    assert ws.record("2026/webinar", "x")["status"] == "scheduled"


# --- item 6: options on a held post -----------------------------------------------------------


def test_changed_options_on_a_scheduled_post_replace_it(ws: Workspace) -> None:
    first = {"li": {"firstComment": "Agenda: acme.com/webinar"}}
    ws.post(
        "2026/webinar", post_yaml("Webinar on Tuesday.", schedule=FUTURE, platform_options=first)
    )
    assert ws.apply().code == 0
    [old] = ws.sent()

    changed = {"li": {"firstComment": "Slides: acme.com/slides"}}
    ws.post(
        "2026/webinar", post_yaml("Webinar on Tuesday.", schedule=FUTURE, platform_options=changed)
    )
    review = ws.plan()
    assert (
        "  ~ edit li (linkedin): still held by Orshot: its platform_options changed, which Orshot "
        f"cannot edit: a post of its own (a new draft, then taken off Orshot post {old['post_id']})"
    ) in review.out.splitlines(), review.out
    run = ws.apply()
    assert run.code == 0, run.output

    [new] = [p for p in ws.sent() if p["post_id"] != old["post_id"]]
    assert new["request"]["platformOptions"] == {"2": {"firstComment": "Slides: acme.com/slides"}}
    assert targets(ws, new["post_id"]) == {2: "scheduled"}
    assert targets(ws, old["post_id"]) == {1: "scheduled"}  # X's options did not change
    assert ws.record("2026/webinar", "li")["post_id"] == new["post_id"]
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."
    assert_no_orphan_drafts(ws.sandbox, load_state(ws.root))


def test_changed_options_for_every_account_discard_the_old_post_after_the_new_draft(
    ws: Workspace,
) -> None:
    ws.post("2026/webinar", post_yaml("Webinar.", ("li",), schedule=FUTURE))
    assert ws.apply().code == 0
    options = {"li": {"firstComment": "Slides: acme.com/slides"}}
    ws.post(
        "2026/webinar", post_yaml("Webinar.", ("li",), schedule=FUTURE, platform_options=options)
    )
    run = ws.apply()
    assert run.code == 0, run.output
    log = ws.sent()
    assert [p["status"] for p in log] == ["discarded", "scheduled"]
    assert log[1]["request"]["platformOptions"] == {
        "2": {"firstComment": "Slides: acme.com/slides"}
    }
    assert ws.calls(DELETE) == 1
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 1 unchanged."


# --- crash points of a split --------------------------------------------------------------------

SPLIT_CRASHES = [
    "after-intent",
    "after-draft",
    "before-retire",
    "after-retire",
    "between-phases",
    "after-intent:2",
]


@pytest.mark.parametrize("crash_at", SPLIT_CRASHES)
def test_a_split_killed_at_each_point_leaves_the_truth_and_converges(
    ws: Workspace, crash_at: str
) -> None:
    ws.post("2026/webinar", post_yaml(SHARED, schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()
    ws.post("2026/webinar", post_yaml(LI_EDITED, schedule=FUTURE))

    crashed = apply_process(ws.root, ws.sandbox, crash_at=crash_at)
    assert crashed.killed, crashed.describe()
    state = load_state(ws.root)
    li = state.account("2026/webinar", "li")
    assert li is not None
    # LinkedIn is on at most one post that will fire, and the record names every post that may.
    firing = [
        p["post_id"]
        for p in ws.sent()
        if p["status"] == "scheduled"
        and any(t["account_id"] == 2 and t["status"] == "scheduled" for t in p["platforms"])
    ]
    assert len(firing) <= 1, ws.sent()
    named = {li.post_id, li.replaces}
    assert set(firing) <= named, (firing, li)
    assert targets(ws, shared["post_id"]).get(1) == "scheduled"  # X is never dropped

    converge(ws.root, ws.sandbox)
    assert_no_public_duplicates(ws.sandbox)
    assert_no_orphan_drafts(ws.sandbox, load_state(ws.root))
    assert targets(ws, shared["post_id"]) == {1: "scheduled"}
    [own] = [
        p for p in ws.sent() if p["post_id"] != shared["post_id"] and p["status"] != "discarded"
    ]
    assert (own["request"]["content"], targets(ws, own["post_id"])) == (
        "Webinar on Tuesday. Agenda and slides inside.",
        {2: "scheduled"},
    )
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."
    assert json.dumps(ws.state()).count(API_KEY) == 0


def firing_for(ws: Workspace, account_id: int) -> list[int]:
    """Posts that will go out for this account when their time comes."""
    return [
        p["post_id"]
        for p in ws.sent()
        if p["status"] == "scheduled"
        and any(
            t["account_id"] == account_id and t["status"] == "scheduled" for t in p["platforms"]
        )
    ]


@pytest.mark.parametrize("crash_at", SPLIT_CRASHES)
def test_a_replacement_killed_at_each_point_leaves_the_truth_and_converges(
    ws: Workspace, crash_at: str
) -> None:
    """LinkedIn alone on the held post, its options changed: the old post is discarded after
    the new draft exists; killed anywhere, LinkedIn is on one firing post at most, named."""
    ws.post("2026/briefing", post_yaml("Briefing.", ("li",), schedule=FUTURE))
    assert ws.apply().code == 0
    [old] = ws.sent()
    options = {"li": {"firstComment": "Slides: acme.com/slides"}}
    ws.post(
        "2026/briefing", post_yaml("Briefing.", ("li",), schedule=FUTURE, platform_options=options)
    )

    crashed = apply_process(ws.root, ws.sandbox, crash_at=crash_at)
    assert crashed.killed, crashed.describe()
    li = load_state(ws.root).account("2026/briefing", "li")
    assert li is not None
    firing = firing_for(ws, 2)
    assert len(firing) <= 1, ws.sent()
    assert set(firing) <= {li.post_id, li.replaces}, (firing, li)

    converge(ws.root, ws.sandbox)
    assert_no_public_duplicates(ws.sandbox)
    assert_no_orphan_drafts(ws.sandbox, load_state(ws.root))
    log = ws.sent()
    assert log[0]["post_id"] == old["post_id"] and log[0]["status"] == "discarded"
    [new] = [p for p in log if p["status"] == "scheduled"]
    assert new["request"]["platformOptions"] == {"2": {"firstComment": "Slides: acme.com/slides"}}
    assert firing_for(ws, 2) == [new["post_id"]]
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 1 unchanged."


def test_the_accounts_that_stay_on_a_split_post_are_recorded_from_its_answer(
    ws: Workspace, sandbox_factory: SandboxFactory, data_dir: Path
) -> None:
    """Taking LinkedIn off the held post re-targets it: Orshot checks the accounts that stay
    again, and Facebook's token has expired since. Its record must say so."""
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("x", "li", "fb"), schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()
    restart(ws, sandbox_factory, data_dir, expired=(4,), noticed=False)

    ws.post("2026/webinar", post_yaml(LI_EDITED, ("x", "li", "fb"), schedule=FUTURE))
    run = ws.apply()
    assert targets(ws, shared["post_id"]) == {1: "scheduled", 4: "failed"}
    fb = ws.record("2026/webinar", "fb")
    assert (fb["status"], fb["action"]) == ("failed", "reconnect"), fb
    assert run.code == 1, run.output
    assert ws.record("2026/webinar", "x")["status"] == "scheduled"


def test_a_dropped_account_taken_off_a_held_post_leaves_the_others_recorded_truly(
    ws: Workspace, sandbox_factory: SandboxFactory, data_dir: Path
) -> None:
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("x", "li", "fb"), schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()
    restart(ws, sandbox_factory, data_dir, expired=(4,), noticed=False)

    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("x", "fb"), schedule=FUTURE))
    run = ws.apply()
    assert targets(ws, shared["post_id"]) == {1: "scheduled", 4: "failed"}
    assert ws.record("2026/webinar", "fb")["status"] == "failed"
    assert run.code == 1, run.output


@pytest.mark.parametrize("draft_after", [True, False])
def test_changed_options_on_a_users_draft_replace_it(ws: Workspace, draft_after: bool) -> None:
    ws.post("2026/webinar", post_yaml("Webinar.", ("x", "li"), draft=True))
    assert ws.apply().code == 0
    [old] = ws.sent()
    options = {"li": {"firstComment": "Slides: acme.com/slides"}}
    text = post_yaml("Webinar.", ("x", "li"), draft=draft_after, platform_options=options)
    ws.post("2026/webinar", text)
    review = ws.plan()
    run = ws.apply()
    assert run.code == 0, run.output
    new = [p for p in ws.sent() if p["post_id"] != old["post_id"]]
    assert [p["request"].get("platformOptions") for p in new] == [
        {"2": {"firstComment": "Slides: acme.com/slides"}}
    ]
    if draft_after:
        # X is untouched: it stays on the old draft; LinkedIn alone gets a new one.
        assert targets(ws, new[0]["post_id"]) == {2: "draft"}
        assert targets(ws, old["post_id"]) == {1: "draft"}
        assert "x (twitter)" not in review.out
    else:
        # Both are published now, and X shares LinkedIn's payload: both move to the new post
        # and the old draft is discarded.
        assert targets(ws, new[0]["post_id"]) == {1: "published", 2: "published"}
        assert ws.sent()[0]["status"] == "discarded"
        assert (
            "x (twitter): draft: false now: it shares its post with li, whose platform_options "
            "changed, which Orshot cannot edit: a post of its own (a new draft, then taken off "
            f"Orshot post {old['post_id']})"
        ) in review.out, review.out
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."
    assert_no_orphan_drafts(ws.sandbox, load_state(ws.root))


def test_in_ci_an_account_dropped_while_the_others_are_edited_keeps_the_post_for_them(
    ws: Workspace,
) -> None:
    """With --push every edit is marked pending before the first request; taking the dropped
    account off the held post must still name the edited ones as staying on it."""
    ws.post("2026/webinar", post_yaml("Webinar on Tuesday.", ("x", "li", "fb"), schedule=FUTURE))
    assert ws.apply("--push").code == 0
    [shared] = ws.sent()

    ws.post("2026/webinar", post_yaml("Webinar moved to Wednesday.", ("x", "fb"), schedule=FUTURE))
    run = ws.apply("--push")
    assert run.code == 0, run.output
    held = ws.orshot_post(shared["post_id"])
    assert (held["status"], held["content"], targets(ws, shared["post_id"])) == (
        "scheduled",
        "Webinar moved to Wednesday.",
        {1: "scheduled", 4: "scheduled"},
    )
    assert len(ws.sent()) == 1
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."


def test_a_held_post_that_fires_before_the_split_finishes_is_what_the_account_got(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    fake_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The held post's time comes while LinkedIn's new draft is being made: the old caption
    went out on it. That is recorded, the new draft is discarded, nothing goes out twice."""
    ws = Workspace(
        tmp_path, sandbox_factory(sandbox_config(), clock=fake_clock), monkeypatch, capsys
    )
    ws.post("2026/webinar", post_yaml(SHARED, schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()
    ws.post("2026/webinar", post_yaml(LI_EDITED, schedule=FUTURE))

    fires = datetime(2099, 1, 5, 9, 1, tzinfo=timezone.utc).timestamp()
    gate = Gate(ws.sandbox)
    try:
        gate.after("POST /v1/social/publish", lambda: fake_clock.advance(fires - fake_clock()))
        run = ws.apply()
    finally:
        gate.close()

    assert targets(ws, shared["post_id"]) == {1: "published", 2: "published"}
    assert [p["status"] for p in ws.sent()] == ["published", "discarded"]
    li = ws.record("2026/webinar", "li")
    assert (li["status"], li["post_id"], li.get("replaces")) == (
        "published",
        shared["post_id"],
        None,
    )
    assert li["url"]
    assert run.code == 0, run.output
    assert_no_public_duplicates(ws.sandbox)
    # What went out is not what the file says now: a plan that compiles it (here after a
    # change to orshot.yaml) says so, and sends nothing.
    ws.set_config(CONFIG + "# touched\n")
    review = ws.plan().out
    assert "changed-after-publish li" in review, review
    assert "changed-after-publish x" not in review, review


@pytest.mark.parametrize("crash_at", ["after-draft", "before-retire", "after-retire"])
def test_a_draft_replacement_killed_is_finished_by_the_next_run(
    ws: Workspace, crash_at: str
) -> None:
    """A draft the user keeps as a draft, its options changed: after a crash the next run
    adopts the new draft, then takes the account off the old one (the move is unfinished
    until then, and the plan says so)."""
    ws.post("2026/notes", post_yaml("Notes.", ("li",), draft=True))
    assert ws.apply().code == 0
    [old] = ws.sent()
    options = {"li": {"firstComment": "More at acme.com"}}
    ws.post("2026/notes", post_yaml("Notes.", ("li",), draft=True, platform_options=options))

    crashed = apply_process(ws.root, ws.sandbox, crash_at=crash_at)
    assert crashed.killed, crashed.describe()
    converge(ws.root, ws.sandbox)
    log = ws.sent()
    assert [(p["post_id"], p["status"]) for p in log] == [
        (old["post_id"], "discarded"),
        (old["post_id"] + 1, "draft"),
    ]
    li = ws.record("2026/notes", "li")
    assert (li["status"], li["post_id"], li.get("replaces")) == ("drafted", log[1]["post_id"], None)
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 1 unchanged."


def test_refresh_changes_nothing_when_orshot_names_no_accounts(ws: Workspace) -> None:
    """An answer whose accounts carry no ids says nothing about any account: refresh must not
    take that as "taken off the post" (the plan would send it again)."""
    ws.post("2026/webinar", post_yaml(SHARED, schedule=FUTURE))
    assert ws.apply().code == 0
    before = ws.state()
    app = ws.sandbox.app
    handle = app.handle

    def without_account_ids(method: str, target: str, auth: str | None, body: bytes) -> Any:
        reply = handle(method, target, auth, body)
        if method == "GET" and "/social/posts/" in target:
            post = dict(reply.body["data"])
            post["accounts"] = [
                {k: v for k, v in a.items() if k != "account_id"} for a in post["accounts"]
            ]
            reply = dataclasses.replace(reply, body={"data": post})
        return reply

    app.handle = without_account_ids
    try:
        run = ws.cli("refresh")
    finally:
        app.handle = handle
    assert run.code == 0, run.output
    assert ws.state()["posts"] == before["posts"]
    assert "read without its accounts" in run.output


def test_a_split_whose_retire_answer_is_lost_converges(ws: Workspace) -> None:
    ws.post("2026/webinar", post_yaml(SHARED, schedule=FUTURE))
    assert ws.apply().code == 0
    [shared] = ws.sent()
    ws.post("2026/webinar", post_yaml(LI_EDITED, schedule=FUTURE))
    gate = Gate(ws.sandbox)
    try:
        gate.drop_next(PATCH, count=3)  # the retire, and the client's own retries of it
        ws.apply()
    finally:
        gate.close()
    li = load_state(ws.root).account("2026/webinar", "li")
    assert li is not None
    firing = firing_for(ws, 2)
    assert len(firing) <= 1 and set(firing) <= {li.post_id, li.replaces}, (firing, li)

    converge(ws.root, ws.sandbox)
    assert_no_public_duplicates(ws.sandbox)
    assert_no_orphan_drafts(ws.sandbox, load_state(ws.root))
    assert targets(ws, shared["post_id"]) == {1: "scheduled"}
    assert firing_for(ws, 2) != [shared["post_id"]]
    assert len(firing_for(ws, 2)) == 1
    assert ws.plan().out.splitlines()[-1] == "Plan: no changes; 2 unchanged."
