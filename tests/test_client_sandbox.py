"""The client against the real sandbox on loopback: every endpoint, pacing, 429s, retries, and
the promise that a create whose outcome is unknown is never sent twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from conftest import SandboxFactory

from orshot_gitops.orshot.client import (
    ApiError,
    AuthError,
    BadRequest,
    IncompatibleMedia,
    NotFound,
    OrshotClient,
    PublishRequest,
    RateLimited,
    ServerError,
    UnknownOutcome,
)
from orshot_gitops.sandbox import SandboxConfig, SandboxServer

SECRET = "sk_live_Distinctive_Key_5b7d1e"
PNG = "https://storage.example.com/launch.png"


class AdvancingClock(Protocol):
    def __call__(self) -> float: ...
    def advance(self, seconds: float) -> None: ...


class Sleeper:
    """Sleeps by moving the clock the client and the sandbox share, so a rate-limit window
    costs no real time; remembers every wait."""

    def __init__(self, clock: AdvancingClock) -> None:
        self.clock = clock
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def sleeper(fake_clock: AdvancingClock) -> Sleeper:
    return Sleeper(fake_clock)


def client_for(server: SandboxServer, **options: Any) -> OrshotClient:
    options.setdefault("sleep", lambda seconds: None)
    return OrshotClient(server.base_url, server.api_key, **options)


def inspect(server: SandboxServer, path: str) -> Any:
    """The sandbox's own inspection endpoints: never rate limited, counted or faulted."""
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return httpx.get(server.base_url + path, headers=headers, timeout=30).json()


def stats(server: SandboxServer) -> dict[str, Any]:
    """The sandbox's counters, plus `server_errors`: the 500s it injected."""
    data = inspect(server, "/_sandbox/stats")
    assert isinstance(data, dict)
    by_status = data["by_endpoint"].values()
    data["server_errors"] = sum(counts.get("500", 0) for counts in by_status)
    return data


def logged_posts(server: SandboxServer) -> list[dict[str, Any]]:
    body = inspect(server, "/_sandbox/posts")
    posts = body["data"]
    assert isinstance(posts, list)
    return posts


def draft(*accounts: int, content: str = "Our new pricing is live.") -> PublishRequest:
    return PublishRequest(accounts=accounts, content=content, media_url=PNG, is_draft=True)


# --- every endpoint ----------------------------------------------------------------------------


