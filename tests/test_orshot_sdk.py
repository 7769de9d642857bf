"""Orshot's own Python SDK (`orshot` 0.2.0 on PyPI) against the strict sandbox: what Orshot's
integrations send must be what the sandbox takes, or the sandbox is only our own reading.

The SDK's base URL is a module constant; pointing it at the sandbox is configuration, not a
mock: every request below crosses a real socket to the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orshot_gitops.sandbox import SandboxServer

Client = Callable[..., httpx.Client]


@pytest.fixture
def sdk(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    import orshot.orshot

    monkeypatch.setattr(orshot.orshot, "ORSHOT_API_BASE_URL", sandbox.base_url)
    return orshot.orshot.Orshot(sandbox.api_key)


def _render(sdk: Any, publish: dict[str, Any]) -> list[dict[str, Any]]:
    answer = sdk.render_from_studio_template(
        {"template_id": 123, "modifications": {"title": "Launch"}, "publish": publish}
    )
    assert answer["data"]["content"].startswith("https://")
    entries = answer["publish"]
    assert isinstance(entries, list)
    return entries


def test_the_sdk_publishes_now_drafts_schedules_and_passes_platform_options(
    sdk: Any, sandbox: SandboxServer, sandbox_client: Client
) -> None:
    now = _render(sdk, {"accounts": [1], "content": "Live now"})
    assert [(e["platform"], e["status"]) for e in now] == [("twitter", "published")]

    draft = _render(sdk, {"accounts": [1, 2], "content": "Later", "is_draft": True})
    assert [e["status"] for e in draft] == ["drafted", "drafted"]

    scheduled = _render(
        sdk,
        {
            "accounts": [2],
            "content": "Scheduled",
            "schedule": {"scheduled_for": "2099-01-15T10:00:00"},
            "timezone": "America/New_York",
        },
    )
    assert [e["status"] for e in scheduled] == ["scheduled"]

    options = _render(
        sdk,
        {
            "accounts": [2, 5],
            "content": "With options",
            "platform_options": {
                "2": {"firstComment": "More at acme.com", "disableLinkPreview": True},
                "5": {"title": "Launch", "link": "https://acme.com"},
            },
        },
    )
    assert [e["status"] for e in options] == ["published", "published"]

    log = sandbox_client(sandbox).get("/_sandbox/posts").json()["data"]
    assert [p["status"] for p in log] == ["published", "draft", "scheduled", "published"]
    # What the SDK sent is what the sandbox kept: its `source` and Orshot's field names.
    assert log[0]["request"]["source"] == "orshot-python-sdk"
    assert log[1]["request"]["publish"]["isDraft"] is True
    assert log[2]["request"]["publish"]["schedule"] == {"scheduledFor": "2099-01-15T10:00:00"}
    assert log[3]["request"]["publish"]["platformOptions"]["5"] == {
        "title": "Launch",
        "link": "https://acme.com",
    }
