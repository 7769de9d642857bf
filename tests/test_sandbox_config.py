"""The sandbox's configuration: defaults, overrides from a mapping or a file, one-line errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from orshot_gitops.errors import UserError
from orshot_gitops.sandbox import Faults, RateLimit, SandboxAccount, SandboxConfig, SandboxTemplate


def test_the_defaults_are_the_documented_workspace() -> None:
    config = SandboxConfig.default()
    assert config.api_keys == ("sandbox",)
    assert config.rate_limit == RateLimit(requests=20, per_seconds=60.0)
    assert config.faults == Faults(latency_ms=0, server_error_rate=0.0, drop_response_rate=0.0)
    assert config.processing_seconds == 2.0
    assert [(a.id, a.platform, a.username, a.name) for a in config.accounts] == [
        (1, "twitter", "acmehq", "Acme HQ"),
        (2, "linkedin", "acme-inc", "Acme Inc"),
        (3, "instagram", "acmeinsta", "Acme"),
        (4, "facebook", "acmefb", "Acme"),
        (5, "pinterest", "acmepins", "Acme"),
        (6, "tiktok", "acmetok", "Acme"),
        (7, "youtube", "acmetube", "Acme"),
        (8, "googlebusiness", "acme-store", "Acme Store"),
    ]
    assert not any(a.token_expired for a in config.accounts)
    assert config.templates == (
        SandboxTemplate(123, 1),
        SandboxTemplate(456, 3, ("slideTitle", "title", "subtitle", "image")),
    )
    assert config.templates[0].parameters == ("title", "subtitle", "image", "price")
    assert SandboxConfig.from_mapping({}) == config


def test_a_mapping_overrides_what_it_names_and_merges_limits_and_faults() -> None:
    config = SandboxConfig.from_mapping(
        {
            "api_keys": ["k1", "k2"],
            "rate_limit": {"requests": 5},
            "accounts": [
                {"id": 9, "platform": "bluesky", "username": "acme.bsky", "token_expired": True}
            ],
            "templates": [{"id": 7, "pages": 2}],
            "faults": {"drop_response_rate": 0.25, "seed": 3},
        }
    )
    assert config.api_keys == ("k1", "k2")
    assert config.rate_limit == RateLimit(requests=5, per_seconds=60.0)
    assert config.accounts == (SandboxAccount(9, "bluesky", "acme.bsky", "acme.bsky", True),)
    assert config.templates == (SandboxTemplate(7, 2),)
    assert config.faults == Faults(drop_response_rate=0.25, seed=3)
    assert dataclasses.replace(config, processing_seconds=0.0).processing_seconds == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.api_keys = ()  # type: ignore[misc]


def test_a_file_in_yaml_or_json(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("rate_limit:\n  requests: 3\n  per_seconds: 1.5\n")
    (tmp_path / "s.json").write_text('{"faults": {"latency_ms": 20}}')
    (tmp_path / "empty.yml").write_text("")
    assert SandboxConfig.load(tmp_path / "s.yaml").rate_limit == RateLimit(3, 1.5)
    assert SandboxConfig.load(str(tmp_path / "s.json")).faults.latency_ms == 20
    assert SandboxConfig.load(tmp_path / "empty.yml") == SandboxConfig.default()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ratelimit": {}}, "sandbox config: unknown key 'ratelimit'"),
        ({"api_keys": []}, "sandbox config: api_keys must be a non-empty list"),
        ({"api_keys": ["ok", ""]}, "sandbox config: api_keys[1] must be a non-empty string"),
        (
            {"rate_limit": {"requests": 0}},
            "sandbox config: rate_limit.requests must be an integer >= 1, got 0",
        ),
        (
            {"rate_limit": {"requests": True}},
            "sandbox config: rate_limit.requests must be an integer >= 1, got True",
        ),
        (
            {"faults": {"server_error_rate": 1.5}},
            "sandbox config: faults.server_error_rate must be a number between 0.0 and 1.0, "
            "got 1.5",
        ),
        ({"faults": {"crash": 1}}, "sandbox config: faults: unknown key 'crash'"),
        ({"accounts": [{"id": 1, "platform": "myspace", "username": "a"}]}, "is not one of"),
        ({"accounts": [{"id": 1, "platform": "twitter"}]}, "accounts[0] needs 'username'"),
        (
            {
                "accounts": [
                    {"id": 1, "platform": "twitter", "username": "a"},
                    {"id": 1, "platform": "linkedin", "username": "b"},
                ]
            },
            "sandbox config: duplicate account id 1",
        ),
        ({"templates": [{"id": 1, "pages": 0}]}, "templates[0].pages must be an integer >= 1"),
        ({"processing_seconds": -1}, "processing_seconds must be a number >= 0.0"),
    ],
)
def test_bad_config_is_one_user_error(data: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError) as info:
        SandboxConfig.from_mapping(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("faults: [unclosed\n")
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "list.yaml").write_text("- 1\n")
    for name, message in [
        ("bad.yaml", "sandbox config is not valid YAML"),
        ("bad.json", "sandbox config is not valid JSON"),
        ("list.yaml", "the top level must be a mapping"),
        ("missing.yaml", "cannot read sandbox config"),
    ]:
        with pytest.raises(UserError) as info:
            SandboxConfig.load(tmp_path / name)
        assert info.value.path == str(tmp_path / name)
        assert message in str(info.value) and "\n" not in str(info.value)
