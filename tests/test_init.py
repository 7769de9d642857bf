"""`orshot-gitops init`: a content repository that validates at once, with the workflow the
docs describe; accounts from the API when a key is set; never an overwritten file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orshot_gitops.cli import main
from orshot_gitops.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_without_a_key_scaffolds_a_repo_that_validates_and_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "social"
    code, out, _ = run(capsys, "init", "--repo", str(repo))
    assert code == 0
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()) == [
        ".gitattributes",
        ".github/workflows/orshot.yml",
        "orshot.yaml",
        "posts/hello-world.yaml",
        "templates/signature.j2",
    ]
    assert "the sandbox" in out
    assert "  git init && git add -A" in out  # not a repository yet
    post = (repo / "posts/hello-world.yaml").read_text()
    assert post.startswith("# yaml-language-server: $schema=https://")
    assert "draft: true" in post  # the first merge cannot publish the example by surprise
    workflow = repo / ".github/workflows/orshot.yml"
    assert workflow.read_text() == (ROOT / "examples/workflows/orshot.yml").read_text()
    check = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout

    code, out, _ = run(capsys, "validate", "--repo", str(repo))
    assert (code, out) == (0, "ok: 2 files checked, no problems\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True)
    code, out, _ = run(capsys, "plan", "--repo", str(repo))
    assert code == 0 and "Plan: 2 draft; 0 unchanged." in out


def test_init_in_a_clone_does_not_say_git_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "clone")], check=True)
    code, out, _ = run(capsys, "init", "--repo", str(tmp_path / "clone"))
    assert code == 0
    assert "git init" not in out and "  git add -A && git commit" in out


def test_init_with_a_key_lists_the_workspace_accounts(
    tmp_path: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ORSHOT_API_KEY", sandbox.api_key)
    monkeypatch.setenv("ORSHOT_BASE_URL", sandbox.base_url)
    code, out, _ = run(capsys, "init", "--repo", str(tmp_path))
    assert code == 0 and "from your workspace" in out
    config = yaml.safe_load((tmp_path / "orshot.yaml").read_text())
    assert config["accounts"]["acmehq"] == {"id": 1, "platform": "twitter"}
    assert len(config["accounts"]) == 8
    assert "accounts: [acmehq, acme-inc]" in (tmp_path / "posts/hello-world.yaml").read_text()
    assert run(capsys, "validate", "--repo", str(tmp_path))[0] == 0


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "orshot.yaml").write_text("# mine\n")
    code, _, err = run(capsys, "init", "--repo", str(tmp_path))
    assert code == 1
    assert "orshot.yaml already exists" in err and "never overwrites" in err
    assert (tmp_path / "orshot.yaml").read_text() == "# mine\n"
    assert not (tmp_path / "posts").exists()