def test_list_accounts_with_and_without_health(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        accounts = client.list_accounts()
        healthy = client.list_accounts(include_health=True)
    twitter = next(a for a in accounts if a.id == 1)
    assert (twitter.platform, twitter.username, twitter.name) == ("twitter", "acmehq", "Acme HQ")
    assert twitter.requires_reconnect is None
    assert all(a.requires_reconnect is False for a in healthy)


def test_a_reconnect_link_once_followed_makes_the_account_healthy(
    sandbox_factory: SandboxFactory,
) -> None:
    from dataclasses import replace

    from orshot_gitops.orshot.connect import create_reconnect_link

    config = SandboxConfig.default()
    expired = tuple(replace(a, token_expired=a.id == 4) for a in config.accounts)
    server = sandbox_factory(replace(config, accounts=expired))
    with client_for(server) as client:
        assert {
            a.id for a in client.list_accounts(include_health=True) if a.requires_reconnect
        } == {4}
        link = create_reconnect_link(client, "facebook", 4, "https://acme.example/back")
        assert link.url.startswith("https://") and (link.account_id, link.platform) == (
            4,
            "facebook",
        )
        session = link.url.rsplit("/", 1)[-1]
        headers = {"Authorization": f"Bearer {server.api_key}"}
        done = f"{server.base_url}/_sandbox/connect-sessions/{session}/complete"
        assert httpx.post(done, headers=headers, timeout=30).status_code == 200
        assert not any(a.requires_reconnect for a in client.list_accounts(include_health=True))
        with pytest.raises(ApiError) as refused:
            create_reconnect_link(client, "facebook", 99)
    assert refused.value.status == 404


def test_draft_edit_publish_by_id_and_the_guard_against_a_second_publish(
    sandbox: SandboxServer,
) -> None:
    with client_for(sandbox) as client:
        created = client.publish(draft(1, 2))
        assert created.status == "drafted"
        assert {p.platform for p in created.platforms} == {"twitter", "linkedin"}

        held = client.get_post(created.post_id)
        assert (held.status, held.is_editable, held.is_discardable) == ("draft", True, True)
        assert held.media_urls == (PNG,)
        assert {a.account_id for a in held.accounts} == {1, 2}

        edited = client.update_post(created.post_id, content="Pricing, revised.")
        assert (edited.id, edited.content) == (created.post_id, "Pricing, revised.")

        published = client.publish_post(created.post_id)
        assert published.post_id == created.post_id
        assert published.status == "published"
        assert all(p.url for p in published.platforms)

        with pytest.raises(BadRequest, match="Only draft or scheduled"):
            client.publish_post(created.post_id)
        with pytest.raises(BadRequest, match="already been published"):
            client.discard_post(created.post_id)
        after = client.get_post(created.post_id)
        assert after.status == "published" and after.published_at


def test_discard_a_draft_then_it_is_gone(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        post_id = client.publish(draft(1)).post_id
        client.discard_post(post_id)
        with pytest.raises(NotFound, match="Post not found"):
            client.get_post(post_id)
        with pytest.raises(NotFound):
            client.discard_post(post_id)  # a plain second discard is still an error


def test_list_posts_follows_the_cursor_newest_first_with_filters(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        ids = [client.publish(draft(1, content=f"post {i}")).post_id for i in range(7)]
        linkedin = client.publish(draft(2, content="linkedin only")).post_id
        listed = [p.id for p in client.list_posts(status="draft", limit=3)]
        assert listed == sorted([*ids, linkedin], reverse=True)
        assert [p.id for p in client.list_posts(platform="linkedin")] == [linkedin]
        assert [p.id for p in client.list_posts(account_id=2, status="draft")] == [linkedin]
        assert list(client.list_posts(status="published")) == []


def test_render_one_page_many_pages_and_with_publish(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        single = client.render(123, {"title": "Launch"})
        assert len(single.media_urls) == 1 and single.media_urls[0].startswith("http")
        assert single.publish is None

        carousel = client.render(456, {"page1@slideTitle": "One"})
        assert len(carousel.media_urls) == 3

        rendered = client.render(
            123,
            {"title": "Launch"},
            publish=PublishRequest(accounts=(1,), content="Rendered and posted", is_draft=True),
        )
        assert rendered.publish is not None
        assert [(r.platform, r.status) for r in rendered.publish] == [("twitter", "drafted")]


def test_a_processing_post_settles_through_sync(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        result = client.publish(
            PublishRequest(accounts=(3,), content="to instagram", media_url=PNG)
        )
        assert result.status == "processing"
        synced = client.sync_post(result.post_id)
        assert synced.post_id == result.post_id
        assert (synced.synced, synced.status) == (True, "published")
        assert synced.platforms[0].url
        assert client.sync_post(result.post_id).synced is False


def test_schedule_by_patch_keeps_the_post_id(sandbox: SandboxServer) -> None:
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    with client_for(sandbox) as client:
        post_id = client.publish(draft(2)).post_id
        scheduled = client.update_post(post_id, status="scheduled", scheduled_for=later)
        assert (scheduled.id, scheduled.status) == (post_id, "scheduled")
        assert scheduled.scheduled_for


def test_server_refusals_are_typed_errors_with_the_server_message(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        with pytest.raises(BadRequest) as bad:
            client.publish(PublishRequest(accounts=(), content="x"))
        assert "accounts" in bad.value.server_message
        with pytest.raises(IncompatibleMedia):
            client.publish(
                PublishRequest(accounts=(6, 7), content="x", media_url=PNG, is_draft=True)
            )
        with pytest.raises(NotFound):
            client.get_post(987654)
    with (
        OrshotClient(sandbox.base_url, "not-a-key", sleep=lambda s: None) as stranger,
        pytest.raises(AuthError) as denied,
    ):
        stranger.list_accounts()
    assert denied.value.status in (400, 403)


# --- pacing and 429 ----------------------------------------------------------------------------


def test_pacing_from_a_hint_draws_no_429(
    sandbox_factory: Callable[..., SandboxServer], sleeper: Sleeper
) -> None:
    server = sandbox_factory({"rate_limit": {"requests": 5, "per_seconds": 2}}, clock=sleeper.clock)
    waits: list[tuple[float, str]] = []
    with client_for(
        server,
        clock=sleeper.clock,
        sleep=sleeper,
        rate_limit=(5, 2.0),
        on_wait=lambda s, r: waits.append((s, r)),
    ) as client:
        for _ in range(12):
            client.list_accounts()
    assert stats(server)["rate_limited"] == 0
    # Hint and headers agree here: the wait is the same whichever names it.
    assert waits and all("5 requests per 2 s" in r or "Remaining: 0" in r for _, r in waits)
    assert sum(sleeper.sleeps) == pytest.approx(4.0, abs=0.1)  # 12 requests: 3 windows of 5


def test_pacing_from_headers_alone_draws_no_429(
    sandbox_factory: Callable[..., SandboxServer], sleeper: Sleeper
) -> None:
    # No hint: the client learns the limit from X-RateLimit-*, and the window from the
    # sandbox's RateLimit-Policy (2 s), not Orshot's documented minute (issue 19).
    server = sandbox_factory({"rate_limit": {"requests": 5, "per_seconds": 2}}, clock=sleeper.clock)
    waits: list[tuple[float, str]] = []
    with client_for(
        server, clock=sleeper.clock, sleep=sleeper, on_wait=lambda s, r: waits.append((s, r))
    ) as client:
        for _ in range(12):
            client.list_accounts()
    assert stats(server)["rate_limited"] == 0
    assert len(sleeper.sleeps) == 2
    assert all("Remaining: 0" in reason for _, reason in waits)
    assert sum(sleeper.sleeps) == pytest.approx(4.0, abs=0.1)  # 12 requests: 3 windows of 5


def test_pacing_in_real_time_draws_no_429(sandbox_factory: Callable[..., SandboxServer]) -> None:
    # Real clocks on both sides (monotonic here, wall time there): the margins must hold.
    server = sandbox_factory({"rate_limit": {"requests": 5, "per_seconds": 0.5}})
    with client_for(server, sleep=time.sleep, rate_limit=(5, 0.5)) as client:
        for _ in range(12):
            client.list_accounts()
    assert stats(server)["rate_limited"] == 0


def test_a_429_from_a_shared_limit_is_waited_out_and_retried(
    sandbox_factory: Callable[..., SandboxServer], sleeper: Sleeper
) -> None:
    server = sandbox_factory({"rate_limit": {"requests": 5, "per_seconds": 2}}, clock=sleeper.clock)
    waits: list[tuple[float, str]] = []
    with (
        client_for(server, clock=sleeper.clock, sleep=sleeper) as first,
        client_for(
            server, clock=sleeper.clock, sleep=sleeper, on_wait=lambda s, r: waits.append((s, r))
        ) as second,
    ):
        for _ in range(5):
            first.list_accounts()
        # The second client knows nothing yet: its first request draws a 429. Even a create
        # may be retried after a 429, because the limiter refuses before doing anything.
        created = second.publish(draft(1))
    assert created.status == "drafted"
    assert stats(server)["rate_limited"] == 1
    assert len(waits) == 1 and "429" in waits[0][1]
    assert 0 < waits[0][0] <= 2.0
    assert len(logged_posts(server)) == 1


def test_rate_limited_when_retries_run_out(
    sandbox_factory: Callable[..., SandboxServer], sleeper: Sleeper
) -> None:
    server = sandbox_factory(
        {"rate_limit": {"requests": 1, "per_seconds": 60}}, clock=sleeper.clock
    )
    with client_for(server, clock=sleeper.clock, sleep=sleeper) as first:
        first.list_accounts()
    with (
        client_for(server, clock=sleeper.clock, sleep=sleeper, max_retries=0) as second,
        pytest.raises(RateLimited) as info,
    ):
        second.list_accounts()
    assert info.value.retry_after is not None and info.value.retry_after > 0
    assert "wait" in str(info.value)


# --- faults: retries where safe, UnknownOutcome where not --------------------------------------


def test_reads_are_retried_through_server_errors(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory({"faults": {"server_error_rate": 0.5, "seed": 7}})
    slept: list[float] = []
    with client_for(server, sleep=slept.append, max_retries=8) as client:
        for _ in range(10):
            assert len(client.list_accounts()) == 8
    assert slept, "with half the answers failing, some retries must have happened"
    assert stats(server)["server_errors"] == len(slept)


def test_a_read_that_always_fails_gives_up_with_a_server_error(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory({"faults": {"server_error_rate": 1.0}})
    slept: list[float] = []
    with (
        client_for(server, sleep=slept.append, max_retries=3) as client,
        pytest.raises(ServerError) as info,
    ):
        client.get_post(1)
    assert info.value.status == 500
    assert len(slept) == 3
    # Equal jitter keeps each wait in [ceiling/2, ceiling]: the waits grow despite the jitter.
    assert slept == sorted(slept) and 0.25 <= slept[0] <= 0.5 and 1.0 <= slept[2] <= 2.0


def test_a_create_answered_500_is_an_unknown_outcome_and_not_repeated(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory({"faults": {"server_error_rate": 1.0}})
    with client_for(server) as client, pytest.raises(UnknownOutcome) as info:
        client.publish(draft(1, 2))
    assert info.value.status == 500
    assert (info.value.method, info.value.request_path) == ("POST", "/v1/social/publish")
    assert "accounts=[1, 2]" in info.value.summary
    assert stats(server)["requests"] == 1


def test_a_draft_create_may_opt_in_to_retrying_server_errors(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory({"faults": {"server_error_rate": 0.5, "seed": 3}})
    with client_for(server, max_retries=10) as client:
        results = [
            client.publish(draft(1, content=f"d{i}"), retry_server_errors=True) for i in range(4)
        ]
    assert all(r.status == "drafted" for r in results)
    assert stats(server)["server_errors"] > 0


def test_a_lost_answer_to_a_publish_is_unknown_and_the_post_exists_exactly_once(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory({"faults": {"drop_response_rate": 1.0}})
    with client_for(server, timeout=30.0) as client, pytest.raises(UnknownOutcome) as info:
        client.publish(PublishRequest(accounts=(1,), content="exactly once", media_url=PNG))
    assert info.value.status == 0
    assert "exactly once" not in str(info.value)  # the caption stays out of the error
    posts = logged_posts(server)
    assert len(posts) == 1, "the client must not have sent the create again"
    assert posts[0]["request"]["content"] == "exactly once"
    assert "source" not in posts[0]["request"]  # no field the publish pages do not list
    assert posts[0]["status"] == "published"  # the work was done; only the answer was lost


def test_a_lost_answer_to_a_read_is_retried_then_a_server_error(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory({"faults": {"drop_response_rate": 1.0}})
    slept: list[float] = []
    with (
        client_for(server, sleep=slept.append, max_retries=2, timeout=30.0) as client,
        pytest.raises(ServerError),
    ):
        client.list_accounts()
    assert len(slept) == 2


def test_a_publish_by_id_whose_answer_was_lost_reports_what_happened(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    # Create the draft on a healthy sandbox, then publish it through one that drops answers,
    # over the same Posts Log. Seed 9 drops the first answer and lets the next ones through.
    data_dir = tmp_path / "shared-log"
    healthy = sandbox_factory({}, data_dir=data_dir)
    with client_for(healthy) as client:
        post_id = client.publish(draft(1)).post_id
    healthy.stop()
    flaky = sandbox_factory({"faults": {"drop_response_rate": 0.5, "seed": 9}}, data_dir=data_dir)
    waits: list[str] = []
    with client_for(flaky, timeout=30.0, on_wait=lambda s, r: waits.append(r)) as client:
        result = client.publish_post(post_id)
        assert (result.post_id, result.status) == (post_id, "published")
        assert result.platforms[0].url
    assert len(waits) == 1 and "no answer" in waits[0]
    assert stats(flaky)["by_endpoint"]["POST /v1/social/posts/{id}/publish"] == {"200": 1, "400": 1}
    assert [p["status"] for p in logged_posts(flaky)] == ["published"]


# --- the key stays secret ----------------------------------------------------------------------


def test_the_key_never_appears_in_errors_reprs_or_logs(
    sandbox_factory: Callable[..., SandboxServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = sandbox_factory({"api_keys": [SECRET]})
    errors: list[BaseException] = []
    with OrshotClient(server.base_url, SECRET, sleep=lambda s: None) as client:
        for attempt in (
            lambda: client.get_post(424242),
            lambda: client.publish(PublishRequest(accounts=(999,), content="x")),
            lambda: client.publish_post(424242),
            lambda: client.update_post(424242, content="x"),
        ):
            with pytest.raises(ApiError) as info:
                attempt()
            errors.append(info.value)
        texts = [repr(client)]
    with OrshotClient(server.base_url, SECRET + "-wrong", sleep=lambda s: None) as wrong:
        with pytest.raises(AuthError) as denied:
            wrong.list_accounts()
        errors.append(denied.value)
    faulty = sandbox_factory({"api_keys": [SECRET], "faults": {"server_error_rate": 1.0}})
    with OrshotClient(faulty.base_url, SECRET, sleep=lambda s: None) as client:
        for attempt in (lambda: client.list_accounts(), lambda: client.publish(draft(1))):
            with pytest.raises(ApiError) as info:
                attempt()
            errors.append(info.value)
    for error in errors:
        texts += [str(error), repr(error), *map(str, error.args)]
        texts += [str(getattr(error, name, "")) for name in ("message", "hint", "server_message")]
    texts += [record.getMessage() for record in caplog.records]
    assert all(SECRET not in text for text in texts)
    assert len(errors) == 7
