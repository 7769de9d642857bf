"""The sandbox's accounts and publish endpoints, against the contract in shared/orshot-api."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import FakeClock

from orshot_gitops.sandbox import SandboxServer

PNG = "https://cdn.example.com/launch.png"
MP4 = "https://cdn.example.com/teaser.mp4"
Client = Callable[..., httpx.Client]
Factory = Callable[..., SandboxServer]

EXPIRED_WORKSPACE = {
    "accounts": [
        {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"},
        {
            "id": 2,
            "platform": "linkedin",
            "username": "acme-inc",
            "name": "Acme Inc",
            "token_expired": True,
        },
    ]
}


def publish(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/social/publish", json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert isinstance(data, dict)
    return data


# --- accounts ------------------------------------------------------------------------------------


def test_accounts_are_the_documented_default_workspace(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    response = sandbox_client(sandbox).get("/v1/social/accounts")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data[0] == {
        "id": 1,
        "platform": "twitter",
        "account_name": "Acme HQ",
        "account_username": "acmehq",
    }
    assert [(a["id"], a["platform"], a["account_username"], a["account_name"]) for a in data] == [
        (1, "twitter", "acmehq", "Acme HQ"),
        (2, "linkedin", "acme-inc", "Acme Inc"),
        (3, "instagram", "acmeinsta", "Acme"),
        (4, "facebook", "acmefb", "Acme"),
        (5, "pinterest", "acmepins", "Acme"),
        (6, "tiktok", "acmetok", "Acme"),
        (7, "youtube", "acmetube", "Acme"),
        (8, "googlebusiness", "acme-store", "Acme Store"),
    ]


def test_account_health_flags_an_expired_token(
    sandbox_factory: Factory, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox_factory(EXPIRED_WORKSPACE))
    data = client.get("/v1/social/accounts", params={"include_health": "true"}).json()["data"]
    assert [(a["id"], a["requires_reconnect"]) for a in data] == [(1, False), (2, True)]


# --- publish: success shapes and statuses ----------------------------------------------------------


def test_publish_now_answers_the_documented_shape(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    response = sandbox_client(sandbox).post(
        "/v1/social/publish",
        json={"accounts": [1, 2], "content": "Hello", "media_url": PNG},
    )
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "20"
    assert response.headers["X-RateLimit-Remaining"] == "19"
    assert "Retry-After" not in response.headers
    body = response.json()
    assert set(body) == {"data"}
    assert (body["data"]["post_id"], body["data"]["status"]) == (1, "published")
    twitter, linkedin = body["data"]["platforms"]
    assert re.fullmatch(r"https://twitter\.com/acmehq/status/\d{19}", twitter.pop("url"))
    assert twitter == {
        "account_id": 1,
        "platform": "twitter",
        "username": "acmehq",
        "name": "Acme HQ",
        "status": "published",
    }
    assert re.fullmatch(
        r"https://linkedin\.com/feed/update/urn:li:share:\d{19}", linkedin.pop("url")
    )
    assert linkedin == {
        "account_id": 2,
        "platform": "linkedin",
        "username": "acme-inc",
        "name": "Acme Inc",
        "status": "published",
    }


def test_draft_schedule_partial_failed_and_processing_statuses(
    sandbox_factory: Factory, sandbox_client: Client, fake_clock: FakeClock
) -> None:
    client = sandbox_client(sandbox_factory(EXPIRED_WORKSPACE, clock=fake_clock))
    drafted = publish(client, accounts=[1, 2], content="d", media_url=PNG, isDraft=True)
    assert drafted["status"] == "drafted"
    assert [(p["status"], p["url"]) for p in drafted["platforms"]] == [
        ("drafted", None),
        ("drafted", None),
    ]

    scheduled = publish(
        client, accounts=[1], content="s", schedule={"scheduledFor": "2030-03-17T18:00:00Z"}
    )
    assert scheduled["status"] == "scheduled"
    assert [p["status"] for p in scheduled["platforms"]] == ["scheduled"]

    partial = publish(client, accounts=[1, 2], content="p")
    assert partial["status"] == "partial"
    assert [p["status"] for p in partial["platforms"]] == ["published", "failed"]

    failed = publish(client, accounts=[2], content="f")
    assert failed["status"] == "failed"


def test_instagram_and_tiktok_publish_as_processing(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    result = publish(sandbox_client(sandbox), accounts=[3, 6], content="reel", media_url=MP4)
    assert result["status"] == "processing"
    assert [(p["platform"], p["status"], p["url"]) for p in result["platforms"]] == [
        ("instagram", "processing", None),
        ("tiktok", "processing", None),
    ]


def test_a_schedule_without_offset_is_read_in_the_given_timezone(
    sandbox_factory: Factory, sandbox_client: Client, fake_clock: FakeClock
) -> None:
    client = sandbox_client(sandbox_factory(clock=fake_clock))
    # 13:48:40 in New York (EDT, UTC-4) is 17:48:40Z: two minutes after the clock's start.
    post_id = publish(
        client,
        accounts=[1],
        content="tz",
        schedule={"scheduledFor": "2030-03-17T13:48:40"},
        timezone="America/New_York",
    )["post_id"]
    post = client.get(f"/v1/social/posts/{post_id}").json()["data"]
    assert post["scheduled_for"] == "2030-03-17T17:48:40.000000+00:00"


# --- publish: every documented error ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"content": "no accounts"}, 400, "Missing or empty accounts array"),
        ({"accounts": [], "content": "x"}, 400, "Missing or empty accounts array"),
        ({"accounts": 1, "content": "x"}, 400, "Missing or empty accounts array"),
        ({"accounts": [1], "content": "x" * 5001}, 400, "Content exceeds 5000 characters"),
        (
            {"accounts": [1], "schedule": {"scheduledFor": "next tuesday"}},
            400,
            "Invalid schedule.scheduledFor timestamp",
        ),
        ({"accounts": [1], "schedule": {}}, 400, "Invalid schedule.scheduledFor timestamp"),
        (
            {"accounts": [1], "schedule": {"scheduledFor": "2030-03-17T17:47:39Z"}},
            400,
            "Scheduled time must be at least 60 seconds in the future",
        ),
        (
            {"accounts": [1], "schedule": {"scheduledFor": "2020-01-01T00:00:00Z"}},
            400,
            "Scheduled time must be at least 60 seconds in the future",
        ),
        ({"accounts": [99, "x"]}, 400, "No valid connected accounts found for the given IDs"),
        (
            {"accounts": [6, 7], "media_url": PNG},
            422,
            "No compatible platforms for the media format",
        ),
        (
            {"accounts": [1, 2], "media_url": "https://cdn.example.com/deck.pdf"},
            422,
            "No compatible platforms for the media format",
        ),
        ({"accounts": [1], "timezone": "Mars/Olympus"}, 400, "Invalid timezone"),
        ({"accounts": [1], "isDraft": "yes"}, 400, "isDraft must be a boolean"),
    ],
)
def test_publish_refusals(
    sandbox_factory: Factory,
    sandbox_client: Client,
    fake_clock: FakeClock,
    body: dict[str, Any],
    status: int,
    error: str,
) -> None:
    server = sandbox_factory(clock=fake_clock)
    client = sandbox_client(server)
    response = client.post("/v1/social/publish", json=body)
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert response.headers["X-RateLimit-Limit"] == "20"
    assert response.headers["X-RateLimit-Remaining"] == "19"
    assert client.get("/_sandbox/posts").json() == {"data": []}


def test_a_schedule_exactly_sixty_seconds_ahead_is_accepted(
    sandbox_factory: Factory, sandbox_client: Client, fake_clock: FakeClock
) -> None:
    client = sandbox_client(sandbox_factory(clock=fake_clock))
    result = publish(client, accounts=[1], schedule={"scheduledFor": "2030-03-17T17:47:40Z"})
    assert result["status"] == "scheduled"


@pytest.mark.parametrize("key", [None, "wrong-key", "sandbox-but-longer"])
def test_a_missing_or_unknown_key_is_403(
    sandbox: SandboxServer, sandbox_client: Client, key: str | None
) -> None:
    client = sandbox_client(sandbox, key=key)
    for response in (
        client.post("/v1/social/publish", json={"accounts": [1], "content": "x"}),
        client.get("/v1/social/accounts"),
    ):
        assert (response.status_code, response.json()) == (
            403,
            {"error": "Missing or invalid API key"},
        )
        assert response.headers["X-RateLimit-Limit"] == "20"
        assert response.headers["X-RateLimit-Remaining"] == "20"  # refused: nothing spent


def test_a_non_bearer_scheme_is_403(sandbox: SandboxServer) -> None:
    response = httpx.get(
        sandbox.base_url + "/v1/social/accounts",
        headers={"Authorization": "Basic sandbox"},
        timeout=30,
    )
    assert response.status_code == 403


def test_incompatible_accounts_fail_inside_an_otherwise_valid_request(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    result = publish(sandbox_client(sandbox), accounts=[1, 6, 7, 99], content="x", media_url=PNG)
    assert result["status"] == "partial"
    assert [(p["platform"], p["status"], p.get("error")) for p in result["platforms"]] == [
        ("twitter", "published", None),
        ("tiktok", "failed", "Media processing failed: PNG is not supported on TikTok"),
        ("youtube", "failed", "Media processing failed: PNG is not supported on YouTube"),
    ]


def test_video_is_refused_on_google_business_only(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    result = publish(sandbox_client(sandbox), accounts=[7, 8], content="x", media_urls=[MP4])
    assert [(p["platform"], p["status"]) for p in result["platforms"]] == [
        ("youtube", "published"),
        ("googlebusiness", "failed"),
    ]


# --- realistic platform behaviour ------------------------------------------------------------------


def test_the_same_content_twice_on_one_account_is_a_duplicate(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    first = publish(client, accounts=[1], content="Same words", media_url=PNG)
    assert first["status"] == "published"
    second = publish(client, accounts=[1, 2], content="Same words", media_url=PNG)
    assert second["status"] == "partial"
    assert [(p["account_id"], p["status"], p.get("error")) for p in second["platforms"]] == [
        (1, "failed", "Duplicate content"),
        (2, "published", None),
    ]
    # Other media is other content; drafts never collide.
    assert publish(client, accounts=[1], content="Same words", media_url=MP4)["status"] == (
        "published"
    )
    drafted = publish(client, accounts=[1], content="Same words", media_url=PNG, isDraft=True)
    assert drafted["status"] == "drafted"
    # ... until that draft is sent.
    sent = client.post(f"/v1/social/posts/{drafted['post_id']}/publish").json()["data"]
    assert (sent["status"], sent["platforms"][0]["error"]) == ("failed", "Duplicate content")


def test_a_scheduled_post_blocks_the_same_content(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    schedule = {"scheduledFor": "2099-01-01T00:00:00Z"}
    assert publish(client, accounts=[2], content="Soon", schedule=schedule)["status"] == "scheduled"
    again = publish(client, accounts=[2], content="Soon")
    assert (again["status"], again["platforms"][0]["error"]) == ("failed", "Duplicate content")


def test_an_expired_token_fails_only_that_account_with_a_reconnect_action(
    sandbox_factory: Factory, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox_factory(EXPIRED_WORKSPACE))
    result = publish(client, accounts=[1, 2], content="x")
    assert result["status"] == "partial"
    assert result["platforms"][1] == {
        "account_id": 2,
        "platform": "linkedin",
        "username": "acme-inc",
        "name": "Acme Inc",
        "status": "failed",
        "url": None,
        "error": "Account token expired — reconnect required",
        "action": "reconnect",
    }


def test_unknown_ids_beside_valid_ones_are_skipped(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    result = publish(sandbox_client(sandbox), accounts=[1, 42, 1, "2"], content="x")
    assert [p["account_id"] for p in result["platforms"]] == [1, 2]


def test_the_inspection_log_keeps_the_creating_request(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    body = {"accounts": [1, 6], "content": "Hi", "media_url": PNG, "timezone": "UTC"}
    post_id = publish(client, **body)["post_id"]
    (logged,) = client.get("/_sandbox/posts").json()["data"]
    url = logged["platforms"][0].pop("url")
    assert url.startswith("https://twitter.com/acmehq/status/")
    assert logged == {
        "post_id": post_id,
        "created_at": logged["created_at"],
        "request": body,
        "status": "partial",
        "platforms": [
            {
                "account_id": 1,
                "platform": "twitter",
                "username": "acmehq",
                "status": "published",
                "error": None,
            },
            {
                "account_id": 6,
                "platform": "tiktok",
                "username": "acmetok",
                "status": "failed",
                "url": None,
                "error": "Media processing failed: PNG is not supported on TikTok",
            },
        ],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", logged["created_at"])


def test_permalinks_are_stable_across_sandboxes(
    sandbox_factory: Factory, sandbox_client: Client
) -> None:
    urls = []
    for _ in range(2):
        client = sandbox_client(sandbox_factory())
        urls.append(
            [p["url"] for p in publish(client, accounts=[1, 4, 5], content="x")["platforms"]]
        )
    assert urls[0] == urls[1]
    assert urls[0][1].startswith("https://facebook.com/acmefb/posts/")
    assert urls[0][2].startswith("https://pinterest.com/pin/")
