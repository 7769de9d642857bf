"""`orshot-gitops ci` as a GitHub runner runs it: an event payload, GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, and a fake GitHub API on loopback for the sticky comment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import SandboxFactory, write_tree
from fake_github import TOKEN, FakeGitHub

from orshot_gitops.cli import main
from orshot_gitops.github.api import MARKER
from orshot_gitops.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

CONFIG = """\
accounts:
  acme-x: {id: 1, platform: twitter}
  acme-linkedin: {id: 2, platform: linkedin}
timezone: America/New_York
"""
LAUNCH = """\
accounts: [acme-x, acme-linkedin]
content: |
  Rockets 3.0 is live, thanks @octocat! https://acme.example.com
schedule: 2099-03-02T09:00
"""
NOW_POST = "accounts: [acme-x]\ncontent: Maintenance is over, all green.\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(root: Path, posts: dict[str, str]) -> Path:
    write_tree(root, {"orshot.yaml": CONFIG, **posts})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "posts")
    return root


class Runner:
    """The environment a GitHub-hosted runner gives a step, in files under tmp_path."""

    def __init__(self, tmp: Path, api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp
        self.summary = tmp / "summary.md"
        self.output = tmp / "output.txt"
        self.event = tmp / "event.json"
        self.monkeypatch = monkeypatch
        self.env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": api_url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_REPOSITORY": "acme/social",
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_EVENT_PATH": str(self.event),
            "GITHUB_TOKEN": TOKEN,
            "RUNNER_TEMP": str(tmp / "runner-temp"),
        }
        (tmp / "runner-temp").mkdir()

    def pull_request(self, number: int = 7, fork: bool = False) -> None:
        head = "someone/social" if fork else "acme/social"
        payload = {
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"repo": {"full_name": head}},
                "base": {"repo": {"full_name": "acme/social"}},
            },
            "repository": {"full_name": "acme/social", "default_branch": "main"},
        }
        self.event.write_text(json.dumps(payload))
        self.env.update(
            {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": f"refs/pull/{number}/merge"}
        )

    def push(self, ref: str = "refs/heads/main") -> None:
        payload = {"ref": ref, "repository": {"full_name": "acme/social", "default_branch": "main"}}
        self.event.write_text(json.dumps(payload))
        self.env.update({"GITHUB_EVENT_NAME": "push", "GITHUB_REF": ref})

    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
        for name, value in self.env.items():
            self.monkeypatch.setenv(name, value)
        code = main(["ci", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    def outputs(self) -> dict[str, str]:
        """GITHUB_OUTPUT parsed as the runner does (name<<DELIMITER ... DELIMITER)."""
        found: dict[str, str] = {}
        lines = iter(self.output.read_text().splitlines()) if self.output.exists() else iter([])
        for line in lines:
            name, _, delimiter = line.partition("<<")
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            found[name] = "\n".join(value)
        return found


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def runner(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Runner:
    return Runner(tmp_path, github.api_url, monkeypatch)


def test_a_pull_request_gets_one_comment_edited_on_the_next_run(
    tmp_path: Path, github: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    github.add_comment(7, "LGTM, ship it")
    runner.pull_request(7)

    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out + err
    assert github.writes() == ["POST"]
    ours = [c for c in github.comments[7] if c["body"].startswith(MARKER)]
    assert len(ours) == 1
    body = ours[0]["body"]
    assert "`launch`" in body and "acme-linkedin" in body and "LinkedIn" in body
    assert "Mon 2099-03-02 09:00 EST (America/New\\_York)" in body
    assert "@octocat" in body.split("```text\n", 1)[1]  # verbatim, but only inside the fence
    outputs = runner.outputs()
    assert outputs["has-changes"] == "true"
    plan = json.loads(Path(outputs["plan-json"]).read_text())
    assert {a["account"] for a in plan["actions"]} == {"acme-x", "acme-linkedin"}
    assert "orshot-gitops plan" in runner.summary.read_text()

    # The author edits the caption and pushes again: the same comment changes.
    (repo / "posts/launch.yaml").write_text(LAUNCH.replace("3.0", "3.1"))
    git(repo, "commit", "-qam", "3.1")
    code, out, _ = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out
    assert github.writes() == ["POST", "PATCH"]
    assert [c["body"].startswith(MARKER) for c in github.comments[7]] == [False, True]
    assert "Rockets 3.1 is live" in github.comments[7][1]["body"]
    assert "plan comment updated" in out


def test_our_comment_is_found_past_the_first_page(
    tmp_path: Path, github: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    for n in range(130):
        github.add_comment(7, f"comment {n} quoting {MARKER} in the middle")
    ours = github.add_comment(7, MARKER + "\nan old plan", "bot")
    runner.pull_request(7)
    code, out, _ = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out
    assert github.writes() == ["PATCH"]
    assert ours["body"].startswith(MARKER + "\n### ")
    assert sum(1 for r in github.requests if r.method == "GET") == 2


def test_with_a_key_the_comment_says_which_accounts_need_reconnecting(
    tmp_path: Path,
    github: FakeGitHub,
    runner: Runner,
    sandbox_factory: SandboxFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconcile_helpers import API_KEY, sandbox_config

    sandbox = sandbox_factory(sandbox_config(expired=(2,)))
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    runner.pull_request(7)
    runner.env.update({"ORSHOT_API_KEY": API_KEY, "ORSHOT_BASE_URL": sandbox.base_url})
    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out + err
    [ours] = [c for c in github.comments[7] if c["body"].startswith(MARKER)]
    assert "acme-linkedin needs reconnecting: 1 post held" in ours["body"]
    plan = json.loads(Path(runner.outputs()["plan-json"]).read_text())
    assert plan["needs_reconnect"] == [{"account": "acme-linkedin", "posts_held": 1}]
    assert API_KEY not in out + err + ours["body"]


def test_a_bad_post_is_annotated_at_its_line_and_fails_the_check(
    tmp_path: Path, github: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "accounts: [acme-x]\ncontent: |\n  hi {{ missing }}\n"
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH, "posts/bad.yaml": bad})
    runner.pull_request(7)
    code, out, _ = runner.run(capsys, "--repo", str(repo))  # auto: plan on pull_request
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    assert annotations == [
        "::error file=posts/bad.yaml,line=3,col=3,title=orshot-gitops template-undefined::"
        "undefined variable 'missing' (define it in this post's 'vars' or in orshot.yaml 'vars')"
    ]
    # Reviewers still get the plan, with the error on top.
    body = github.comments[7][0]["body"]
    assert "error(s): nothing will be sent" in body
    assert "`posts/bad.yaml:3`" in body


def test_a_fork_without_an_orshot_key_gets_its_plan_in_the_summary(
    tmp_path: Path, github: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    github.read_only = True
    runner.pull_request(9, fork=True)
    assert "ORSHOT_API_KEY" not in os.environ
    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out + err
    summary = runner.summary.read_text()
    assert "Rockets 3.0 is live" in summary and "acme-linkedin" in summary
    assert "::notice::cannot comment on the pull request: GitHub answered 403" in out
    assert runner.outputs()["has-changes"] == "true"
    assert "Traceback" not in out + err


def test_the_token_is_sent_only_as_a_header_and_never_shown(
    tmp_path: Path, github: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    runner.pull_request(7)
    github.read_only = True  # an error path: messages must not carry the token either
    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0
    assert {r.authorization for r in github.requests} == {f"Bearer {TOKEN}"}
    everything = out + err + runner.summary.read_text() + runner.output.read_text()
    assert TOKEN not in everything


def test_apply_never_runs_for_a_pull_request(
    tmp_path: Path, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    runner.pull_request(7)
    code, _, err = runner.run(capsys, "--repo", str(repo), "--command", "apply")
    assert code == 2
    assert "apply never runs for a pull request" in err


def test_apply_refuses_a_push_to_another_branch(
    tmp_path: Path, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    runner.push("refs/heads/feature")
    code, _, err = runner.run(capsys, "--repo", str(repo), "--command", "apply")
    assert code == 1
    assert "not for the default branch main" in err and "branches: [main]" in err


def test_a_push_to_main_publishes_and_summarizes_with_links(
    tmp_path: Path,
    runner: Runner,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = make_repo(tmp_path / "seed", {"posts/launch.yaml": LAUNCH, "posts/now.yaml": NOW_POST})
    git(seed, "push", "-q", str(remote), "main")
    git(tmp_path, "clone", "-q", str(remote), "checkout")  # what actions/checkout leaves
    checkout = tmp_path / "checkout"
    runner.push()
    runner.env.update({"ORSHOT_API_KEY": sandbox.api_key, "ORSHOT_BASE_URL": sandbox.base_url})
    code, out, err = runner.run(capsys, "--repo", str(checkout))  # auto: apply on push
    assert code == 0, out + err
    outputs = runner.outputs()
    assert (outputs["published"], outputs["failed"]) == ("3", "0")
    summary = runner.summary.read_text()
    assert "| `now` | `acme-x` | ✅ published | <https://" in summary
    assert "https://github.example/acme/social/commit/" in summary
    # The results commit is on the remote branch, marked so CI does not run again.
    assert "[skip ci]" in git(remote, "log", "-1", "--format=%B", "main")
    # Progress quotes post ids and Orshot's errors: never read as workflow commands.
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].removeprefix("::stop-commands::")
    assert len(token) == 32 and f"::{token}::" in lines[start + 1 :]


def test_the_action_run_step_as_the_runner_executes_it(
    tmp_path: Path, github: FakeGitHub, runner: Runner
) -> None:
    """The `run:` script of action.yml, with its `env:` as GitHub would expand it, in bash."""
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    runner.pull_request(7)
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update({"command": "plan", "github-token": TOKEN, "working-directory": str(repo)})
    env = dict(os.environ, **runner.env)
    for name, value in step["env"].items():
        value = str(value)
        if value.startswith("${{ inputs."):
            value = inputs[value.removeprefix("${{ inputs.").removesuffix(" }}")]
        env[name] = value
    venv_bin = Path(runner.env["RUNNER_TEMP"]) / "orshot-gitops-venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "orshot-gitops").symlink_to(BIN / "orshot-gitops")
    result = subprocess.run(
        ["bash", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert github.writes() == ["POST"]
    assert runner.outputs()["has-changes"] == "true"


RENDERED = """\
accounts: [acme-x]
content: Rockets 3.2 is out.
render: {template: 123, modifications: {title: Rockets 3.2}, format: png}
"""


def test_the_previews_job_renders_once_shows_the_image_and_leaves_the_file_to_commit(
    tmp_path: Path,
    github: FakeGitHub,
    runner: Runner,
    sandbox_factory: SandboxFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconcile_helpers import API_KEY, sandbox_config

    sandbox = sandbox_factory(sandbox_config())
    repo = make_repo(tmp_path / "repo", {"posts/release.yaml": RENDERED})
    runner.pull_request(7)
    runner.env.update(
        {
            "ORSHOT_API_KEY": API_KEY,
            "ORSHOT_BASE_URL": sandbox.base_url,
            "INPUT_RENDER_PREVIEWS": "true",
        }
    )
    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out + err
    [preview] = (repo / ".orshot/state/renders").iterdir()
    [url] = json.loads(preview.read_text())["urls"]
    [ours] = [c for c in github.comments[7] if c["body"].startswith(MARKER)]
    assert f"![release, page 1 of 1](<{url}>)" in ours["body"]
    assert "this plan rendered 1 render credit of previews" in ours["body"]
    plan = json.loads(Path(runner.outputs()["plan-json"]).read_text())
    assert (plan["renders"]["credits"], plan["renders"]["previews_rendered"]) == (0, 1)
    assert API_KEY not in out + err + ours["body"] + preview.read_text()

    # The workflow commits the file; the next run renders nothing again.
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "previews")
    assert runner.run(capsys, "--repo", str(repo), "--command", "plan")[0] == 0
    plan = json.loads(Path(runner.outputs()["plan-json"]).read_text())
    assert plan["renders"]["previews_rendered"] == 0


def test_render_previews_in_a_job_without_the_key_fails_before_writing(
    tmp_path: Path, github: FakeGitHub, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/release.yaml": RENDERED})
    runner.pull_request(7, fork=True)
    runner.env.update({"INPUT_RENDER_PREVIEWS": "true"})
    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 1
    assert "needs ORSHOT_API_KEY" in out + err
    assert not (repo / ".orshot/state/renders").exists()
