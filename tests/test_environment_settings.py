"""The environment: a malformed setting is one line naming the variable and what is wrong,
found before `apply` plans, marks or writes anything; and a key pasted into the wrong variable
is never printed back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reconcile_helpers import API_KEY, Workspace, git

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.settings import check_environment

BAD_SETTINGS = [
    ("ORSHOT_BASE_URL", "http://[x"),
    ("ORSHOT_BASE_URL", "http://127.0.0.1:abc"),
    ("ORSHOT_BASE_URL", "http://127.0.0.1:99999"),
    ("ORSHOT_BASE_URL", "http://127.0.0.1:0"),
    ("ORSHOT_BASE_URL", "http://[::1]x"),
    ("ORSHOT_BASE_URL", "https://api orshot.com"),
    ("ORSHOT_BASE_URL", "https://exämple.com"),
    ("ORSHOT_RATE_LIMIT", "abc"),
    ("ORSHOT_RATE_LIMIT", "5/inf"),
    ("ORSHOT_RATE_LIMIT", "9" * 5000),
    ("ORSHOT_SETTLE_AFTER", "abc"),
    ("ORSHOT_SETTLE_AFTER", "inf"),
    ("ORSHOT_SETTLE_AFTER", "nan"),
    ("ORSHOT_SETTLE_AFTER", "1e300"),
    ("ORSHOT_SETTLE_AFTER", "-5"),
    ("ORSHOT_API_KEY", "two words"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS)
def test_a_bad_setting_stops_apply_before_anything_is_marked(
    ws: Workspace, variable: str, value: str
) -> None:
    ws.post("launch", "accounts: [x]\ncontent: Launch day\n")
    head, remote = ws.head(), git(ws.remote, "rev-parse", "main")
    ws.monkeypatch.setenv(variable, value)
    run = ws.apply("--push")
    assert run.code == 1, run.output
    assert run.output.count("\n") == 1, run.output
    assert re.match(rf"error: (the Orshot API key|{variable}) ", run.output), run.output
    assert "Traceback" not in run.output and "crashed" not in run.output
    assert (ws.head(), git(ws.remote, "rev-parse", "main")) == (head, remote)
    assert not (ws.root / ".orshot").exists()
    assert ws.requests() == 0


SECRET_PLACES = [
    ("ORSHOT_BASE_URL", "https://api.orshot.com/?key=" + API_KEY),
    ("ORSHOT_BASE_URL", "https://api.orshot.com#" + API_KEY),
    ("ORSHOT_BASE_URL", API_KEY + "://api.orshot.com"),
    ("ORSHOT_BASE_URL", "https://api.orshot.com:" + API_KEY),
    ("ORSHOT_BASE_URL", "http://" + API_KEY),
    ("ORSHOT_BASE_URL", "https://" + API_KEY + "@api.orshot.com"),
    ("ORSHOT_BASE_URL", API_KEY),
    ("ORSHOT_RATE_LIMIT", API_KEY),
    ("ORSHOT_RATE_LIMIT", "10/" + API_KEY),
    ("ORSHOT_SETTLE_AFTER", API_KEY),
]


@pytest.mark.parametrize(("variable", "value"), SECRET_PLACES)
def test_a_key_in_the_wrong_variable_is_never_printed(
    ws: Workspace, variable: str, value: str
) -> None:
    ws.post("launch", "accounts: [x]\ncontent: Launch day\n")
    ws.monkeypatch.setenv(variable, value)
    runs = [ws.apply(), ws.apply("--push")]
    if variable != "ORSHOT_SETTLE_AFTER":  # only apply reads that one
        runs.append(ws.cli("accounts"))
    for run in runs:
        assert run.code == 1, run.output
        assert variable in run.output, run.output
        assert API_KEY not in run.output and API_KEY[8:24] not in run.output, run.output
        assert API_KEY.lower()[8:24] not in run.output.lower(), run.output
    assert ws.requests() == 0 and not (ws.root / ".orshot").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e300", "soon"])
def test_a_bad_settle_after_flag_is_a_usage_error(ws: Workspace, value: str) -> None:
    ws.post("launch", "accounts: [x]\ncontent: Launch day\n")
    run = ws.apply("--settle-after", value)
    assert run.code == 2, run.output
    assert "--settle-after" in run.output and "Traceback" not in run.output
    assert ws.requests() == 0 and not (ws.root / ".orshot").exists()


def test_good_settings_pass() -> None:
    check_environment(
        {
            "ORSHOT_BASE_URL": "http://[::1]:8787/v1/",
            "ORSHOT_RATE_LIMIT": "20/2",
            "ORSHOT_SETTLE_AFTER": "0",
            "ORSHOT_API_KEY": API_KEY,
        }
    )
    check_environment({})
    with pytest.raises(UserError, match="ORSHOT_SETTLE_AFTER"):
        check_environment({"ORSHOT_SETTLE_AFTER": "later"})


def test_a_key_in_the_base_urls_path_is_hidden_in_connection_errors() -> None:
    """A path is allowed (a proxy may serve the API under one), so a key pasted there is only
    found when a request fails: the error names the URL with the key hidden."""
    from orshot_gitops.orshot.client import OrshotClient

    client = OrshotClient(
        "http://127.0.0.1:9/" + API_KEY, API_KEY, sleep=lambda s: None, max_retries=0
    )
    with client, pytest.raises(UserError) as caught:
        client.list_accounts()
    assert "cannot connect to http://127.0.0.1:9/<hidden>" in str(caught.value)
    assert API_KEY not in f"{caught.value} {caught.value.hint}"


def test_a_deeply_nested_event_payload_is_a_user_error(tmp_path: Path) -> None:
    from orshot_gitops.github.api import GitHubContext

    event = tmp_path / "event.json"
    event.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(UserError, match="GITHUB_EVENT_PATH"):
        GitHubContext.from_env({"GITHUB_EVENT_PATH": str(event)})


@pytest.mark.parametrize("value", ["~no_such_user_zz/cache", "/dev/null", "relative/dir"])
def test_an_unusable_cache_dir_means_no_cache_not_a_crash(ws: Workspace, value: str) -> None:
    ws.post("launch", "accounts: [x]\ncontent: Launch day\n")
    ws.monkeypatch.setenv("ORSHOT_CACHE_DIR", value)
    ws.monkeypatch.chdir(ws.root)
    run = ws.cli("validate")
    assert run.code == 0 and "crashed" not in run.output, run.output
    assert not (ws.root / "relative").exists()  # nothing written in the checkout


def test_the_push_hook_checks_its_settings_before_it_marks_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The post-receive hook runs apply --push: a bad ORSHOT_BASE_URL in the server's env
    file is said in one line to the pusher, and no intent commit lands on the server."""
    import subprocess

    from orshot_gitops.cli import main

    bare = tmp_path / "social.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    assert main(["hook", "install", "--server", "--repo", str(bare)]) == 0
    capsys.readouterr()
    (bare / "orshot.env").write_text(
        f"ORSHOT_API_KEY={API_KEY}\nORSHOT_BASE_URL=http://127.0.0.1:abc/?k={API_KEY}\n"
    )
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    (clone / "orshot.yaml").write_text("accounts:\n  x: {id: 1, platform: twitter}\n")
    (clone / "posts").mkdir()
    (clone / "posts" / "p.yaml").write_text("accounts: [x]\ncontent: hi\n")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "hello")
    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=clone, capture_output=True, text=True
    )
    said = pushed.stderr
    assert "remote: error: ORSHOT_BASE_URL " in said, said
    assert "crashed" not in said and API_KEY not in said and "Traceback" not in said
    assert git(bare, "log", "--format=%s", "main").splitlines() == ["hello"]


