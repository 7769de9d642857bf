"""An account Orshot reports as needing a reconnect (issue 14, item 7): nothing is sent to
it. Its posts are held — no Orshot post, no failure recorded, the reconciled commit not moved
past them — the plan, its JSON and the pull-request comment say so per account, a link from
`accounts --reconnect` reconnects it, and the next apply sends what was held. Real git, the
sandbox on loopback; its Posts Log is what went out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from conftest import SandboxFactory
from reconcile_helpers import API_KEY, Workspace, actions, git, post_yaml, sandbox_config

FB = 4  # reconcile_helpers' `fb` account


@pytest.fixture
def fb_held(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Workspace:
    """A workspace whose sandbox reports fb as needing a reconnect."""
    return Workspace(tmp_path, sandbox_factory(sandbox_config(expired=(FB,))), monkeypatch, capsys)


def _targets(ws: Workspace) -> list[int]:
    return sorted(int(t["account_id"]) for post in ws.sent() for t in post["platforms"])


def _complete(ws: Workspace, session_url: str) -> None:
    """The person follows the link and reconnects the account (the sandbox's test hook)."""
    session = session_url.rsplit("/", 1)[-1]
    response = httpx.post(
        f"{ws.sandbox.base_url}/_sandbox/connect-sessions/{session}/complete",
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30.0,
    )
    response.raise_for_status()


def test_posts_to_an_account_needing_a_reconnect_are_held_then_sent_once_it_is_reconnected(
    fb_held: Workspace,
) -> None:
    ws = fb_held
    base = ws.head()
    ws.post("2026/launch", post_yaml("Launch day!", ("x", "fb")))
    ws.post("2026/teaser", post_yaml("Teaser!", ("fb",)))

    plan = ws.plan()
    assert "fb needs reconnecting: 2 posts held" in plan.out
    assert "'orshot-gitops accounts --reconnect fb' prints a link" in plan.out  # to copy
    data = ws.plan_json()
    assert data["needs_reconnect"] == [{"account": "fb", "posts_held": 2}]
    assert sorted(actions(data)) == [
        ("2026/launch", "fb", "needs-reconnect"),
        ("2026/launch", "x", "publish"),
        ("2026/teaser", "fb", "needs-reconnect"),
    ]
    review = ws.plan("--format", "markdown").out
    assert "fb needs reconnecting: 2 posts held" in review

    for _ in range(2):  # held, not failed: no Orshot post, no failure, nothing retried
        run = ws.apply()
        assert run.code == 0, run.output
        assert "fb needs reconnecting: 2 posts held" in run.out
        assert _targets(ws) == [1]
    assert "--reconnect fb'" in ws.all_output[-2]  # the first apply, which sent x's post
    report = ws.apply_json()
    assert (report["exit_code"], report["needs_reconnect"]) == (
        0,
        [{"account": "fb", "posts_held": 2}],
    )
    assert _targets(ws) == [1]
    assert "fb" not in ws.state()["posts"]["2026/launch"]["accounts"]
    assert "2026/teaser" not in ws.state()["posts"]
    # The reconciled commit stays before the held posts: the next run's diff still sees them.
    assert ws.state().get("commit") in (None, base)

    link = ws.cli("accounts", "--reconnect", "fb", "--format", "json")
    assert link.code == 0, link.output
    assert link.json()["requires_reconnect"] is True
    _complete(ws, link.json()["url"])

    assert "needs reconnecting" not in ws.plan().out
    reconnected_at = ws.head()
    run = ws.apply()
    assert run.code == 0, run.output
    assert _targets(ws) == [1, FB, FB]
    assert ws.public() == [(1, "Launch day!"), (FB, "Launch day!"), (FB, "Teaser!")]
    assert ws.state()["commit"] == reconnected_at
    assert ws.record("2026/teaser", "fb")["status"] == "published"


def test_without_a_key_plan_stays_offline_and_says_nothing_of_health(fb_held: Workspace) -> None:
    ws = fb_held
    ws.post("2026/teaser", post_yaml("Teaser!", ("fb",)))
    before = ws.requests()
    ws.monkeypatch.delenv("ORSHOT_API_KEY")
    data = ws.plan_json()
    assert actions(data) == [("2026/teaser", "fb", "publish")]
    assert data["needs_reconnect"] == []
    assert ws.requests() == before


def _iso_in(hours: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_edit_of_a_post_shared_with_an_account_needing_a_reconnect_waits_for_it_whole(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One scheduled Orshot post holds x and fb: editing it for x alone would still change
    # what fb gets, so neither is edited until fb is reconnected.
    data = tmp_path / "orshot-data"
    ws = Workspace(tmp_path, sandbox_factory(sandbox_config(), data_dir=data), monkeypatch, capsys)
    when = _iso_in(3)
    ws.post("2026/sale", post_yaml("Sale soon", ("x", "fb"), schedule=when))
    assert ws.apply().code == 0
    before = {a: ws.record("2026/sale", a) for a in ("x", "fb")}
    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(expired=(FB,)), data_dir=data))
    ws.post("2026/sale", post_yaml("Sale soon: 20% off", ("x", "fb"), schedule=when))

    assert sorted(actions(ws.plan_json())) == [
        ("2026/sale", "fb", "needs-reconnect"),
        ("2026/sale", "x", "needs-reconnect"),
    ]
    run = ws.apply()
    assert run.code == 0, run.output
    assert ws.calls("PATCH /v1/social/posts/{id}") == 0
    assert {a: ws.record("2026/sale", a) for a in ("x", "fb")} == before

    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(), data_dir=data))  # reconnected in Orshot
    assert ws.apply().code == 0
    [post] = ws.sent()
    assert ws.orshot_post(int(post["post_id"]))["content"] == "Sale soon: 20% off"


