"""The client's rules that need no server: base URLs, the key's secrecy, pacing arithmetic,
parsing of odd bodies, and retries against a port nobody listens on."""

from __future__ import annotations

import socket

import pytest

from orshot_gitops.errors import UserError
from orshot_gitops.orshot.client import (
    ApiError,
    OrshotClient,
    PublishRequest,
    ServerError,
    normalize_base_url,
)
from orshot_gitops.orshot.errors import (
    AuthError,
    BadRequest,
    IncompatibleMedia,
    NotFound,
    PaidPlanRequired,
    RateLimited,
    error_for_status,
)
from orshot_gitops.orshot.models import Malformed, parse_posts_page, parse_render
from orshot_gitops.orshot.pacing import RatePacer, parse_policy

KEY = "sk_live_DoNotLeak_7c1f2e9a"


class FakeTime:
    """A clock that only moves when someone sleeps: waits are recorded, never spent."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://api.orshot.com", "https://api.orshot.com"),
        ("https://api.orshot.com/", "https://api.orshot.com"),
        ("https://api.orshot.com/v1", "https://api.orshot.com"),
        ("https://api.orshot.com/v1/", "https://api.orshot.com"),
        ("  http://127.0.0.1:8765/v1 ", "http://127.0.0.1:8765"),
        ("http://127.10.0.3:9", "http://127.10.0.3:9"),
        ("http://localhost:8765", "http://localhost:8765"),
        ("http://[::1]:8765/", "http://[::1]:8765"),
        ("https://proxy.example.com/orshot", "https://proxy.example.com/orshot"),
    ],
)
def test_base_url_is_the_origin_whatever_the_user_typed(given: str, origin: str) -> None:
    assert normalize_base_url(given) == origin


@pytest.mark.parametrize(
    "url",
    [
        "http://api.orshot.com",
        "http://10.0.0.5:8765",
        "http://128.0.0.1",
        "http://localhost.example.com",
        "ftp://api.orshot.com",
        "api.orshot.com",
        "https://user:secret@api.orshot.com",
    ],
)
def test_plain_http_and_odd_urls_are_refused_with_a_user_error(url: str) -> None:
    with pytest.raises(UserError) as info:
        OrshotClient(url, KEY)
    assert "https://" in str(info.value)
    assert KEY not in str(info.value)


def test_from_env_needs_a_key_and_says_how_to_get_one() -> None:
    with pytest.raises(UserError) as info:
        OrshotClient.from_env({"ORSHOT_BASE_URL": "http://127.0.0.1:1"})
    assert "ORSHOT_API_KEY" in str(info.value)
    assert "ORSHOT_API_KEY=sandbox" in info.value.hint


def test_from_env_defaults_to_the_real_api() -> None:
    with OrshotClient.from_env({"ORSHOT_API_KEY": KEY}) as client:
        assert client.base_url == "https://api.orshot.com"


def test_the_key_is_not_in_the_repr() -> None:
    client = OrshotClient("https://api.orshot.com", KEY)
    assert KEY not in repr(client)
    assert "hidden" in repr(client)
    client.close()


def test_a_key_with_spaces_is_refused_without_echoing_it() -> None:
    with pytest.raises(UserError) as info:
        OrshotClient("https://api.orshot.com", KEY + " extra")
    assert KEY not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_retried_with_growing_backoff_then_a_server_error() -> None:
    fake = FakeTime()
    waits: list[tuple[float, str]] = []
    client = OrshotClient(
        f"http://127.0.0.1:{_closed_port()}",
        KEY,
        clock=fake.clock,
        sleep=fake.sleep,
        max_retries=3,
        on_wait=lambda s, r: waits.append((s, r)),
    )
    with client, pytest.raises(ServerError) as info:
        client.list_accounts()
    assert len(fake.sleeps) == 3
    # Equal jitter: each wait is in [ceiling/2, ceiling] and the ceiling doubles.
    for attempt, seconds in enumerate(fake.sleeps, start=1):
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert ceiling / 2 <= seconds <= ceiling
    assert [s for s, _ in waits] == fake.sleeps
    assert all("cannot connect" in reason for _, reason in waits)
    assert "nothing was sent" in str(info.value)
    assert KEY not in str(info.value)


def test_a_create_that_never_connected_is_safe_to_retry() -> None:
    # No byte left the machine, so even a publish may be retried: the rule is about what the
    # server may have seen, not about the method.
    fake = FakeTime()
    client = OrshotClient(
        f"http://127.0.0.1:{_closed_port()}", KEY, clock=fake.clock, sleep=fake.sleep
    )
    with client, pytest.raises(ServerError) as info:
        client.publish(PublishRequest(accounts=(1,), content="hi", is_draft=True))
    assert len(fake.sleeps) == client.max_retries
    assert info.value.after_uncertain_attempt is False


# --- pacing arithmetic -------------------------------------------------------------------------


def test_pacer_with_a_hint_keeps_under_n_per_period_from_the_first_request() -> None:
    fake = FakeTime()
    pacer = RatePacer(fake.clock, (3, 10.0))
    sent = []
    for _ in range(7):
        seconds, _reason = pacer.next_wait()
        fake.sleep(seconds)
        sent.append(fake.now)
        pacer.record()
    # Any 10-second window holds at most 3 sends.
    for t in sent:
        assert sum(1 for u in sent if t <= u < t + 10.0) <= 3
    assert sent[-1] - sent[0] == pytest.approx(20.0)


def test_pacer_waits_for_the_window_once_remaining_is_zero() -> None:
    fake = FakeTime()
    pacer = RatePacer(fake.clock)
    pacer.record(limit=2, remaining=1)
    fake.sleep(5)
    pacer.record(limit=2, remaining=0)
    seconds, reason = pacer.next_wait()
    # The older of our two requests frees its slot 60 s (the documented window) after it.
    assert seconds == pytest.approx(55.0)
    assert "Remaining: 0" in reason


def test_pacer_assumes_other_clients_used_the_rest_of_the_window() -> None:
    fake = FakeTime()
    pacer = RatePacer(fake.clock)
    pacer.record(limit=20, remaining=0)  # our first request, and the window is already full
    seconds, _ = pacer.next_wait()
    assert seconds == pytest.approx(60.0)


def test_pacer_waits_out_the_window_the_server_states_before_the_hint_and_the_minute() -> None:
    """Issue 19: the window a full `Remaining: 0` is waited out over is the server's
    `RateLimit-Policy` when it sends one, else ORSHOT_RATE_LIMIT's period, else a minute."""
    waits = {}
    for name, hint, policy in (
        ("documented", None, None),
        ("hint", (20, 5.0), None),
        ("stated", None, (20, 2.0)),
        ("stated over hint", (20, 5.0), (20, 2.0)),
    ):
        fake = FakeTime()
        pacer = RatePacer(fake.clock, hint)
        pacer.record(limit=20, remaining=0, policy=policy)
        waits[name] = pacer.next_wait()[0]
    assert waits == pytest.approx(
        {"documented": 60.0, "hint": 5.0, "stated": 2.0, "stated over hint": 2.0}
    )


