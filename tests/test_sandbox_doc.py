"""docs/sandbox.md names every key of the sandbox's config, and `sandbox --print-config` prints
the effective config: deterministic JSON, keys sorted, configured secrets left out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from orshot_gitops.cli import main
from orshot_gitops.sandbox import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs/sandbox.md"


def _key_paths(value: object, prefix: str = "") -> set[str]:
    """Every key of a config mapping, dotted (`rate_limit.requests`, `accounts[].platform`)."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}{key}"
            paths.add(path)
            paths |= _key_paths(inner, path + ".")
    elif isinstance(value, list):
        for item in value:
            paths |= _key_paths(item, prefix[:-1] + "[].")
    return paths


def _full_config() -> SandboxConfig:
    # Every optional key set, so every key shows up in the printed config.
    return SandboxConfig.from_mapping(
        {
            "accounts": [{"id": 1, "platform": "twitter", "username": "a", "token_expired": True}],
            "faults": {"seed": 7},
            "revoked_keys": ["old"],
        }
    )


def test_every_config_key_is_named_in_docs_sandbox_md() -> None:
    text = DOC.read_text(encoding="utf-8")
    keys = _key_paths(_full_config().to_mapping())
    assert len(keys) > 15
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert missing == [], f"docs/sandbox.md does not name: {missing}"


def test_the_docs_example_config_loads_and_shows_what_it_says(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    (example,) = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    path = tmp_path / "sandbox.yaml"
    path.write_text(example)
    config = SandboxConfig.load(path)
    platforms = {a.platform for a in config.accounts}
    assert {"snapchat", "googlebusiness", "bluesky"} <= platforms
    assert any(a.token_expired for a in config.accounts)
    assert len(config.templates) >= 3
    assert config.faults.drop_response_rate > 0 and config.faults.seed is not None
    assert yaml.safe_load(example)  # plain YAML, nothing else


def test_to_mapping_round_trips() -> None:
    config = _full_config()
    assert SandboxConfig.from_mapping(config.to_mapping(redact=False)) == config


def test_print_config_is_sorted_json_of_the_effective_config_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-live-do-not-print-9f8e7d"
    path = tmp_path / "sandbox.yaml"
    path.write_text(
        f"api_keys: [{secret}]\nrevoked_keys: [old-{secret}]\nrate_limit: {{requests: 5}}\n"
        "lenient: true\n"
    )
    assert main(["sandbox", "--config", str(path), "--print-config"]) == 0
    out, err = capsys.readouterr()
    assert secret not in out + err
    printed = json.loads(out)
    assert out == json.dumps(printed, indent=2, sort_keys=True) + "\n"
    assert printed["rate_limit"] == {"per_seconds": 60.0, "requests": 5}
    assert printed["lenient"] is True
    assert printed["api_keys"] == ["<from --config, not shown>"]
    assert printed["revoked_keys"] == ["<from --config, not shown>"]
    assert [a["platform"] for a in printed["accounts"]][-1] == "googlebusiness"
    # The same config prints the same bytes.
    assert main(["sandbox", "--config", str(path), "--print-config"]) == 0
    assert capsys.readouterr().out == out


def test_print_config_of_the_defaults_shows_the_public_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sandbox", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["api_keys"] == ["sandbox"]
    assert SandboxConfig.from_mapping(printed) == SandboxConfig.default()


def test_sandbox_help_shows_print_config(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    assert "orshot-gitops sandbox --print-config" in capsys.readouterr().out