def test_a_due_retry_to_an_account_that_now_needs_a_reconnect_is_held_not_counted(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "orshot-data"
    limited = sandbox_config()
    limited["accounts"] = [
        {**a, "platform_rate_limited": a["id"] == FB}  # type: ignore[dict-item]
        for a in limited["accounts"]  # type: ignore[attr-defined]
    ]
    ws = Workspace(tmp_path, sandbox_factory(limited, data_dir=data), monkeypatch, capsys)
    ws.post("2026/launch", post_yaml("Launch day!", ("x", "fb")))
    assert ws.apply().code == 1
    state = ws.state()
    state["posts"]["2026/launch"]["accounts"]["fb"]["next_try_at"] = "2000-01-01T00:00:00+00:00"
    ws.write_state(state)
    passed = ws.commit("time passes")
    record = ws.record("2026/launch", "fb")
    ws.sandbox.stop()
    ws.use(sandbox_factory(sandbox_config(expired=(FB,)), data_dir=data))

    run = ws.apply("--push")
    assert run.code == 0, run.output
    assert "fb needs reconnecting: 1 post held" in run.output
    assert len(ws.sent()) == 1
    assert ws.record("2026/launch", "fb") == record  # no attempt counted, nothing marked
    assert "→ fb" not in git(ws.root, "log", "--format=%B", f"{passed}..origin/main")


def test_a_saved_plan_holds_what_it_showed_held_and_what_is_unhealthy_at_apply(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "orshot-data"
    ws = Workspace(
        tmp_path, sandbox_factory(sandbox_config(expired=(FB,)), data_dir=data), monkeypatch, capsys
    )
    ws.post("2026/teaser", post_yaml("Teaser!", ("x", "fb")))
    held = tmp_path / "held.json"
    assert ws.plan("--out", str(held)).code == 0
    run = ws.apply(str(held))
    assert run.code == 0, run.output
    assert _targets(ws) == [1]

    # Saved offline (no key: no health), applied while fb still needs a reconnect: held too.
    ws.post("2026/more", post_yaml("More!", ("fb",)))
    offline = tmp_path / "offline.json"
    with monkeypatch.context() as m:
        m.delenv("ORSHOT_API_KEY")
        assert ws.plan("--out", str(offline)).code == 0
    run = ws.apply(str(offline))
    assert run.code == 0, run.output
    assert _targets(ws) == [1]
    assert "fb needs reconnecting: 2 posts held" in run.output


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("nope", "no account named 'nope' in orshot.yaml"),
        ("99", "Orshot has no account 99 in this workspace"),
    ],
)
def test_reconnect_names_an_unknown_account_in_one_line(
    ws: Workspace, alias: str, message: str
) -> None:
    run = ws.cli("accounts", "--reconnect", alias)
    assert run.code == 1
    assert message in run.err
    assert "Traceback" not in run.output
    assert API_KEY not in run.output
    assert ws.calls("POST /v1/social/connect-sessions") == 0


