"""Publishing with `git push` to a plain bare repository, validating before a push, and the
pre-commit hook's file pattern."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import write_tree

from orshot_gitops.cli import main
from orshot_gitops.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "accounts:\n  acme-x: {id: 1, platform: twitter}\n  acme-linkedin: {id: 2, platform: linkedin}\n"
POST = "accounts: [acme-x, acme-linkedin]\ncontent: Shipped from a plain git server.\n"


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True)


def sandbox_posts(server: SandboxServer) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    data = httpx.get(server.base_url + "/_sandbox/posts", headers=headers, timeout=30).json()[
        "data"
    ]
    assert isinstance(data, list)
    return data


@pytest.fixture
def server_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    bare = tmp_path / "social.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    assert main(["hook", "install", "--server", "--repo", str(bare)]) == 0
    capsys.readouterr()
    return bare


def test_a_push_to_the_default_branch_publishes_and_tells_the_pusher(
    tmp_path: Path, server_repo: Path, sandbox: SandboxServer
) -> None:
    (server_repo / "orshot.env").write_text(
        f"# the server's key, mode 600\nORSHOT_API_KEY={sandbox.api_key}\n"
        f"ORSHOT_BASE_URL={sandbox.base_url}\n"
    )
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server_repo), str(clone))
    write_tree(clone, {"orshot.yaml": CONFIG, "posts/hello.yaml": POST})
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "hello")

    pushed = git(clone, "push", "origin", "main")
    remote_lines = [line for line in pushed.stderr.splitlines() if line.startswith("remote: ")]
    said = "\n".join(remote_lines)
    assert "remote: orshot-gitops: publishing main at" in said
    assert re.search(r"remote: orshot-gitops: published +hello → acme-x +https?://", said)
    assert "remote: orshot-gitops: 2 published; results in" in said
    assert sorted(p["request"]["content"] for p in sandbox_posts(sandbox)) == [
        "Shipped from a plain git server."
    ]

    # The results are on the server, and the next push sends nothing again.
    git(clone, "pull", "-q", "--rebase")
    assert (clone / ".orshot/state.json").is_file()
    (clone / "README.md").write_text("notes\n")
    git(clone, "add", "README.md")
    git(clone, "commit", "-qm", "notes")
    again = git(clone, "push", "origin", "main").stderr
    assert "published" not in again.replace("publishing", "")
    assert len(sandbox_posts(sandbox)) == 1


def test_a_plain_git_server_names_the_approval_rules_it_cannot_check_and_holds(
    tmp_path: Path, server_repo: Path, sandbox: SandboxServer
) -> None:
    (server_repo / "orshot.env").write_text(
        f"ORSHOT_API_KEY={sandbox.api_key}\nORSHOT_BASE_URL={sandbox.base_url}\n"
    )
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server_repo), str(clone))
    rules = 'approvals:\n  - accounts: [linkedin]\n    reviewers: ["@acme/brand"]\n'
    write_tree(clone, {"orshot.yaml": CONFIG + rules, "posts/hello.yaml": POST})
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "hello")
    said = git(clone, "push", "origin", "main").stderr
    assert (
        "remote: orshot-gitops: orshot.yaml:5:5: warning: approvals[0] (@acme/brand, 1 needed) "
        "cannot be checked without GitHub: its posts are held (approvals_without_github: hold)"
    ) in said
    assert "remote: orshot-gitops: held: hello → acme-linkedin awaiting approval" in said
    assert [p["request"]["accounts"] for p in sandbox_posts(sandbox)] == [[1]]


def test_a_push_to_another_branch_publishes_nothing(
    tmp_path: Path, server_repo: Path, sandbox: SandboxServer
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server_repo), str(clone))
    write_tree(clone, {"orshot.yaml": CONFIG, "posts/hello.yaml": POST})
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "hello")
    git(clone, "switch", "-qc", "draft-ideas")
    out = git(clone, "push", "origin", "draft-ideas").stderr
    assert "orshot-gitops" not in out
    assert sandbox_posts(sandbox) == []


def test_without_a_key_the_push_lands_and_the_pusher_is_told_why_nothing_went_out(
    tmp_path: Path, server_repo: Path
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server_repo), str(clone))
    write_tree(clone, {"orshot.yaml": CONFIG, "posts/hello.yaml": POST})
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "hello")
    out = git(clone, "push", "origin", "main").stderr
    assert "remote: orshot-gitops: not publishing: no ORSHOT_API_KEY" in out


def test_the_server_hook_goes_only_in_a_bare_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(tmp_path, "init", "-q", "work")
    assert main(["hook", "install", "--server", "--repo", str(tmp_path / "work")]) == 1
    assert "not a bare repository" in capsys.readouterr().err


def test_the_client_hook_stops_a_push_with_a_bad_post(
    tmp_path: Path, server_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server_repo), str(clone))
    assert main(["hook", "install", "--client", "--repo", str(clone)]) == 0
    write_tree(clone, {"orshot.yaml": CONFIG, "posts/bad.yaml": "accounts: [nobody]\ncontent: x\n"})
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "bad")
    refused = git(clone, "push", "origin", "main", check=False)
    assert refused.returncode != 0
    assert "posts/bad.yaml:1" in refused.stdout + refused.stderr
    assert git(server_repo, "rev-parse", "--verify", "-q", "main", check=False).returncode != 0


@pytest.fixture
def client_clone(tmp_path: Path, server_repo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server_repo), str(clone))
    assert main(["hook", "install", "--client", "--repo", str(clone)]) == 0
    capsys.readouterr()
    return clone


def test_the_client_hook_checks_the_pushed_commit_not_the_working_tree(
    client_clone: Path, server_repo: Path
) -> None:
    """A broken post committed, then deleted but not committed: the working tree is fine, the
    commit being pushed is not, and the server would apply the commit."""
    write_tree(client_clone, {"orshot.yaml": CONFIG, "posts/bad.yaml": "accounts: [nobody]\n"})
    git(client_clone, "add", "-A")
    git(client_clone, "commit", "-qm", "bad")
    (client_clone / "posts/bad.yaml").unlink()

    refused = git(client_clone, "push", "origin", "main", check=False)

    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "posts/bad.yaml:1" in refused.stdout + refused.stderr
    assert git(server_repo, "rev-parse", "--verify", "-q", "main", check=False).returncode != 0


def test_the_client_hook_lets_a_good_commit_through_beside_a_broken_working_tree(
    client_clone: Path, server_repo: Path
) -> None:
    write_tree(client_clone, {"orshot.yaml": CONFIG, "posts/good.yaml": POST})
    git(client_clone, "add", "-A")
    git(client_clone, "commit", "-qm", "good")
    write_tree(client_clone, {"posts/draft-in-progress.yaml": "accounts: [nobody]\n"})

    pushed = git(client_clone, "push", "origin", "main", check=False)

    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert (
        git(server_repo, "rev-parse", "main").stdout.strip()
        == git(client_clone, "rev-parse", "HEAD").stdout.strip()
    )


def test_the_client_hook_sees_files_an_export_rule_would_hide(
    client_clone: Path, server_repo: Path
) -> None:
    """`export-ignore` hides a file from `git archive`, not from the server's checkout."""
    write_tree(
        client_clone,
        {
            "orshot.yaml": CONFIG,
            ".gitattributes": "posts/bad.yaml export-ignore\n",
            "posts/bad.yaml": "accounts: [nobody]\n",
        },
    )
    git(client_clone, "add", "-A")
    git(client_clone, "commit", "-qm", "hidden")

    refused = git(client_clone, "push", "origin", "main", check=False)

    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "posts/bad.yaml:1" in refused.stdout + refused.stderr


