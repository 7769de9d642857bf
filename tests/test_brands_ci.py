"""GitHub Actions over a repository of several brands: the matrix names only the roots a
change touched, a pull request gets ONE comment with a section per touched brand, and
annotations land at paths from the repository's top."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from brands_helpers import Brands, git
from fake_github import TOKEN, FakeGitHub

from orshot_gitops.github.api import MARKER


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def brands(tmp_path: Path) -> Brands:
    return Brands(tmp_path)


def runner_env(
    tmp: Path, api_url: str, monkeypatch: pytest.MonkeyPatch, event: str, number: int = 7
) -> Path:
    """The environment a runner gives a step; returns GITHUB_OUTPUT's path."""
    output = tmp / "output.txt"
    payload: dict[str, object] = {
        "repository": {"full_name": "acme/social", "default_branch": "main"}
    }
    if event == "pull_request":
        payload |= {
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"repo": {"full_name": "acme/social"}},
                "base": {"repo": {"full_name": "acme/social"}},
            },
        }
    (tmp / "event.json").write_text(json.dumps(payload))
    (tmp / "runner-temp").mkdir(exist_ok=True)
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": api_url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "acme/social",
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_EVENT_PATH": str(tmp / "event.json"),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REF": f"refs/pull/{number}/merge" if event == "pull_request" else "refs/heads/main",
        "GITHUB_TOKEN": TOKEN,
        "RUNNER_TEMP": str(tmp / "runner-temp"),
    }.items():
        monkeypatch.setenv(name, value)
    return output