def test_pacer_takes_the_limit_from_the_policy_when_the_limit_header_is_missing() -> None:
    fake = FakeTime()
    pacer = RatePacer(fake.clock)
    pacer.record(remaining=1, policy=(2, 2.0))
    fake.sleep(0.5)
    pacer.record(remaining=0)  # a later answer without the policy keeps the stated window
    assert (pacer.limit, pacer.window) == (2, 2.0)
    assert pacer.next_wait()[0] == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("header", "policy"),
    [
        ('"workspace";q=20;w=2', (20, 2.0)),  # draft-ietf-httpapi-ratelimit-headers-08 on
        ("20;w=2", (20, 2.0)),  # drafts -06 and -07
        ('"burst";q=100;w=60, "daily";q=1000;w=86400', (100, 60.0)),  # the shortest window
        ('"daily";q=1000;w=86400,"burst";q=5;w=1', (5, 1.0)),
        (' "x" ; q=3 ; w=0.5 ', (3, 0.5)),
        ("", None),
        ("20", None),  # no window: not ours to guess
        ('"w";q=20;w=0', None),
        ('"w";q=0;w=2', None),
        ('"w";q=-1;w=2', None),
        ('"w";q=20;w=-2', None),
        ('"w";q=20;w=inf', None),
        ('"w";q=20;w=nan', None),
        ('"w";q=20;w=1e9', None),
        ('"w";q=twenty;w=2', None),
        ("garbage;;;==,,", None),
    ],
)
def test_a_rate_limit_policy_header_is_read_or_ignored(
    header: str, policy: tuple[int, float] | None
) -> None:
    assert parse_policy(header) == policy


