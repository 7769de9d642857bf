"""Many brands in one repository: each content root (`brands/acme/`, `brands/zen/`) plans,
applies and records on its own, with its own state and its own key, and a change to one never
touches the other's state, its history or its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from brands_helpers import ACME_KEY, ZEN_CONFIG, ZEN_KEY, Brands, git, sandbox_config, sent
from conftest import SandboxFactory


@pytest.fixture
def brands(tmp_path: Path) -> Brands:
    return Brands(tmp_path)


def test_a_brand_in_a_subfolder_applies_records_and_pushes_its_own_state(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x", "acme-li"))
    brands.post("zen", "calm", "Breathe in", ("zen-x",))
    zen_history = brands.history("brands/zen")

    run = brands.cli("apply", cwd=brands.root / "brands/acme/posts")
    assert run.code == 0, run.output
    assert [p["request"]["content"] for p in sent(server.base_url, ACME_KEY)] == [
        "Acme rockets are live"
    ]
    # The record is the brand's own, committed and pushed; the other brand is untouched.
    assert (brands.root / "brands/acme/.orshot/state.json").is_file()
    assert not (brands.root / ".orshot").exists()
    assert brands.state_bytes("zen") == {}
    assert brands.history("brands/zen") == zen_history
    assert git(brands.root, "status", "--porcelain") == ""
    assert brands.remote_history("brands/acme/.orshot")
    # The merge driver covers the subfolder's state file.
    attr = git(brands.root, "check-attr", "merge", "--", "brands/acme/.orshot/state.json")
    assert attr.endswith("merge: orshot-state")

    again = brands.cli("plan", "--detailed-exitcode", cwd=brands.root / "brands/acme")
    assert again.code == 0, again.output


def test_each_brand_sends_with_its_own_key_and_never_touches_the_other(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two Orshot workspaces: each accepts only its brand's key, so a brand that used the
    # other's key would be refused.
    acme_server = sandbox_factory(sandbox_config(ACME_KEY))
    zen_server = sandbox_factory(sandbox_config(ZEN_KEY))
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)
    monkeypatch.setenv("ORSHOT_API_KEY_ZEN", ZEN_KEY)
    brands.post("acme", "launch", "Acme rockets are live", ("acme-x",))
    brands.post("zen", "calm", "Breathe in", ("zen-x", "zen-li"))

    monkeypatch.setenv("ORSHOT_BASE_URL", zen_server.base_url)
    zen = brands.cli("apply", cwd=brands.root / "brands/zen")
    assert zen.code == 0, zen.output
    zen_state = brands.state_bytes("zen")
    zen_history = brands.remote_history("brands/zen")
    assert zen_state and zen_history

    monkeypatch.setenv("ORSHOT_BASE_URL", acme_server.base_url)
    acme = brands.cli("apply", cwd=brands.root / "brands/acme")
    assert acme.code == 0, acme.output
    assert [p["request"]["content"] for p in sent(acme_server.base_url, ACME_KEY)] == [
        "Acme rockets are live"
    ]
    assert [p["request"]["content"] for p in sent(zen_server.base_url, ZEN_KEY)] == ["Breathe in"]

    # A change to acme: applied, recorded, pushed; zen's state and history are as they were.
    brands.post("acme", "follow-up", "Acme rockets, the sequel", ("acme-x",))
    again = brands.cli("apply", cwd=brands.root / "brands/acme")
    assert again.code == 0, again.output
    assert brands.state_bytes("zen") == zen_state
    assert brands.remote_history("brands/zen") == zen_history
    for run in (zen, acme, again):
        assert ACME_KEY not in run.output and ZEN_KEY not in run.output
    tracked = git(
        brands.root, "grep", "-I", "-c", "-e", ACME_KEY, "-e", ZEN_KEY, "HEAD", check=False
    )
    assert tracked == ""


def test_a_brand_whose_key_variable_is_unset_names_it(
    brands: Brands, sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_factory(sandbox_config(ACME_KEY))
    monkeypatch.setenv("ORSHOT_BASE_URL", server.base_url)
    monkeypatch.setenv("ORSHOT_API_KEY", ACME_KEY)  # acme's key: never zen's
    monkeypatch.delenv("ORSHOT_API_KEY_ZEN", raising=False)
    brands.post("zen", "calm", "Breathe in", ("zen-x",))
    state = brands.state_bytes("zen")

    run = brands.cli("apply", cwd=brands.root / "brands/zen")
    assert run.code == 1, run.output
    assert "ORSHOT_API_KEY_ZEN is not set" in run.err
    assert "brands/zen" in run.err
    assert "Traceback" not in run.output
    assert sent(server.base_url, ACME_KEY) == []
    assert brands.state_bytes("zen") == state


@pytest.mark.parametrize(
    "value", ["GITHUB_TOKEN", "orshot_api_key_zen", "ORSHOT_API_KEY ZEN", "sk_live_pasted_KEY_123"]
)
def test_api_key_env_must_name_one_of_our_variables(brands: Brands, value: str) -> None:
    brands.write("brands/zen/orshot.yaml", ZEN_CONFIG.replace("ORSHOT_API_KEY_ZEN", value))
    brands.commit("zen: key variable")
    run = brands.cli("validate", cwd=brands.root / "brands/zen")
    assert run.code == 1, run.output
    assert "orshot.yaml:1:" in run.output
    assert "api_key_env" in run.output
    assert value not in run.output  # it may be a key pasted in the wrong place
    assert "Traceback" not in run.output
