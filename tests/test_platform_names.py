"""Orshot's platform names (`googlebusiness`, `snapchat`) from `GET /v1/social/accounts`: a repo
`init` writes from a real workspace validates, and the old `google_business` still loads with a
positioned warning that says what to write."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import SandboxFactory

from orshot_gitops.cli import main

# The accounts list as Orshot's reference names its platforms (no underscore; Snapchat too).
DOCUMENTED_WORKSPACE = {
    "accounts": [
        {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"},
        {"id": 2, "platform": "linkedin", "username": "acme-inc", "name": "Acme Inc"},
        {"id": 8, "platform": "googlebusiness", "username": "acme-store", "name": "Acme Store"},
        {"id": 9, "platform": "snapchat", "username": "acmesnap", "name": "Acme"},
    ]
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


ONLY_NEW_NAMES = {"accounts": DOCUMENTED_WORKSPACE["accounts"][2:]}


@pytest.mark.parametrize("workspace", [DOCUMENTED_WORKSPACE, ONLY_NEW_NAMES], ids=["mixed", "only"])
def test_init_against_a_workspace_with_orshot_platform_names_writes_a_repo_that_validates(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workspace: dict[str, object],
) -> None:
    # "only": the example post then targets the Google Business and Snapchat accounts
    # themselves, so their rules (Snapchat's 160 characters) apply to init's own caption.
    server = sandbox_factory(workspace)
    monkeypatch.setenv("ORSHOT_API_KEY", server.api_key)
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    repo = tmp_path / "social"
    code, out, err = run(capsys, "init", "--repo", str(repo))
    assert code == 0, err
    config = yaml.safe_load((repo / "orshot.yaml").read_text())
    assert config["accounts"]["acme-store"] == {"id": 8, "platform": "googlebusiness"}
    assert config["accounts"]["acmesnap"] == {"id": 9, "platform": "snapchat"}
    code, out, err = run(capsys, "validate", "--repo", str(repo))
    assert (code, out, err) == (0, "ok: 2 files checked, no problems\n", "")


def _repo(tmp_path: Path, platform: str, post: str) -> Path:
    (tmp_path / "posts").mkdir()
    (tmp_path / "orshot.yaml").write_text(
        f"accounts:\n  x: {{id: 1, platform: twitter}}\n  store: {{id: 8, platform: {platform}}}\n"
    )
    (tmp_path / "posts/p.yaml").write_text(post)
    return tmp_path


def test_old_google_business_spelling_is_a_positioned_warning_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, "google_business", "accounts: [store]\ncontent: Open today\n")
    code, out, err = run(capsys, "validate", "--repo", str(repo))
    assert code == 0, out + err
    text = out + err
    assert "orshot.yaml:3:28: warning:" in text
    assert "google_business" in text and "write 'googlebusiness'" in text


def test_old_spelling_keeps_google_business_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The old name must not dodge the platform's rules: 1,500 characters, no video.
    repo = _repo(
        tmp_path,
        "google_business",
        "accounts: [store]\ncontent: '" + "a" * 1501 + "'\n"
        "media_url: https://cdn.example.com/a.mp4\n",
    )
    code, out, err = run(capsys, "validate", "--repo", str(repo))
    assert code == 1
    assert "1500" in out + err or "1,500" in out + err
    assert "video" in out + err
    # Templates still see the spelling orshot.yaml uses, so the hint names that one.
    assert "{% if platform == 'google_business' %}" in out + err


def test_snapchat_posts_are_checked_against_its_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, "snapchat", "accounts: [store]\ncontent: '" + "a" * 300 + "'\n")
    code, out, err = run(capsys, "validate", "--repo", str(repo))
    assert code == 1, out + err
    assert "Snapchat" in out + err and "160" in out + err


def test_init_targets_its_example_post_only_where_a_text_only_post_is_taken() -> None:
    from orshot_gitops.content import platforms
    from orshot_gitops.scaffold import _TEXT_PLATFORMS

    assert [p for p in _TEXT_PLATFORMS if not platforms.RULES[p].text_only] == []
