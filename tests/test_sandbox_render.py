"""POST /v1/studio/render in the sandbox: deterministic outputs, pages, and publishing."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orshot_gitops.sandbox import SandboxServer

Client = Callable[..., httpx.Client]
BASE = "https://storage.orshot.com/sandbox/renders/"


def render(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/studio/render", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer, dict)
    return answer


def test_a_one_page_render_is_one_deterministic_url(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    body = {"templateId": 123, "modifications": {"title": "Launch"}}
    answer = render(client, **body)
    key = json.dumps(
        {"format": "png", "modifications": {"title": "Launch"}, "templateId": 123},
        sort_keys=True,
        separators=(",", ":"),
    )
    expected = f"{BASE}{hashlib.sha256(key.encode()).hexdigest()[:16]}.png"
    assert set(answer) == {"data"}
    data = answer["data"]
    assert (data["content"], data["format"], data["type"]) == (expected, "png", "url")
    assert isinstance(data["responseTime"], float) and data["responseTime"] >= 0
    assert render(client, **body)["data"]["content"] == expected
    other = render(client, templateId="123", modifications={"title": "Other"})
    assert other["data"]["content"] != expected
    jpg = render(client, **body, response={"type": "url", "format": "jpg", "scale": 2})
    assert re.fullmatch(re.escape(BASE) + r"[0-9a-f]{16}\.jpg", jpg["data"]["content"])
    assert client.get("/_sandbox/posts").json() == {"data": []}  # no publish: no post


def test_a_multi_page_render_is_a_list_one_url_per_page(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    mods = {"page1@slideTitle": "One", "page2@slideTitle": "Two"}
    pages = render(client, templateId=456, modifications=mods)["data"]["content"]
    assert isinstance(pages, list) and len(pages) == 3
    stem = pages[0][len(BASE) : -len("-p1.png")]
    assert pages == [f"{BASE}{stem}-p{n}.png" for n in (1, 2, 3)]
    chosen = render(client, templateId=456, modifications=mods, response={"includePages": [2]})
    assert chosen["data"]["content"] == [pages[1]]
    named = render(client, templateId=456, response={"fileName": "Launch deck"})
    assert named["data"]["content"][0].endswith("/Launch-deck-p1.png")
    pdf = render(client, templateId=456, modifications=mods, response={"format": "pdf"})
    assert re.fullmatch(re.escape(BASE) + r"[0-9a-f]{16}\.pdf", pdf["data"]["content"])


def test_base64_output_is_a_data_uri(sandbox: SandboxServer, sandbox_client: Client) -> None:
    data = render(sandbox_client(sandbox), templateId=123, response={"type": "base64"})["data"]
    assert data["type"] == "base64"
    assert data["content"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"modifications": {}}, 400, "templateId missing"),
        ({"templateId": ""}, 400, "templateId missing"),
        ({"templateId": 999}, 403, "Template not found"),
        ({"templateId": "abc"}, 403, "Template not found"),
        ({"templateId": 123, "modifications": []}, 400, "modifications must be an object"),
        (
            {"templateId": 123, "response": {"format": "bmp"}},
            400,
            "response.format must be one of: png, jpg, jpeg, webp, gif, pdf, mp4, webm, avif, mov, mkv",
        ),
        (
            {"templateId": 123, "response": {"type": "binary"}},
            400,
            "response.type must be one of: url, base64",
        ),
        (
            {"templateId": 456, "response": {"includePages": [4]}},
            400,
            "response.includePages must list pages between 1 and 3",
        ),
    ],
)
def test_render_refusals(
    sandbox: SandboxServer,
    sandbox_client: Client,
    body: dict[str, Any],
    status: int,
    error: str,
) -> None:
    response = sandbox_client(sandbox).post("/v1/studio/render", json=body)
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_render_and_publish_posts_the_output_and_logs_the_post(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    body = {
        "templateId": 123,
        "modifications": {"title": "Live"},
        "response": {"type": "url", "format": "png"},
        "publish": {"accounts": [1, 6], "content": "Rendered and posted"},
    }
    answer = render(client, **body)
    url = answer["data"]["content"]
    twitter, tiktok = answer["publish"]
    assert (twitter["platform"], twitter["username"], twitter["status"]) == (
        "twitter",
        "acmehq",
        "published",
    )
    assert twitter["url"].startswith("https://twitter.com/acmehq/status/")
    assert (tiktok["status"], tiktok["error"]) == (
        "failed",
        "Media processing failed: PNG is not supported on TikTok",
    )
    (post,) = client.get("/v1/social/posts").json()["data"]
    assert (post["media_urls"], post["render_id"], post["status"]) == ([url], 1, "partial")
    (logged,) = client.get("/_sandbox/posts").json()["data"]
    assert logged["request"] == body


def test_a_multi_page_render_publishes_a_carousel_as_a_draft(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    answer = render(
        client,
        templateId=456,
        publish={"accounts": [2], "content": "Carousel", "isDraft": True},
    )
    assert [(p["platform"], p["status"]) for p in answer["publish"]] == [("linkedin", "drafted")]
    (post,) = client.get("/v1/social/posts", params={"status": "draft"}).json()["data"]
    assert post["media_urls"] == answer["data"]["content"]
    assert len(post["media_urls"]) == 3


@pytest.mark.parametrize(
    ("publish", "expected"),
    [
        ({"accounts": []}, []),
        (
            {"accounts": [6, 77]},
            [
                {
                    "account_id": 6,
                    "platform": "tiktok",
                    "username": "acmetok",
                    "name": "Acme",
                    "status": "failed",
                    "url": None,
                    "error": "No compatible platforms for the media format",
                },
                {
                    "account_id": 77,
                    "status": "failed",
                    "error": "No compatible platforms for the media format",
                },
            ],
        ),
        (
            {"accounts": [1], "schedule": {"scheduledFor": "yesterday"}},
            [
                {
                    "account_id": 1,
                    "platform": "twitter",
                    "username": "acmehq",
                    "name": "Acme HQ",
                    "status": "failed",
                    "url": None,
                    "error": "Invalid schedule.scheduledFor timestamp",
                }
            ],
        ),
    ],
)
def test_a_publish_failure_never_fails_the_render(
    sandbox: SandboxServer,
    sandbox_client: Client,
    publish: dict[str, Any],
    expected: list[dict[str, Any]],
) -> None:
    client = sandbox_client(sandbox)
    answer = render(client, templateId=123, publish=publish)
    assert answer["data"]["content"].startswith(BASE)
    assert answer["publish"] == expected
    assert client.get("/_sandbox/posts").json() == {"data": []}


def test_render_ids_count_every_render(sandbox: SandboxServer, sandbox_client: Client) -> None:
    client = sandbox_client(sandbox)
    render(client, templateId=123)
    render(client, templateId=123, publish={"accounts": [1], "isDraft": True})
    (post,) = client.get("/v1/social/posts").json()["data"]
    assert post["render_id"] == 2
