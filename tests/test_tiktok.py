"""TikTok (issue 14, item 6): photo carousels (JPEG, PNG, WebP, 2 to 35 images) and TikTok's
settings, written as the TikTok account's platform_options and sent as the request's
top-level `tiktokSettings`. Real git, the sandbox on loopback; its Posts Log holds each
request as Orshot received it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SandboxFactory
from reconcile_helpers import ACCOUNTS, CONFIG, Workspace, sandbox_config

TOK = 6
TIKTOK_CONFIG = CONFIG.replace("accounts:\n", "accounts:\n  tok: {id: 6, platform: tiktok}\n")
IMAGES = "media_urls: [https://a.example/1.jpg, https://a.example/2.png, https://a.example/3.webp]"


@pytest.fixture
def ws(
    tmp_path: Path,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Workspace:
    tiktok = {"id": TOK, "platform": "tiktok", "username": "acmetok", "name": "Acme"}
    config = sandbox_config(accounts=[*ACCOUNTS, tiktok])
    return Workspace(tmp_path, sandbox_factory(config), monkeypatch, capsys, TIKTOK_CONFIG)


def test_a_tiktok_photo_carousel_goes_out_with_its_settings_as_tiktok_settings(
    ws: Workspace,
) -> None:
    ws.post(
        "2026/carousel",
        f"accounts: [tok, x]\ncontent: Behind the scenes\n{IMAGES}\n"
        "platform_options:\n  tok: {autoAddMusic: true}\n",
    )
    run = ws.apply()
    assert run.code == 0, run.output
    [post] = ws.sent()
    assert post["request"]["tiktokSettings"] == {"autoAddMusic": True}
    assert "platformOptions" not in post["request"]  # not per account: TikTok's own object
    statuses = {int(t["account_id"]): t["status"] for t in post["platforms"]}
    assert statuses == {TOK: "processing", 1: "published"}


def test_settings_changed_on_a_held_tiktok_draft_are_sent_again(ws: Workspace) -> None:
    # A draft Orshot holds cannot have its options edited (held.py): the new settings go out
    # in a new draft, so what the pull request showed is what Orshot holds.
    carousel = f"accounts: [tok]\ncontent: Soon\n{IMAGES}\ndraft: true\n"
    ws.post("2026/draft", carousel)
    assert ws.apply().code == 0
    ws.post("2026/draft", carousel + "platform_options:\n  tok: {autoAddMusic: true}\n")
    run = ws.apply()
    assert run.code == 0, run.output
    live = [p for p in ws.sent() if p["status"] != "discarded"]
    assert [p["request"].get("tiktokSettings") for p in live] == [{"autoAddMusic": True}]