def test_the_ci_apply_checks_its_settings_before_it_pushes_an_intent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ci` on a push to main is apply --push: a bad ORSHOT_BASE_URL is one line, and
    nothing (no intent commit) reaches the remote."""
    from fake_github import FakeGitHub
    from test_github_ci import LAUNCH, Runner, make_repo

    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = make_repo(tmp_path / "seed", {"posts/launch.yaml": LAUNCH})
    git(seed, "push", "-q", str(remote), "main")
    git(tmp_path, "clone", "-q", str(remote), "checkout")
    before = git(remote, "rev-parse", "main")
    with FakeGitHub() as github:
        runner = Runner(tmp_path, github.api_url, monkeypatch)
        runner.push()
        runner.env.update({"ORSHOT_API_KEY": API_KEY, "ORSHOT_BASE_URL": "http://[::1]x"})
        code, out, err = runner.run(capsys, "--repo", str(tmp_path / "checkout"))
    assert code == 1, out + err
    assert "ORSHOT_BASE_URL " in err and "crashed" not in err, out + err
    assert git(remote, "rev-parse", "main") == before
    assert not (tmp_path / "checkout" / ".orshot").exists()


def test_a_brands_malformed_key_stops_its_apply_without_echoing_it(ws: Workspace) -> None:
    """api_key_env: the brand's own variable is checked before anything is marked, never
    printed; ORSHOT_API_KEY (another brand's, say) is not read at all."""
    ws.set_config(ws.root.joinpath("orshot.yaml").read_text() + "api_key_env: ORSHOT_API_KEY_B\n")
    ws.post("launch", "accounts: [x]\ncontent: Launch day\n")
    ws.monkeypatch.setenv("ORSHOT_API_KEY_B", "sk_brand two_words")
    head = ws.head()
    run = ws.apply()
    assert run.code == 1
    assert "sk_brand" not in run.output and "two_words" not in run.output
    assert "spaces or unprintable characters" in run.output
    assert ws.head() == head and ws.sent() == []
