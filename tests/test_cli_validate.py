"""The validate command as users meet it: exit codes, output formats, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from repo_fixtures import content_repo

from orshot_gitops import __version__
from orshot_gitops.cli import COMMAND_MODULES, build_parser, main

BAD = "accounts: [x]\ncontent: |\n  hi\n  {{ missing }}\nbogus: 1\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_repo_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content_repo(tmp_path, {"posts/p.yaml": "accounts: [x]\ncontent: hi\n"})
    code, out, _ = run(capsys, "validate", "--repo", str(tmp_path))
    assert (code, out) == (0, "ok: 2 files checked, no problems\n")


def test_errors_exit_1_one_line_each_then_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content_repo(tmp_path, {"posts/p.yaml": BAD})
    code, out, err = run(capsys, "validate", "--repo", str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        "posts/p.yaml:5:1: error: unknown key 'bogus' (allowed keys: accounts, content, draft, for_each, id, "
        "media_url, media_urls, overrides, platform_options, render, repeat, revision, schedule, "
        "sponsored, timezone, variants, vars)",
        "1 error in 2 files checked",
    ]
    assert "Traceback" not in out + err


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content_repo(tmp_path, {"posts/p.yaml": "accounts: [x]\ncontent: |\n  hi\n  {{ missing }}\n"})
    code, out, _ = run(capsys, "validate", "--repo", str(tmp_path), "--format", "json")
    assert code == 1
    assert json.loads(out) == {
        "files_checked": 2,
        "errors": 1,
        "warnings": 0,
        "diagnostics": [
            {
                "path": "posts/p.yaml",
                "line": 4,
                "column": 3,
                "severity": "error",
                "code": "template-undefined",
                "message": "undefined variable 'missing'",
                "hint": "define it in this post's 'vars' or in orshot.yaml 'vars'",
            }
        ],
    }


def test_github_format_escapes_workflow_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content_repo(tmp_path, {"posts/p.yaml": "accounts: [x]\ncontent: |\n  hi\n  {{ missing }}\n"})
    code, out, _ = run(capsys, "validate", "--repo", str(tmp_path), "--format", "github")
    assert code == 1
    assert out.splitlines()[0] == (
        "::error file=posts/p.yaml,line=4,col=3,title=orshot-gitops template-undefined::"
        "undefined variable 'missing' (define it in this post's 'vars' or in orshot.yaml 'vars')"
    )


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content_repo(tmp_path, {"posts/p.yaml": "accounts: [x]\ncontent: hi\n"})
    code, _, err = run(capsys, "validate", "--format", "xml")
    assert code == 2
    assert "invalid choice: 'xml'" in err
    code, _, err = run(capsys, "validate", "--repo", str(tmp_path), str(tmp_path / "orshot.yaml"))
    assert code == 2
    assert "is not under posts/" in err


def test_every_command_has_a_summary_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    _, modules = build_parser()
    assert len(modules) == len(COMMAND_MODULES)
    for name, module in modules.items():
        assert module.SUMMARY and module.EXAMPLES, name
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and "orshot-gitops " + name in out


def test_version_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orshot_gitops", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == f"orshot-gitops {__version__}\n"


def test_no_color_means_no_escape_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content_repo(tmp_path, {"posts/p.yaml": BAD})
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = subprocess.run(
        [sys.executable, "-m", "orshot_gitops", "validate", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "\x1b[" not in result.stdout


def test_a_command_run_from_a_post_folder_finds_its_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As git does: `validate` from posts/2026/12 reads the repository above it, and `plan`
    there plans the whole repository, not an empty folder."""
    repo = content_repo(tmp_path / "repo", {"posts/2026/12/p.yaml": "accounts: [x]\ncontent: hi\n"})
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "posts"], check=True)
    monkeypatch.chdir(repo / "posts/2026/12")
    code, out, _ = run(capsys, "validate")
    assert (code, out) == (0, "ok: 2 files checked, no problems\n")
    code, out, _ = run(capsys, "plan", "--format", "json")
    assert code == 0 and [a["post_id"] for a in json.loads(out)["actions"]] == ["2026/12/p"]


def test_the_search_for_orshot_yaml_stops_at_the_git_work_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An orshot.yaml above the repository (an enclosing checkout, the home folder) is someone
    else's: a repository without one says so, from where it was run."""
    content_repo(tmp_path, {"posts/p.yaml": "accounts: [x]\ncontent: hi\n"})
    inner = tmp_path / "other"
    (inner / "posts").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(inner)], check=True)
    monkeypatch.chdir(inner / "posts")
    code, out, err = run(capsys, "validate")
    assert code == 1
    assert "orshot.yaml" in out + err and str(tmp_path / "posts") not in out + err
