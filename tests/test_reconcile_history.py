"""History git cannot show, and names that change: a moved post, a renamed account alias, a
shallow clone or a state that went backwards must never make the reconciler post again what
already went out. The sandbox's Posts Log is the ground truth of what went out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SandboxFactory
from reconcile_helpers import CONFIG, Workspace, actions, post_yaml, sandbox_config


@pytest.fixture
def ws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Workspace]:
    yield Workspace(tmp_path, sandbox_factory(sandbox_config()), monkeypatch, capsys)


# --- an account alias renamed (same Orshot id) ------------------------------------------------


def test_renaming_an_account_alias_republishes_nothing(ws: Workspace) -> None:
    ws.post("launch", post_yaml("We launched", accounts=("x", "li")))
    ws.post(
        "later",
        post_yaml("Coming soon", accounts=("x",), schedule="2099-01-01T09:00", timezone="UTC"),
    )
    assert ws.apply().code == 0
    sent_before = ws.sent()
    held_id = ws.record("later", "x")["post_id"]

    # The alias `x` becomes `acme-x`: the same Orshot account, id 1.
    ws.write("orshot.yaml", CONFIG.replace("  x: {id: 1", "  acme-x: {id: 1"))
    ws.write("posts/launch.yaml", post_yaml("We launched", accounts=("acme-x", "li")))
    ws.write(
        "posts/later.yaml",
        post_yaml("Coming soon", accounts=("acme-x",), schedule="2099-01-01T09:00", timezone="UTC"),
    )
    ws.commit("rename the x alias")

    assert actions(ws.plan_json()) == []
    run = ws.apply()
    assert run.code == 0, run.output
    assert ws.sent() == sent_before  # nothing new, nothing discarded
    assert ws.record("launch", "acme-x")["status"] == "published"
    assert ws.record("later", "acme-x")["post_id"] == held_id
    assert "x" not in ws.state()["posts"]["launch"]["accounts"]

    # And an edit after the rename edits the held post in place, under the new alias.
    ws.post(
        "later",
        post_yaml(
            "Coming sooner", accounts=("acme-x",), schedule="2099-01-01T09:00", timezone="UTC"
        ),
    )
    assert actions(ws.plan_json()) == [("later", "acme-x", "edit")]