def outputs(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    lines = iter(path.read_text().splitlines()) if path.exists() else iter([])
    for line in lines:
        name, _, delimiter = line.partition("<<")
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        found[name] = "\n".join(value)
    return found


def test_the_matrix_names_only_the_roots_a_change_touched(
    brands: Brands, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = runner_env(tmp_path, github.api_url, monkeypatch, "push")
    base = brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    brands.post("zen", "calm", "Breathe in", ("zen-x",))

    run = brands.cli("ci", "--command", "matrix", "--base", base)
    assert run.code == 0, run.output
    assert run.json()["roots"] == ["brands/zen"]
    found = outputs(output)
    assert json.loads(found["roots"]) == ["brands/zen"]
    assert json.loads(found["matrix"]) == [{"key_env": "ORSHOT_API_KEY_ZEN", "root": "brands/zen"}]

    # A file outside every brand touches none; a base this clone lacks touches all.
    readme = brands.head()
    brands.write("README.md", "Our clients' posts, and how we work.\n")
    brands.commit("readme")
    assert brands.cli("ci", "--command", "matrix", "--base", readme).json()["roots"] == []
    unknown = brands.cli("ci", "--command", "matrix", "--base", "0" * 40)
    assert unknown.json()["roots"] == ["brands/acme", "brands/zen"]
    # A commit given as an option is refused, not passed to git.
    injected = brands.cli("ci", "--command", "matrix", "--base=--output=/tmp/x")
    assert injected.code == 1 and "not options" in injected.err


def test_a_pull_request_gets_one_comment_with_a_section_per_touched_brand(
    brands: Brands, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = runner_env(tmp_path, github.api_url, monkeypatch, "pull_request")
    monkeypatch.delenv("ORSHOT_API_KEY", raising=False)
    base = brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    brands.write("brands/zen/posts/calm.yaml", "accounts: [zen-x]\ncontent: Breathe in\n")
    brands.write("brands/new/orshot.yaml", "accounts:\n  new-x: {id: 5, platform: twitter}\n")
    brands.write("brands/new/posts/hello.yaml", "accounts: [new-x]\ncontent: Hello\n")
    brands.commit("zen and a new brand")

    run = brands.cli("ci", "--command", "plan", "--all", "--base", base)
    assert run.code == 0, run.output
    assert github.writes() == ["POST"]
    ours = [c for c in github.comments[7] if c["body"].startswith(MARKER)]
    assert len(ours) == 1
    body = ours[0]["body"]
    assert "2 of 3 content roots" in body
    assert "### `brands/new`" in body and "### `brands/zen`" in body
    assert "### `brands/acme`" not in body  # untouched: no section
    assert body.index("### `brands/new`") < body.index("### `brands/zen`")
    assert "`ORSHOT_API_KEY_ZEN`" in body and "Breathe in" in body and "Hello" in body
    plans = json.loads(outputs(output)["plan-json"])
    assert sorted(plans) == ["brands/new", "brands/zen"]
    assert [a["post_id"] for a in json.loads(Path(plans["brands/zen"]).read_text())["actions"]] == [
        "calm"
    ]

    # The next push edits the same comment.
    brands.write("brands/zen/posts/calm.yaml", "accounts: [zen-x]\ncontent: Breathe out\n")
    brands.commit("zen: out")
    again = brands.cli("ci", "--command", "plan", "--all", "--base", base)
    assert again.code == 0, again.output
    assert github.writes() == ["POST", "PATCH"]
    assert "Breathe out" in github.comments[7][-1]["body"]


def test_annotations_of_a_brand_name_the_file_from_the_repository_top(
    brands: Brands, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_env(tmp_path, github.api_url, monkeypatch, "pull_request")
    base = brands.head()
    brands.write("brands/zen/posts/bad.yaml", "accounts: [acme-x]\ncontent: Wrong brand\n")
    brands.commit("zen: a post to an account of acme")

    run = brands.cli("ci", "--command", "validate", "--all", "--base", base)
    assert run.code == 1, run.output
    assert "::error file=brands/zen/posts/bad.yaml,line=1" in run.out
    single = brands.cli("ci", "--command", "validate", cwd=brands.root / "brands/zen")
    assert single.code == 1
    assert "::error file=brands/zen/posts/bad.yaml,line=1" in single.out


def test_apply_is_never_run_over_all_roots_in_one_job(
    brands: Brands, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_env(tmp_path, github.api_url, monkeypatch, "push")
    run = brands.cli("ci", "--command", "apply", "--all")
    assert run.code == 2
    assert "matrix" in run.err
    assert git(brands.root, "status", "--porcelain") == ""


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("key_env", "seen"),
    [
        ("ORSHOT_API_KEY_ZEN", "ORSHOT_API_KEY_ZEN=sk_zen_secret\n"),
        ("", "ORSHOT_API_KEY=sk_zen_secret\n"),
        ("GITHUB_TOKEN", None),
        ("ORSHOT_API_KEY_X=1 PATH", None),
    ],
)
def test_the_action_hands_a_brands_job_its_key_under_its_one_name(
    tmp_path: Path, key_env: str, seen: str | None
) -> None:
    """action.yml's run script in bash, with a stand-in for the tool that prints the key
    variables it was given: the key under the root's name only, and no other name."""
    import subprocess

    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update({"command": "apply", "api-key": "sk_zen_secret", "api-key-env": key_env})
    env = {"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path)}
    for name, value in step["env"].items():
        value = str(value)
        if value.startswith("${{ inputs."):
            value = inputs[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        env[name] = value
    tool = tmp_path / "orshot-gitops-venv" / "bin" / "orshot-gitops"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/bash\nenv | grep '^ORSHOT_API_KEY' | sort\n")
    tool.chmod(0o755)
    done = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True)
    if seen is None:
        assert done.returncode == 1
        assert "api-key-env must be" in done.stdout and "sk_zen_secret" not in done.stdout
    else:
        assert done.returncode == 0, done.stderr
        assert done.stdout == seen


BRANDS_WORKFLOW = ROOT / "examples" / "workflows" / "orshot-brands.yml"


def test_the_brands_workflow_plans_in_one_job_and_applies_each_brand_in_its_own_group() -> None:
    import subprocess
    import sys

    import yaml

    checked = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(BRANDS_WORKFLOW),
        ],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    workflow = yaml.safe_load(BRANDS_WORKFLOW.read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]
    assert "pull_request_target" not in triggers
    jobs = workflow["jobs"]
    plan, roots, apply = jobs["plan"], jobs["roots"], jobs["apply"]
    assert "secrets" not in yaml.safe_dump(plan) and "secrets" not in yaml.safe_dump(roots)
    assert plan["steps"][1]["with"]["all"] == "true"
    assert "strategy" not in plan  # one job, one comment
    assert roots["steps"][1]["with"]["command"] == "matrix"
    assert apply["needs"] == "roots"
    assert apply["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.roots.outputs.matrix) }}"
    assert apply["strategy"]["fail-fast"] is False
    assert apply["concurrency"] == {
        "group": "orshot-apply-${{ matrix.root }}",
        "cancel-in-progress": False,
    }
    step = apply["steps"][1]["with"]
    assert step["api-key"] == "${{ secrets[matrix.key_env] }}"
    assert step["api-key-env"] == "${{ matrix.key_env }}"
    assert step["working-directory"] == "${{ matrix.root }}"
    for job in jobs.values():
        assert job["steps"][0]["with"]["fetch-depth"] == 0
        for each in job["steps"]:
            assert "${{" not in each.get("run", "")


def test_a_brand_pointed_at_another_brands_key_is_shown_to_the_reviewer(
    brands: Brands, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull request adds a brand reading ORSHOT_API_KEY, acme's key: after the merge it
    would publish through acme's workspace. The comment says whose key it shares."""
    runner_env(tmp_path, github.api_url, monkeypatch, "pull_request")
    base = brands.head()
    brands.write("brands/new/orshot.yaml", "accounts:\n  new-x: {id: 1, platform: twitter}\n")
    brands.write("brands/new/posts/hello.yaml", "accounts: [new-x]\ncontent: Hello\n")
    brands.commit("a new brand")

    run = brands.cli("ci", "--command", "plan", "--all", "--base", base)
    assert run.code == 0, run.output
    body = github.comments[7][-1]["body"]
    assert "Sends with the key in `ORSHOT_API_KEY`, **shared with** `brands/acme`." in body
    assert "brands/zen" not in body
