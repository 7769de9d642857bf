"""Where the sandbox reads Orshot's reference more literally than before: the posts list's
per-account `draft`, unknown request fields refused, an unknown template's 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

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
