"""Where the sandbox reads Orshot's reference more literally than before: the posts list's
per-account `draft`, unknown request fields refused, an unknown template's 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from reconcile_helpers import Workspace, post_yaml

from orshot_gitops.orshot.errors import (
    ApiError,
    AuthError,
    NotFound,
    PaidPlanRequired,
    error_for_status,
)
from orshot_gitops.reconcile.failures import classify_error
from orshot_gitops.sandbox import SandboxServer

PNG = "https://cdn.example.com/launch.png"
Client = Callable[..., httpx.Client]
Factory = Callable[..., SandboxServer]


def _data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_held_draft_reads_draft_per_account_in_the_posts_log_and_drafted_in_the_answer(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    created = _data(
        client.post(
            "/v1/social/publish",
            json={"accounts": [1, 2], "content": "d", "media_url": PNG, "isDraft": True},
        )
    )
    # social-publish.md: the publish answer says `drafted` (overall and per account).
    assert created["status"] == "drafted"
    assert [p["status"] for p in created["platforms"]] == ["drafted", "drafted"]
    # The posts list / get reference: the post and each of its accounts are `draft`.
    post = _data(client.get(f"/v1/social/posts/{created['post_id']}"))
    assert post["status"] == "draft"
    assert [a["status"] for a in post["accounts"]] == ["draft", "draft"]
    (listed,) = _data(client.get("/v1/social/posts", params={"status": "draft"}))
    assert [a["status"] for a in listed["accounts"]] == ["draft", "draft"]
    synced = _data(client.post(f"/v1/social/posts/{created['post_id']}/sync"))
    assert [p["status"] for p in synced["platforms"]] == ["draft", "draft"]


# --- an unknown template: 403 "Template not found" (Orshot's error reference) ---------------


def test_an_unknown_template_is_a_403_template_not_found(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    response = sandbox_client(sandbox).post("/v1/studio/render", json={"templateId": 999})
    assert (response.status_code, response.json()) == (403, {"error": "Template not found"})


@pytest.mark.parametrize(
    ("message", "kind", "failure"),
    [
        ("Template not found", NotFound, "permanent"),
        # The reference prefixes some 403s with "Access Forbidden:"; naming the template makes
        # it the post's problem (fix render.template), not the key's.
        ("Access Forbidden: Template not found", NotFound, "permanent"),
        ("Access Forbidden: Authorization header is missing", AuthError, "transient"),
        ("Social publishing requires a paid plan", PaidPlanRequired, "transient"),
    ],
)
def test_each_403_is_told_apart_by_its_message(
    message: str, kind: type[ApiError], failure: str
) -> None:
    error = error_for_status(403, message, method="POST", path="/v1/studio/render")
    assert type(error) is kind
    assert classify_error(error) == failure
    if kind is NotFound:
        assert "render.template" in error.hint


def test_a_post_rendering_an_unknown_template_fails_once_and_is_not_sent_again(
    ws: Workspace,
) -> None:
    ws.post("2026/launch", post_yaml("Launch.", accounts=("x",), render={"template": 999}))
    run = ws.apply()
    assert run.code == 1, run.output
    assert "Template not found" in run.output
    assert "render.template" in run.output
    record = ws.record("2026/launch", "x")
    assert (record["status"], record.get("failure")) == ("failed", "permanent")
    assert ws.sent() == []
    renders = ws.calls("POST /v1/studio/render")
    assert renders == 1
    # A permanent failure waits for the post to change: the next apply sends nothing.
    ws.apply()
    assert ws.calls("POST /v1/studio/render") == renders