def test_pacer_does_not_wait_while_requests_remain() -> None:
    fake = FakeTime()
    pacer = RatePacer(fake.clock)
    pacer.record(limit=20, remaining=19)
    assert pacer.next_wait()[0] == 0


# --- errors and parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (403, "Missing or invalid API key", AuthError),
        (400, "Invalid API Key", AuthError),
        (401, "Unauthorized", AuthError),
        (403, "Social publishing requires a paid plan", PaidPlanRequired),
        (403, "Subscription inactive", PaidPlanRequired),
        (403, "Template not found", NotFound),
        (400, "Missing or empty accounts array", BadRequest),
        (404, "Post not found", NotFound),
        (422, "No compatible platforms for the media format", IncompatibleMedia),
        (429, "Rate limit exceeded", RateLimited),
        (503, "Service Unavailable", ServerError),
        (418, "I'm a teapot", ApiError),
    ],
)
def test_errors_are_typed_by_status_and_message(
    status: int, message: str, kind: type[ApiError]
) -> None:
    error = error_for_status(status, message, method="POST", path="/v1/social/publish")
    assert type(error) is kind
    assert error.status == status
    text = str(error)
    assert "\n" not in text
    assert message in text and "POST /v1/social/publish" in text
    assert error.hint and error.hint in text


def test_posts_page_cursor_is_found_at_the_top_or_inside_data() -> None:
    post = {"id": 1, "status": "draft"}
    assert parse_posts_page({"data": [post], "next_cursor": "abc"})[1] == "abc"
    assert parse_posts_page({"data": {"posts": [post], "next_cursor": 7}})[1] == "7"
    posts, cursor = parse_posts_page({"data": [post], "next_cursor": None})
    assert cursor is None and posts[0].id == 1 and posts[0].media_urls == ()


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"nodata": 1},
        {"data": {"content": 5}},
        {"data": {"content": []}},
        {"data": {"content": ["ok", 3]}},
    ],
)
def test_a_malformed_render_body_is_malformed_not_a_key_error(body: object) -> None:
    with pytest.raises(Malformed):
        parse_render(body)


def test_render_content_is_always_a_tuple_of_urls() -> None:
    one = parse_render({"data": {"content": "https://x/1.png", "format": "png", "type": "url"}})
    many = parse_render({"data": {"content": ["https://x/1.png", "https://x/2.png"]}})
    assert one.media_urls == ("https://x/1.png",)
    assert many.media_urls == ("https://x/1.png", "https://x/2.png")
    assert one.publish is None


def test_publish_request_body_matches_the_contract() -> None:
    request = PublishRequest(
        accounts=(1, 2),
        content="hello",
        media_urls=("https://x/1.png", "https://x/2.png"),
        is_draft=True,
        scheduled_for="2030-01-15T10:00:00Z",
        timezone="America/New_York",
        platform_options={2: {"firstComment": "more"}},
    )
    assert request.to_json() == {
        "accounts": [1, 2],
        "content": "hello",
        "media_urls": ["https://x/1.png", "https://x/2.png"],
        "isDraft": True,
        "schedule": {"scheduledFor": "2030-01-15T10:00:00Z"},
        "timezone": "America/New_York",
        "platformOptions": {"2": {"firstComment": "more"}},
    }
    assert "hello" not in request.summary()  # captions stay out of error messages
