"""`ci --command plan` with ORSHOT_PREVIEW_DIR: the preview site is written for the workflow to
upload, and the sticky comment links to the run that holds it (test_github_ci's runner)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_github import FakeGitHub
from test_github_ci import LAUNCH, Runner, make_repo

from orshot_gitops.github.api import MARKER


@pytest.fixture
def github_fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


def _comment(github: FakeGitHub) -> str:
    ours = [c["body"] for c in github.comments[7] if c["body"].startswith(MARKER)]
    assert len(ours) == 1
    return str(ours[0])


def test_the_plan_comment_links_to_the_runs_preview_artifact(
    tmp_path: Path,
    github_fake: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    runner = Runner(tmp_path, github_fake.api_url, monkeypatch)
    runner.pull_request(7)
    site = tmp_path / "runner-temp" / "orshot-preview"
    runner.env.update({"ORSHOT_PREVIEW_DIR": str(site), "GITHUB_RUN_ID": "4242"})
    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out + err
    assert (site / "index.html").is_file()
    assert (site / "calendar.ics").is_file()
    body = _comment(github_fake)
    link = [line for line in body.splitlines() if "Preview" in line]
    assert link == [
        "🔎 **Preview** (each post as each platform shows it, a calendar, ICS feeds): the "
        "`orshot-preview` artifact of [this run](https://github.example/acme/social/actions/runs/4242)."
    ]
    assert runner.outputs()["preview-dir"] == str(site)


def test_without_a_preview_dir_the_comment_has_no_link(
    tmp_path: Path,
    github_fake: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo(tmp_path / "repo", {"posts/launch.yaml": LAUNCH})
    runner = Runner(tmp_path, github_fake.api_url, monkeypatch)
    runner.pull_request(7)
    code, out, err = runner.run(capsys, "--repo", str(repo), "--command", "plan")
    assert code == 0, out + err
    assert "Preview" not in _comment(github_fake)
