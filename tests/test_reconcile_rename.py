"""A moved post is the same post, even when git cannot say so (history rewritten)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import SandboxFactory
from repo_fixtures import content_repo

from orshot_gitops.cli import main
from tests.reconcile_helpers import Workspace, actions, post_yaml

CONFIG = "accounts:\n  x: {id: 1, platform: twitter}\n  li: {id: 2, platform: linkedin}\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def plan_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["plan", "--repo", str(repo), "--format", "json"]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_move_after_a_force_push_is_a_rename_not_a_new_post(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = sandbox_factory({"rate_limit": {"requests": 1000, "per_seconds": 60}})
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", server.api_key)
    repo = content_repo(
        tmp_path / "repo",
        {"posts/launch.yaml": "accounts: [x, li]\ncontent: We launched\n"},
        CONFIG,
    )
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "launch")
    assert main(["apply", "--repo", str(repo)]) == 0
    capsys.readouterr()

    # History rewritten: a fresh root commit where the post lives elsewhere.
    git(repo, "checkout", "-q", "--orphan", "rewritten")
    (repo / "posts/2026").mkdir()
    git(repo, "mv", "posts/launch.yaml", "posts/2026/launch.yaml")
    git(repo, "commit", "-qm", "reorganise")

    plan = plan_json(repo, capsys)
    actions = plan["actions"]
    assert isinstance(actions, list)
    assert [(a["post_id"], a["account"], a["kind"]) for a in actions] == [
        ("2026/launch", "li", "rename"),
        ("2026/launch", "x", "rename"),
    ]
    assert "not an ancestor" in str(plan["full_rescan"])


def test_a_move_then_a_rewrite_before_the_next_apply_is_not_published_again(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Found by the model test: moved in one commit, rewritten in the next, applied once.
    The diff of the whole range cannot pair the files; commit by commit it is a move, so
    the live post is "changed after publish" and nothing is sent."""
    server = sandbox_factory({"rate_limit": {"requests": 1000, "per_seconds": 60}})
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", server.api_key)
    repo = content_repo(
        tmp_path / "repo", {"posts/launch.yaml": "accounts: [x]\ncontent: launch launch\n"}, CONFIG
    )
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "launch")
    assert main(["apply", "--repo", str(repo)]) == 0
    (repo / "posts/moved").mkdir()
    git(repo, "mv", "posts/launch.yaml", "posts/moved/launch.yaml")
    git(repo, "commit", "-qm", "move")
    (repo / "posts/moved/launch.yaml").write_text("accounts: [x]\ncontent: hiring\n")
    git(repo, "commit", "-qam", "rewrite")
    capsys.readouterr()

    plan = plan_json(repo, capsys)
    actions = plan["actions"]
    assert isinstance(actions, list)
    assert [(a["post_id"], a["kind"]) for a in actions] == [
        ("moved/launch", "changed-after-publish"),
        ("moved/launch", "rename"),
    ]
    assert main(["apply", "--repo", str(repo)]) == 0
    headers = {"Authorization": f"Bearer {server.api_key}"}
    logged = httpx.get(f"{server.base_url}/_sandbox/posts", headers=headers, timeout=30).json()[
        "data"
    ]
    assert [p["request"]["content"] for p in logged] == ["launch launch"]


def test_a_post_moved_while_a_look_alike_arrives_is_not_posted_again(ws: Workspace) -> None:
    """One recorded commit; since then `b` was edited, then moved, and a new `c` written from
    the same template arrived. The diff of the whole range pairs `b` with `c` (more alike than
    the edited `b`) and calls the moved `b` added: it was published a second time. The steps
    say where each file came from, and they win."""
    ws.post("b", post_yaml("Post b"))
    assert ws.apply().code == 0
    ws.post("b", post_yaml("Post b, edited after it went out, and more words"))
    ws.rename("b", "moved/b")
    ws.post("c", post_yaml("Post c"))
    kinds = {(a[0], a[2]) for a in actions(ws.plan_json())}
    assert kinds == {("moved/b", "rename"), ("moved/b", "changed-after-publish"), ("c", "publish")}
    before = len(ws.sent())
    assert ws.apply().code == 0
    assert [s["request"]["content"] for s in ws.sent()[before:]] == ["Post c"]


def test_a_post_copied_then_its_original_deleted_is_still_a_move(ws: Workspace) -> None:
    """The steps decide only where they name another origin: `b` copied to `moved/b` in one
    commit and deleted in the next is the range's rename, still, beside a new `c` (which is
    what makes the steps be read at all)."""
    ws.post("b", post_yaml("Post b"))
    assert ws.apply().code == 0
    ws.write("posts/moved/b.yaml", post_yaml("Post b."))  # its fingerprint alone cannot tell
    ws.commit("copy b")
    ws.delete("b")
    ws.post("c", post_yaml("Post c, new"))
    kinds = {(a[0], a[2]) for a in actions(ws.plan_json())}
    assert kinds == {
        ("moved/b", "rename"),
        ("moved/b", "changed-after-publish"),
        ("c", "publish"),
    }
    before = len(ws.sent())
    assert ws.apply().code == 0
    assert [s["request"]["content"] for s in ws.sent()[before:]] == ["Post c, new"]