def test_reconnect_prints_a_link_and_the_sandbox_checks_the_session_request(
    fb_held: Workspace,
) -> None:
    ws = fb_held
    run = ws.cli("accounts", "--reconnect", "fb")
    assert run.code == 0, run.output
    assert run.out.startswith("Reconnect fb (facebook, id 4): open\n  https://")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    url = f"{ws.sandbox.base_url}/v1/social/connect-sessions"
    wrong = {"platform": "linkedin", "reconnect_account_id": FB, "return_url": "https://a.example"}
    assert httpx.post(url, json=wrong, headers=headers, timeout=30).status_code == 400
    missing = {"platform": "facebook", "reconnect_account_id": 77}
    assert httpx.post(url, json=missing, headers=headers, timeout=30).status_code == 404


def test_a_post_moved_while_an_account_is_held_stays_the_same_post(fb_held: Workspace) -> None:
    """The model-based test found it: x published, fb held, then the file moves. The recorded
    commit is older than the post (held posts keep it back), so git shows no move; the post
    matches its old record on every recorded account, so it is the same post moved: x is not
    sent again, fb stays held, and nothing is called ambiguous."""
    ws = fb_held
    ws.post("2026/launch", post_yaml("Launch day!", ("x", "fb")))
    assert ws.apply().code == 0
    ws.rename("2026/launch", "moved/launch")
    assert sorted(actions(ws.plan_json())) == [
        ("moved/launch", "fb", "needs-reconnect"),
        ("moved/launch", "x", "rename"),
    ]
    assert ws.apply().code == 0
    assert _targets(ws) == [1]  # x once; fb still held


def test_a_first_apply_that_holds_a_post_still_records_how_far_it_reconciled(
    fb_held: Workspace,
) -> None:
    """The model test's find: fb needed a reconnect from the very first apply, so no commit
    was ever recorded; a post deleted and another added later could then not be told from a
    move, and the new one was held as ambiguous, never sent. The commit before the held
    post's change is recorded instead: the diff from it still names the held post."""
    ws = fb_held
    config_commit = ws.head()
    ws.post("2026/launch", post_yaml("Launch day!", accounts=("x", "fb")))
    ws.post("2026/teaser", post_yaml("Teaser!", accounts=("x",)))
    assert ws.apply().code == 0
    assert _targets(ws) == [1, 1]
    assert ws.state()["commit"] == config_commit  # before launch.yaml, the held post's file
    ws.delete("2026/teaser")
    ws.post("2026/next", post_yaml("Next!", accounts=("x",)))
    kinds = sorted(actions(ws.plan_json()))
    assert ("2026/next", "x", "publish") in kinds
    assert ("2026/launch", "fb", "needs-reconnect") in kinds
    run = ws.apply()
    assert run.code == 0, run.output
    assert sorted(ws.public()) == [(1, "Launch day!"), (1, "Next!"), (1, "Teaser!")]

    link = ws.cli("accounts", "--reconnect", "fb", "--format", "json")
    _complete(ws, link.json()["url"])
    assert ws.apply().code == 0
    assert (FB, "Launch day!") in ws.public()
    assert len(ws.sent()) == 4
    assert ws.state()["commit"] != config_commit
