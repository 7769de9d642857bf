"""`orshot-gitops accounts`, as a user runs it: against the sandbox, in all three formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from orshot_gitops.cli import main
from orshot_gitops.commands.accounts import aliases, as_table
from orshot_gitops.orshot.models import Account
from orshot_gitops.sandbox import SandboxServer

SECRET = "sk_live_Accounts_Cmd_Secret_91ac"


@pytest.fixture
def env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    monkeypatch.setenv("ORSHOT_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", sandbox.api_key)
    return sandbox


def test_table_lists_every_account_aligned(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "PLATFORM", "USERNAME", "NAME"]
    assert lines[1].split()[:3] == ["1", "twitter", "acmehq"]
    assert len(lines) == 1 + 8
    # Aligned: every row's username starts in the same column as the header's.
    column = lines[0].index("USERNAME")
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in lines[1:])
    assert all(line == line.rstrip() for line in lines)


def test_table_with_health(
    sandbox_factory: Callable[..., SandboxServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = sandbox_factory(
        {
            "accounts": [
                {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"},
                {
                    "id": 2,
                    "platform": "linkedin",
                    "username": "acme-inc",
                    "name": "Acme Inc",
                    "token_expired": True,
                },
            ]
        }
    )
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", server.api_key)
    assert main(["accounts", "--health"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "HEALTH"
    assert lines[1].endswith("ok")
    assert lines[2].endswith("reconnect required")


def test_json_has_a_stable_key_order(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts", "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [list(item) for item in items] == [["id", "platform", "username", "name"]] * 8
    assert items[0] == {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"}
    assert main(["accounts", "--format", "json", "--health"]) == 0
    assert all(item["requires_reconnect"] is False for item in json.loads(capsys.readouterr().out))


def test_yaml_is_a_ready_to_paste_accounts_block(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts", "--format", "yaml"]) == 0
    text = capsys.readouterr().out
    assert "  acmehq: {id: 1, platform: twitter}\n" in text
    assert "  acme-inc: {id: 2, platform: linkedin}\n" in text
    block = yaml.safe_load(text)
    assert list(block) == ["accounts"]
    assert block["accounts"]["acme-store"] == {"id": 8, "platform": "googlebusiness"}
    assert len(block["accounts"]) == 8


def test_yaml_block_passes_the_config_schema(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[1] / "schemas" / "config.schema.json").read_text())
    assert main(["accounts", "--format", "yaml"]) == 0
    jsonschema.validate(yaml.safe_load(capsys.readouterr().out), schema)


def test_missing_key_is_one_line_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ORSHOT_API_KEY", raising=False)
    assert main(["accounts"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "ORSHOT_API_KEY=sandbox" in err


def test_a_wrong_key_is_reported_without_echoing_it(
    env: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORSHOT_API_KEY", SECRET)
    assert main(["accounts"]) == 1
    captured = capsys.readouterr()
    assert "ORSHOT_API_KEY" in captured.err
    assert SECRET not in captured.err + captured.out


def test_plain_http_to_another_host_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORSHOT_BASE_URL", "http://api.orshot.com")
    monkeypatch.setenv("ORSHOT_API_KEY", SECRET)
    assert main(["accounts"]) == 1
    captured = capsys.readouterr()
    assert "plain http" in captured.err
    assert SECRET not in captured.err + captured.out


def _account(id: int, platform: str, username: str) -> Account:
    return Account(id=id, platform=platform, username=username, name=username)


def test_aliases_are_slugs_made_unique_by_platform_then_id() -> None:
    accounts = [
        _account(1, "twitter", "Acme"),
        _account(2, "linkedin", "acme"),
        _account(3, "twitter", "@Acme Inc."),
        _account(4, "instagram", "12345"),
        _account(5, "googlebusiness", ""),
        _account(6, "twitter", "acme"),
    ]
    names = aliases(accounts)
    assert names == {
        1: "acme-twitter-1",
        2: "acme-linkedin",
        3: "acme-inc",
        4: "instagram-12345",
        5: "googlebusiness",
        6: "acme-twitter-6",
    }
    # Whatever order the accounts come in, each keeps its alias.
    assert aliases(list(reversed(accounts))) == names


def test_table_of_no_health_info_says_unknown() -> None:
    text = as_table([_account(1, "twitter", "a")], health=True)
    assert text.splitlines()[1].endswith("unknown")
