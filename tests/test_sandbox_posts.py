"""Post management in the sandbox: the Posts Log, edit/publish/discard guards, schedules that
fire, processing that settles, and persistence across restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock

from orshot_gitops.sandbox import SandboxServer

PNG = "https://cdn.example.com/launch.png"
Client = Callable[..., httpx.Client]
Factory = Callable[..., SandboxServer]
IN_TWO_MINUTES = "2030-03-17T17:48:40Z"  # FakeClock start + 120 s


def create(client: httpx.Client, **body: Any) -> int:
    response = client.post("/v1/social/publish", json=body)
    assert response.status_code == 200, response.text
    post_id = response.json()["data"]["post_id"]
    assert isinstance(post_id, int)
    return post_id


def get(client: httpx.Client, post_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/social/posts/{post_id}")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert isinstance(data, dict)
    return data


@pytest.fixture
def timed(
    sandbox_factory: Factory, sandbox_client: Client, fake_clock: FakeClock
) -> tuple[httpx.Client, FakeClock]:
    return sandbox_client(sandbox_factory(clock=fake_clock)), fake_clock


def test_a_draft_is_held_then_edited_then_published_once(
    timed: tuple[httpx.Client, FakeClock],
) -> None:
    client, clock = timed
    post_id = create(client, accounts=[1, 2], content="v1", media_url=PNG, isDraft=True)
    assert get(client, post_id) == {
        "id": post_id,
        "status": "draft",
        "content": "v1",
        "media_urls": [PNG],
        "platforms": ["linkedin", "twitter"],
        "accounts": [
            {
                "account_id": 1,
                "platform": "twitter",
                "username": "acmehq",
                "name": "Acme HQ",
                "status": "draft",
                "url": None,
            },
            {
                "account_id": 2,
                "platform": "linkedin",
                "username": "acme-inc",
                "name": "Acme Inc",
                "status": "draft",
                "url": None,
            },
        ],
        "is_editable": True,
        "is_discardable": True,
        "scheduled_for": None,
        "published_at": None,
        "created_at": "2030-03-17T17:46:40.000000+00:00",
        "render_id": None,
    }

    patched = client.patch(
        f"/v1/social/posts/{post_id}", json={"content": "v2", "media_urls": [], "accounts": [2]}
    )
    assert patched.status_code == 200
    post = patched.json()["data"]["post"]
    assert (post["id"], post["content"], post["media_urls"]) == (post_id, "v2", [])
    assert [a["account_id"] for a in post["accounts"]] == [2]

    clock.advance(10)
    published = client.post(f"/v1/social/posts/{post_id}/publish")
    assert published.status_code == 200
    data = published.json()["data"]
    assert (data["status"], data["post"]["status"], data["post"]["id"]) == (
        "published",
        "published",
        post_id,
    )
    assert data["post"]["published_at"] == "2030-03-17T17:46:50.000000+00:00"
    assert (data["post"]["is_editable"], data["post"]["is_discardable"]) == (False, False)
    (entry,) = data["platforms"]
    assert entry["url"].startswith("https://linkedin.com/feed/update/urn:li:share:")
    assert (entry["status"], entry["error"], entry["action"]) == ("published", None, None)

    again = client.post(f"/v1/social/posts/{post_id}/publish")
    assert (again.status_code, again.json()) == (
        400,
        {"error": "Only draft or scheduled posts can be published"},
    )
    edit = client.patch(f"/v1/social/posts/{post_id}", json={"content": "v3"})
    assert (edit.status_code, edit.json()) == (
        400,
        {"error": "Only draft or scheduled posts can be edited"},
    )
    discard = client.delete(f"/v1/social/posts/{post_id}")
    assert discard.status_code == 400
    assert discard.json()["error"] == "This post has already been published to at least one account"
    assert isinstance(discard.json()["message"], str)


def test_discarding_what_never_went_live(sandbox_factory: Factory, sandbox_client: Client) -> None:
    expired = {
        "accounts": [
            {"id": 1, "platform": "twitter", "username": "acmehq", "name": "Acme HQ"},
            {"id": 2, "platform": "linkedin", "username": "li", "token_expired": True},
        ]
    }
    client = sandbox_client(sandbox_factory(expired))
    draft = create(client, accounts=[1], content="d", isDraft=True)
    failed = create(client, accounts=[2], content="f")
    partial = create(client, accounts=[1, 2], content="p")
    assert get(client, failed)["status"] == "failed"
    assert (get(client, failed)["is_editable"], get(client, failed)["is_discardable"]) == (
        False,
        True,
    )

    for post_id in (draft, failed):
        response = client.delete(f"/v1/social/posts/{post_id}")
        assert (response.status_code, response.json()) == (200, {"data": {"success": True}})
        gone = client.get(f"/v1/social/posts/{post_id}")
        assert (gone.status_code, gone.json()) == (404, {"error": "Post not found"})
        assert client.delete(f"/v1/social/posts/{post_id}").status_code == 404
    assert client.delete(f"/v1/social/posts/{partial}").status_code == 400
    # The inspection log still shows what was discarded.
    logged = {p["post_id"]: p["status"] for p in client.get("/_sandbox/posts").json()["data"]}
    assert logged == {draft: "discarded", failed: "discarded", partial: "partial"}


@pytest.mark.parametrize("path", ["/v1/social/posts/987", "/v1/social/posts/abc"])
def test_unknown_posts_are_404_everywhere(
    sandbox: SandboxServer, sandbox_client: Client, path: str
) -> None:
    client = sandbox_client(sandbox)
    for response in (
        client.get(path),
        client.patch(path, json={"content": "x"}),
        client.delete(path),
        client.post(path + "/publish"),
        client.post(path + "/sync"),
    ):
        assert (response.status_code, response.json()) == (404, {"error": "Post not found"})


@pytest.mark.parametrize(
    ("patch", "status", "error"),
    [
        ({"status": "published"}, 400, "status must be 'draft' or 'scheduled'"),
        ({"status": "scheduled"}, 400, "scheduled_for is required for a scheduled post"),
        (
            {"status": "scheduled", "scheduled_for": "2030-03-17T17:47:00Z"},
            400,
            "Scheduled time must be at least 60 seconds in the future",
        ),
        ({"scheduled_for": "soon"}, 400, "Invalid scheduled_for timestamp"),
        ({"content": "x" * 5001}, 400, "Content exceeds 5000 characters"),
        ({"accounts": []}, 400, "Missing or empty accounts array"),
        ({"accounts": [404]}, 400, "No valid connected accounts found for the given IDs"),
        (
            {"media_url": "https://cdn.example.com/a.pdf"},
            422,
            "No compatible platforms for the media format",
        ),
    ],
)
def test_patch_refusals_leave_the_post_unchanged(
    timed: tuple[httpx.Client, FakeClock], patch: dict[str, Any], status: int, error: str
) -> None:
    client, _ = timed
    post_id = create(client, accounts=[1], content="keep", media_url=PNG, isDraft=True)
    before = get(client, post_id)
    response = client.patch(f"/v1/social/posts/{post_id}", json=patch)
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert get(client, post_id) == before


def test_a_draft_scheduled_by_patch_fires_when_its_time_comes(
    timed: tuple[httpx.Client, FakeClock],
) -> None:
    client, clock = timed
    post_id = create(client, accounts=[1, 3], content="later", media_url=PNG, isDraft=True)
    patched = client.patch(
        f"/v1/social/posts/{post_id}",
        json={"status": "scheduled", "scheduled_for": IN_TWO_MINUTES},
    ).json()["data"]["post"]
    assert (patched["id"], patched["status"], patched["scheduled_for"]) == (
        post_id,
        "scheduled",
        "2030-03-17T17:48:40.000000+00:00",
    )
    assert [a["status"] for a in patched["accounts"]] == ["scheduled", "scheduled"]
    assert (patched["is_editable"], patched["is_discardable"]) == (True, True)

    clock.advance(119)
    assert get(client, post_id)["status"] == "scheduled"
    clock.advance(1)
    fired = get(client, post_id)
    # Twitter is live at once; Instagram is still processing (it settles 2 s later).
    assert fired["status"] == "processing"
    assert fired["published_at"] == "2030-03-17T17:48:40.000000+00:00"
    assert [a["status"] for a in fired["accounts"]] == ["published", "processing"]
    clock.advance(2)
    settled = get(client, post_id)
    assert settled["status"] == "published"
    assert settled["accounts"][1]["url"].startswith("https://instagram.com/p/")
    logged = client.get("/_sandbox/posts").json()["data"]
    assert [p["status"] for p in logged] == ["published"]


def test_a_scheduled_post_can_be_published_now_or_moved(
    timed: tuple[httpx.Client, FakeClock],
) -> None:
    client, clock = timed
    first = create(client, accounts=[1], content="a", schedule={"scheduledFor": IN_TWO_MINUTES})
    moved = client.patch(
        f"/v1/social/posts/{first}", json={"scheduled_for": "2030-03-17T18:46:40Z"}
    ).json()["data"]["post"]
    assert moved["scheduled_for"] == "2030-03-17T18:46:40.000000+00:00"
    clock.advance(600)
    assert get(client, first)["status"] == "scheduled"

    second = create(
        client, accounts=[2], content="b", schedule={"scheduledFor": "2030-03-17T19:00:00Z"}
    )
    response = client.post(f"/v1/social/posts/{second}/publish").json()["data"]
    assert response["status"] == "published"
    assert client.post(f"/v1/social/posts/{second}/publish").status_code == 400


def test_processing_settles_through_sync(timed: tuple[httpx.Client, FakeClock]) -> None:
    client, clock = timed
    post_id = create(client, accounts=[6], content="clip", media_url="https://x.test/a.mp4")
    assert get(client, post_id)["status"] == "processing"
    assert get(client, post_id)["is_discardable"] is True  # in flight, landed nowhere yet
    clock.advance(1)
    assert get(client, post_id)["status"] == "processing"

    synced = client.post(f"/v1/social/posts/{post_id}/sync")
    assert synced.status_code == 200
    data = synced.json()["data"]
    assert (data["post"], data["synced"], data["status"]) == (
        {"id": post_id, "status": "published"},
        True,
        "published",
    )
    assert data["platforms"][0]["url"].startswith("https://tiktok.com/@acmetok/video/")
    again = client.post(f"/v1/social/posts/{post_id}/sync").json()["data"]
    assert (again["synced"], again["status"]) == (False, "published")


def test_the_processing_delay_is_configurable(
    sandbox_factory: Factory, sandbox_client: Client, fake_clock: FakeClock
) -> None:
    client = sandbox_client(sandbox_factory({"processing_seconds": 30}, clock=fake_clock))
    post_id = create(client, accounts=[3], content="slow", media_url=PNG)
    fake_clock.advance(29)
    assert get(client, post_id)["status"] == "processing"
    fake_clock.advance(1)
    assert get(client, post_id)["status"] == "published"


def test_the_log_lists_newest_first_with_filters_and_a_cursor(
    sandbox: SandboxServer, sandbox_client: Client
) -> None:
    client = sandbox_client(sandbox)
    drafts = [create(client, accounts=[1], content=f"d{i}", isDraft=True) for i in range(5)]
    live = create(client, accounts=[2], content="live")
    discarded = create(client, accounts=[1], content="gone", isDraft=True)
    assert client.delete(f"/v1/social/posts/{discarded}").status_code == 200

    first = client.get("/v1/social/posts", params={"limit": 4}).json()
    assert [p["id"] for p in first["data"]] == [live, drafts[4], drafts[3], drafts[2]]
    assert first["next_cursor"] == str(drafts[2])
    second = client.get("/v1/social/posts", params={"limit": 4, "cursor": first["next_cursor"]})
    assert second.json() == {"data": second.json()["data"], "next_cursor": None}
    assert [p["id"] for p in second.json()["data"]] == [drafts[1], drafts[0]]

    def ids(**params: Any) -> list[int]:
        return [p["id"] for p in client.get("/v1/social/posts", params=params).json()["data"]]

    assert ids() == [live, *reversed(drafts)]
    assert ids(status="draft") == list(reversed(drafts))
    assert ids(status="published") == [live]
    assert ids(platform="linkedin") == [live]
    assert ids(account_id=1, limit=2) == [drafts[4], drafts[3]]
    assert ids(status="failed") == []


def test_the_default_page_is_25_posts(sandbox: SandboxServer, sandbox_client: Client) -> None:
    client = sandbox_client(sandbox)
    for i in range(26):
        # Straight through the store: 26 requests would exceed the default rate limit.
        sandbox.app.workspace.create_post(
            _draft_spec(sandbox, f"p{i}"), request_json="{}", now=1_900_000_000.0 + i
        )
    page = client.get("/v1/social/posts").json()
    assert len(page["data"]) == 25
    assert page["next_cursor"] == "2"


def _draft_spec(server: SandboxServer, text: str) -> Any:
    from orshot_gitops.sandbox.validation import publish_spec

    return publish_spec({"accounts": [1], "content": text, "isDraft": True}, server.config, 0.0)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": 0}, "limit must be an integer between 1 and 50"),
        ({"limit": 51}, "limit must be an integer between 1 and 50"),
        ({"limit": "ten"}, "limit must be an integer between 1 and 50"),
        ({"cursor": "not-a-cursor"}, "Invalid cursor"),
        ({"account_id": "x"}, "account_id must be an integer"),
        (
            {"status": "live"},
            "status must be one of: draft, scheduled, published, processing, partial, failed",
        ),
    ],
)
def test_list_refusals(
    sandbox: SandboxServer, sandbox_client: Client, params: dict[str, Any], error: str
) -> None:
    response = sandbox_client(sandbox).get("/v1/social/posts", params=params)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_posts_survive_a_restart(
    sandbox_factory: Factory, sandbox_client: Client, tmp_path: Path, fake_clock: FakeClock
) -> None:
    data_dir = tmp_path / "log"
    first = sandbox_factory(clock=fake_clock, data_dir=data_dir)
    client = sandbox_client(first)
    draft = create(client, accounts=[1], content="kept", isDraft=True)
    scheduled = create(client, accounts=[2], content="s", schedule={"scheduledFor": IN_TWO_MINUTES})
    before = [get(client, draft), get(client, scheduled)]
    first.stop()

    second = sandbox_factory(clock=fake_clock, data_dir=data_dir)
    client = sandbox_client(second)
    assert [get(client, draft), get(client, scheduled)] == before
    assert create(client, accounts=[1], content="next") == scheduled + 1  # ids never reused
    # Time passed while the sandbox was down: the schedule fires on the first request.
    fake_clock.advance(3600)
    assert get(client, scheduled)["status"] == "published"
    assert client.post(f"/v1/social/posts/{draft}/publish").json()["data"]["status"] == (
        "published"
    )
