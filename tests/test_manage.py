"""status, adopt, resolve and refresh: the state by hand, against a real repo and the sandbox."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from conftest import SandboxFactory
from repo_fixtures import content_repo

from orshot_gitops.cli import main
from orshot_gitops.reconcile.manage import adopt
from orshot_gitops.sandbox import SandboxServer
from orshot_gitops.state.model import AccountStatus, Step
from orshot_gitops.state.store import load_state, write_state

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)
FAST = {"rate_limit": {"requests": 1000, "per_seconds": 60}, "processing_seconds": 3600}
POSTS = {
    "posts/launch.yaml": "accounts: [x, li]\ncontent: Launch day\n",
    "posts/photo.yaml": "accounts: [ig]\ncontent: A photo\nmedia_url: https://cdn.example/p.png\n",
}
CONFIG = "accounts:\n  x: {id: 1, platform: twitter}\n  li: {id: 2, platform: linkedin}\n  ig: {id: 3, platform: instagram}\n"


@pytest.fixture
def server(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """A fast sandbox, and the environment pointed at it as a user would."""
    started = sandbox_factory(FAST)
    monkeypatch.setenv("ORSHOT_BASE_URL", started.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", started.api_key)
    return started


def git_repo(root: Path) -> Path:
    content_repo(root, POSTS, config=CONFIG)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "posts"]):
        subprocess.run(["git", *command], cwd=root, check=True)
    return root


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_status_after_apply_then_refresh_settles_processing(
    tmp_path: Path, server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo(tmp_path / "repo")
    assert cli(capsys, "apply", "--repo", str(repo))[0] == 0

    code, out = cli(capsys, "status", "--repo", str(repo), "--format", "json")
    rows = {(r["post"], r["account"]): r["status"] for r in json.loads(out)}
    assert rows == {
        ("launch", "li"): "published",
        ("launch", "x"): "published",
        ("photo", "ig"): "processing",
    }

    # Instagram settles on Orshot's side; refresh reads it back and records it.
    server_state = load_state(repo)
    orshot_id = server_state.account("photo", "ig").post_id  # type: ignore[union-attr]
    httpx.post(
        f"{server.base_url}/v1/social/posts/{orshot_id}/sync",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30,
    )
    code, out = cli(capsys, "refresh", "--repo", str(repo))
    assert code == 0
    assert "photo → ig: processing in the state, published in Orshot" in out
    assert load_state(repo).account("photo", "ig").status is AccountStatus.PUBLISHED  # type: ignore[union-attr]


def test_adopt_records_without_sending_and_apply_then_sends_nothing(
    tmp_path: Path, server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo(tmp_path / "repo")
    code, out = cli(capsys, "adopt", "--repo", str(repo), "--all")
    assert code == 0
    assert out.splitlines()[:3] == [
        "adopted launch → x",
        "adopted launch → li",
        "adopted photo → ig",
    ]
    # adopt commits what it recorded: the tree is clean, the plan reads the commit.
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True)
    assert status.stdout == b""
    code, out = cli(capsys, "plan", "--repo", str(repo))
    assert "Plan: no changes; 3 unchanged." in out
    before = httpx_stats(server)
    assert cli(capsys, "apply", "--repo", str(repo))[0] == 0
    assert httpx_stats(server) == before  # not one request


def httpx_stats(server: SandboxServer) -> int:
    answer = httpx.get(
        f"{server.base_url}/_sandbox/stats",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30,
    )
    return int(answer.json()["requests"])


def test_resolve_settles_an_unknown_outcome_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo(tmp_path / "repo")
    state, _ = adopt(repo, load_state(repo), ["launch"], NOW)
    record = state.account("launch", "x")
    assert record is not None
    state = state.with_account(
        "launch", "x", replace(record, status=AccountStatus.UNKNOWN, step=Step.PUBLISH, post_id=7)
    )
    write_state(repo, state)
    code, out = cli(capsys, "resolve", "--repo", str(repo), "launch", "--as", "published")
    assert code == 0
    assert out.splitlines()[0] == "resolved launch → x: unknown → published"
    assert load_state(repo).account("launch", "x").status is AccountStatus.PUBLISHED  # type: ignore[union-attr]
    code, _ = cli(capsys, "resolve", "--repo", str(repo), "nope", "--as", "failed")
    assert code == 1