def test_the_client_hook_checks_every_pushed_branch_and_lets_a_deletion_through(
    client_clone: Path, server_repo: Path
) -> None:
    write_tree(client_clone, {"orshot.yaml": CONFIG, "posts/good.yaml": POST})
    git(client_clone, "add", "-A")
    git(client_clone, "commit", "-qm", "good")
    git(client_clone, "branch", "idea")
    git(client_clone, "push", "-q", "origin", "main", "idea")
    git(client_clone, "checkout", "-q", "idea")
    write_tree(client_clone, {"posts/bad.yaml": "accounts: [nobody]\n"})
    git(client_clone, "add", "-A")
    git(client_clone, "commit", "-qm", "bad idea")
    git(client_clone, "checkout", "-q", "main")

    refused = git(client_clone, "push", "origin", "main", "idea", check=False)
    assert refused.returncode != 0
    assert "posts/bad.yaml:1" in refused.stdout + refused.stderr

    deleted = git(client_clone, "push", "origin", "--delete", "idea", check=False)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr


def test_an_existing_hook_is_not_replaced_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "x.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    (bare / "hooks" / "post-receive").write_text("#!/bin/sh\necho mine\n")
    assert main(["hook", "install", "--server", "--repo", str(bare)]) == 1
    assert "not ours" in capsys.readouterr().err
    assert main(["hook", "install", "--server", "--repo", str(bare), "--force"]) == 0


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        ("orshot.yaml", True),
        ("posts/launch.yaml", True),
        ("posts/2026/12/launch.yml", True),
        ("templates/signature.j2", True),
        ("posts/notes.md", False),
        ("docs/orshot.yaml", False),
        ("README.md", False),
        (".orshot/state.json", False),
    ],
)
def test_the_pre_commit_hook_runs_for_posts_config_and_templates(path: str, matches: bool) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["entry"] == "orshot-gitops validate" and hook["language"] == "python"
    assert bool(re.search(hook["files"], path)) is matches
