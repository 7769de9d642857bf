"""An account Orshot reports as needing a reconnect (issue 14, item 7): nothing is sent to
it. Its posts are held — no Orshot post, no failure recorded, the reconciled commit not moved
past them — the plan, its JSON and the pull-request comment say so per account, a link from
`accounts --reconnect` reconnects it, and the next apply sends what was held. Real git, the
sandbox on loopback; its Posts Log is what went out.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import SandboxFactory
from reconcile_helpers import API_KEY, Workspace, actions, post_yaml, sandbox_config

FB = 4  # reconcile_helpers' `fb` account


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
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = Workspace(tmp_path, sandbox_factory(sandbox_config(expired=(FB,))), monkeypatch, capsys)
    base = ws.head()
    ws.post("2026/launch", post_yaml("Launch day!", ("x", "fb")))
    ws.post("2026/teaser", post_yaml("Teaser!", ("fb",)))

    plan = ws.plan()
    assert "fb needs reconnecting: 2 posts held" in plan.out
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


def test_without_a_key_plan_stays_offline_and_says_nothing_of_health(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = Workspace(tmp_path, sandbox_factory(sandbox_config(expired=(FB,))), monkeypatch, capsys)
    ws.post("2026/teaser", post_yaml("Teaser!", ("fb",)))
    before = ws.requests()
    monkeypatch.delenv("ORSHOT_API_KEY")
    data = ws.plan_json()
    assert actions(data) == [("2026/teaser", "fb", "publish")]
    assert data["needs_reconnect"] == []
    assert ws.requests() == before
