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


# --- unknown request fields: 400 naming the field, unless the sandbox is `lenient` ----------


def _log(client: httpx.Client) -> list[dict[str, Any]]:
    data = _data(client.get("/_sandbox/posts"))
    assert isinstance(data, list)
    return data


def test_a_misspelt_draft_flag_is_refused_and_nothing_goes_out(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    body = {"accounts": [1], "content": "not yet", "media_url": PNG, "status": "draft"}
    response = client.post("/v1/social/publish", json=body)
    assert response.status_code == 400
    assert "'status'" in response.json()["error"]
    assert _log(client) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/social/publish", {"accounts": [1], "content": "x", "draft": True}, "draft"),
        (
            "POST",
            "/v1/social/publish",
            {"accounts": [1], "scheduledFor": "2099-01-01"},
            "scheduledFor",
        ),
        (
            "POST",
            "/v1/social/publish",
            {"accounts": [1], "platform_options": {}},
            "platform_options",
        ),
        ("POST", "/v1/studio/render", {"templateId": 123, "modification": {}}, "modification"),
        ("POST", "/v1/studio/render", {"templateId": 123, "isDraft": True}, "isDraft"),
    ],
)
def test_an_unknown_top_level_field_is_a_400_naming_it(
    sandbox: SandboxServer,
    sandbox_client: Client,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    client = sandbox_client(sandbox)
    response = client.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert f"'{field}'" in response.json()["error"]
    assert _log(client) == []


def test_unknown_fields_on_a_held_post_change_nothing(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    created = _data(
        client.post(
            "/v1/social/publish",
            json={"accounts": [1], "content": "v1", "media_url": PNG, "isDraft": True},
        )
    )
    path = f"/v1/social/posts/{created['post_id']}"
    for method, suffix, body, field in (
        ("PATCH", "", {"content": "v2", "isDraft": False}, "isDraft"),
        ("PATCH", "", {"scheduledFor": "2099-01-01T00:00:00Z"}, "scheduledFor"),
        # Not a PATCH field: it used to be ignored, so an options edit looked done and was not.
        ("PATCH", "", {"platformOptions": {"1": {"firstComment": "x"}}}, "platformOptions"),
        ("POST", "/publish", {"scheduled_for": "2099-01-01T00:00:00Z"}, "scheduled_for"),
        ("POST", "/sync", {"force": True}, "force"),
    ):
        response = client.request(method, path + suffix, json=body)
        assert response.status_code == 400, (method, suffix, response.text)
        assert f"'{field}'" in response.json()["error"]
    post = _data(client.get(path))
    assert (post["status"], post["content"]) == ("draft", "v1")


def test_an_unknown_field_in_a_renders_publish_object_posts_nothing(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    body = {"templateId": 123, "publish": {"accounts": [1], "content": "x", "draft": True}}
    answer = client.post("/v1/studio/render", json=body)
    assert answer.status_code == 200  # the render itself is fine: publishing never blocks it
    (entry,) = answer.json()["publish"]
    assert entry["status"] == "failed" and "'draft'" in entry["error"]
    assert _log(client) == []


def test_a_lenient_sandbox_accepts_extra_fields(
    sandbox_factory: Factory, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox_factory({"lenient": True}))
    body = {"accounts": [1], "content": "x", "media_url": PNG, "via": "zapier"}
    assert _data(client.post("/v1/social/publish", json=body))["status"] == "published"


def test_our_client_sends_only_documented_fields(sandbox: SandboxServer) -> None:
    from orshot_gitops.orshot.client import OrshotClient
    from orshot_gitops.orshot.models import PublishRequest

    with OrshotClient(sandbox.base_url, sandbox.api_key) as client:
        client.publish(PublishRequest(accounts=(1,), content="hi", media_url=PNG, is_draft=True))
        client.render(123, {}, publish=PublishRequest(accounts=(2,), content="hi", is_draft=True))
    with httpx.Client(base_url=sandbox.base_url) as raw:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        logged = raw.get("/_sandbox/posts", headers=headers).json()["data"]
    assert [sorted(p["request"]) for p in logged] == [
        ["accounts", "content", "isDraft", "media_url"],
        ["modifications", "publish", "response", "templateId"],
    ]
    assert sorted(logged[1]["request"]["publish"]) == ["accounts", "content", "isDraft"]
