"""The Orshot API client: typed calls, paced to the rate limit, retried only where it is safe.

`OrshotClient` wraps every endpoint the reconciler uses (see `orshot-api/` for the contract) and
returns the frozen values of `orshot_gitops.orshot.models`; its errors are those of
`orshot_gitops.orshot.errors` and its pacing is `orshot_gitops.orshot.pacing`. The public names
of the first two are re-exported here: import from `orshot_gitops.orshot.client`.

Retry rules (what may be sent again without asking the caller)
---------------------------------------------------------------
Every request is one of two kinds:

* **repeatable**: reads (GET), PATCH (it sets fields: twice is the same as once), DELETE, sync,
  and publish-by-id (`POST /social/posts/{id}/publish`, which Orshot guards: a second call
  answers 400 "Only draft or scheduled posts can be published").
* **create**: `POST /social/publish` and `POST /studio/render` (with or without `publish`).
  Orshot has no idempotency key, so a repeated create can make a second post.

Then:

1. **429** is retried for both kinds, after `Retry-After` (bounded by `max_wait`): the rate
   limiter answers before any work is done. Still 429 after `max_retries`: `RateLimited`.
2. **Connection failures before the request was sent** (`ConnectError`, `ConnectTimeout`,
   `PoolTimeout`) are retried for both kinds, with exponential backoff and jitter: no byte of
   the request reached the server.
3. **5xx** is retried with backoff for repeatable requests (then `ServerError`). For a create it
   raises `UnknownOutcome` at once. A 500 may come from a handler that failed after it posted;
   a 502/504 from a gateway that gave up while the application was still working. Only an
   idempotency key could tell those apart from "nothing happened", and Orshot has none. A
   caller whose worst case is harmless (a draft create: a duplicate is an invisible draft that
   the next run finds and discards) may pass `retry_server_errors=True`.
4. **Failures after the request may have been sent** (read timeout, connection dropped,
   `RemoteProtocolError`, `ReadError`, `WriteError`, ...) are retried with backoff for
   repeatable requests; for a create they raise `UnknownOutcome` at once. The client never
   repeats such a create, whatever the options: the reconciler records it and settles it by
   reading the Posts Log.
5. A create whose 2xx body cannot be read also raises `UnknownOutcome`: it was done, but we do
   not know the post's id.
6. For a publish-by-id repeated after an uncertain attempt, a 400 "Only draft or scheduled"
   means the first attempt went through: the client reads the post back and returns that.
   Likewise, a DELETE repeated after an uncertain attempt that answers 404 was done.

Pacing: the client never sends a request it knows will be refused. It remembers when its own
requests were answered; when `X-RateLimit-Remaining` reaches 0 it waits until a slot of the
window (the server's `RateLimit-Policy` when it sends one, else `rate_limit`'s period, else
60 s, as documented) could have freed. With a `rate_limit` hint it also keeps under that many
requests per period from the first request. Every wait is reported through
`on_wait(seconds, reason)` before it happens.

The API key is sent only in the Authorization header. It never appears in a repr, an error,
a log line or a file; server messages are scrubbed of it too.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from orshot_gitops import __version__
from orshot_gitops.errors import UserError
from orshot_gitops.orshot.errors import (
    ApiError,
    AuthError,
    BadRequest,
    IncompatibleMedia,
    NotFound,
    PaidPlanRequired,
    RateLimited,
    ServerError,
    UnknownOutcome,
    error_for_status,
    one_line,
)
from orshot_gitops.orshot.models import (
    Account,
    AccountResult,
    Malformed,
    Post,
    PublishRequest,
    PublishResult,
    RenderResult,
    SyncResult,
    parse_accounts,
    parse_post_envelope,
    parse_posts_page,
    parse_publish,
    parse_publish_by_id,
    parse_render,
    parse_sync,
    publish_result_from_post,
)
from orshot_gitops.orshot.pacing import POLICY_HEADER, RatePacer, parse_policy
from orshot_gitops.orshot.render_jobs import RenderJob, RenderJobCalls
from orshot_gitops.orshot.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_KEY_ENV,
    ApiKeyVariable,
    check_api_key,
    normalize_base_url,
    parse_rate_limit,
)

if TYPE_CHECKING:
    # Imported where a request is made: `plan` and `status` import this module (its errors
    # and answers) and never send, and httpx's import is 35 ms of a warm plan.
    import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "Account",
    "AccountResult",
    "ApiError",
    "AuthError",
    "BadRequest",
    "IncompatibleMedia",
    "NotFound",
    "OrshotClient",
    "PaidPlanRequired",
    "Post",
    "PublishRequest",
    "PublishResult",
    "RateLimited",
    "RenderJob",
    "RenderResult",
    "ServerError",
    "SyncResult",
    "UnknownOutcome",
    "normalize_base_url",
    "parse_rate_limit",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (30.0, 10.0)  # seconds: (any step, connecting)

OnWait = Callable[[float, str], None]
T = TypeVar("T")

# Fields PATCH /social/posts/{id} accepts; anything else is a bug in the caller.
_PATCH_FIELDS = frozenset(
    {"content", "media_urls", "media_url", "accounts", "status", "scheduled_for"}
)


class OrshotClient(RenderJobCalls):
    """A client for the Orshot API (`/v1/...` under `base_url`, the origin).

    Not thread-safe: one client paces one stream of requests. Use as a context manager, or
    call `close()`. `clock`, `sleep` and `rng` are injected so tests control time.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 4,
        rng: random.Random | None = None,
        rate_limit: tuple[int, float] | None = None,
        on_wait: OnWait | None = None,
        max_wait: float = 90.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        retry_server_errors: bool = False,
        key_variable: ApiKeyVariable | None = None,  # where it came from: named in hints
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.key = key_variable or ApiKeyVariable()
        key = api_key.strip()
        if not key:
            raise UserError("the Orshot API key is empty", hint=self.key.hint(), code="api-key")
        check_api_key(key)
        self._key = key
        import httpx

        if timeout is None:
            timeout = httpx.Timeout(DEFAULT_TIMEOUT[0], connect=DEFAULT_TIMEOUT[1])
        self._own_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_server_errors = retry_server_errors
        self.on_wait = on_wait
        self._pacer = RatePacer(clock, rate_limit)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], key: ApiKeyVariable | None = None, **options: Any
    ) -> OrshotClient:
        """A client from ORSHOT_BASE_URL (default: the real API) and the root's `key`."""
        secret = (key := key or ApiKeyVariable()).require(env)
        base_url = env.get("ORSHOT_BASE_URL", "").strip() or DEFAULT_BASE_URL
        limit = env.get("ORSHOT_RATE_LIMIT", "").strip()
        if limit and "rate_limit" not in options:
            options = {**options, "rate_limit": parse_rate_limit(limit)}
        return cls(base_url, secret, key_variable=key, **options)

    def __repr__(self) -> str:
        return f"OrshotClient(base_url={self.base_url!r}, api_key=<hidden>)"

    def close(self) -> None:
        """Close the connection pool if this client made it (a passed-in `http` is the caller's)."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> OrshotClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------
    # Endpoints

    def list_accounts(self, include_health: bool = False) -> tuple[Account, ...]:
        """The workspace's connected social accounts (`GET /social/accounts`)."""
        params = {"include_health": "true"} if include_health else None
        return self._call(parse_accounts, "GET", "/social/accounts", params=params)

    def publish(
        self, request: PublishRequest, *, retry_server_errors: bool | None = None
    ) -> PublishResult:
        """Create a post (`POST /social/publish`): a create, sent at most once unless safe.

        Raises `UnknownOutcome` when the post may or may not exist; see the module docstring.
        """
        return self._call(
            parse_publish,
            "POST",
            "/social/publish",
            json=request.to_json(),
            create=True,
            summary=request.summary(),
            retry_server_errors=retry_server_errors,
        )

    def render(
        self,
        template_id: int | str,
        modifications: Mapping[str, Any],
        format: str = "png",
        response_type: str = "url",
        publish: PublishRequest | None = None,
        *,
        retry_server_errors: bool | None = None,
    ) -> RenderResult:
        """Render a Studio template (`POST /studio/render`), optionally publishing the output.

        A create: a render costs credits and, with `publish`, posts; sent at most once.
        """
        body: dict[str, Any] = {
            "templateId": template_id,
            "modifications": dict(modifications),
            "response": {"type": response_type, "format": format},
        }
        summary = f"template={template_id} format={format}"
        if publish is not None:
            if publish.media_url is not None or publish.media_urls is not None:
                raise ValueError(
                    "a render's publish object takes no media: the render is the media"
                )
            body["publish"] = publish.to_json(with_media=False)
            summary += f" publish: {publish.summary()}"
        return self._call(
            parse_render,
            "POST",
            "/studio/render",
            json=body,
            create=True,
            summary=summary,
            retry_server_errors=retry_server_errors,
        )

    def get_post(self, post_id: int) -> Post:
        """One post from the Posts Log: what actually happened to it."""
        return self._call(parse_post_envelope, "GET", f"/social/posts/{int(post_id)}")

    def list_posts(
        self,
        status: str | None = None,
        platform: str | None = None,
        account_id: int | None = None,
        limit: int = 50,
    ) -> Iterator[Post]:
        """Every post of the Posts Log matching the filters, newest first, page by page.

        `limit` is the page size (the API allows 1-50); the iterator follows `next_cursor`.
        """
        params: dict[str, str] = {"limit": str(max(1, min(limit, 50)))}
        if status is not None:
            params["status"] = status
        if platform is not None:
            params["platform"] = platform
        if account_id is not None:
            params["account_id"] = str(int(account_id))
        seen: set[str] = set()
        while True:
            posts, cursor = self._call(parse_posts_page, "GET", "/social/posts", params=params)
            yield from posts
            if cursor is None or not posts:
                return
            if cursor in seen:  # a server bug must not become an endless loop
                raise ApiError(
                    f"GET /v1/social/posts returned the cursor {cursor!r} twice",
                    method="GET",
                    path="/v1/social/posts",
                    code="api-malformed",
                )
            seen.add(cursor)
            params["cursor"] = cursor

    def update_post(self, post_id: int, **fields: Any) -> Post:
        """Edit a post Orshot still holds (`PATCH`): content, media_urls, media_url, accounts,
        status ('draft' or 'scheduled'), scheduled_for. Only the fields given change."""
        unknown = set(fields) - _PATCH_FIELDS
        if unknown:
            raise TypeError(f"update_post() got unknown fields: {', '.join(sorted(unknown))}")
        body = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
        return self._call(parse_post_envelope, "PATCH", f"/social/posts/{int(post_id)}", json=body)

    def discard_post(self, post_id: int) -> None:
        """Discard a post that never reached a platform (`DELETE`)."""
        path = f"/social/posts/{int(post_id)}"
        try:
            self._call(lambda body: None, "DELETE", path)
        except NotFound as exc:
            if not exc.after_uncertain_attempt:
                raise
            # Our earlier attempt, whose answer was lost, discarded it.

    def publish_post(self, post_id: int) -> PublishResult:
        """Publish a draft or scheduled post now, by id; Orshot refuses a second publish."""
        post_id = int(post_id)
        try:
            return self._call(
                lambda body: parse_publish_by_id(body, post_id),
                "POST",
                f"/social/posts/{post_id}/publish",
            )
        except BadRequest as exc:
            if (
                not exc.after_uncertain_attempt
                or "only draft or scheduled" not in exc.message.lower()
            ):
                raise
            # Our earlier attempt went through and its answer was lost: report what it did.
            return publish_result_from_post(self.get_post(post_id))

    def sync_post(self, post_id: int) -> SyncResult:
        """Ask the platforms for the final state of a `processing` post."""
        post_id = int(post_id)
        return self._call(
            lambda body: parse_sync(body, post_id), "POST", f"/social/posts/{post_id}/sync"
        )

    # ----------------------------------------------------------------------------------------
    # Transport

    def _call(
        self,
        parse: Callable[[Any], T],
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        create: bool = False,
        summary: str = "",
        retry_server_errors: bool | None = None,
    ) -> T:
        """Send one request, retrying as the module docstring says, and parse its answer."""
        import httpx

        # No byte of the request left this machine: safe to repeat any request.
        not_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
        full_path = "/v1" + path
        where = f"{method} {full_path}"
        retry_5xx = not create or (
            self.retry_server_errors if retry_server_errors is None else retry_server_errors
        )
        uncertain = False  # an earlier attempt of this request may have been done
        attempt = 0
        while True:
            attempt += 1
            can_retry = attempt <= self.max_retries
            self._pace()
            try:
                response = self._http.request(
                    method,
                    self.base_url + full_path,
                    params=params,
                    json=json,
                    headers=self._headers(),
                    timeout=self._timeout,
                )
            except not_sent as exc:
                cause = self._scrub(f"{type(exc).__name__}: {exc}")
                if can_retry:
                    self._wait(self._backoff(attempt), f"cannot connect ({cause}); retrying")
                    continue
                raise self._mark(
                    ServerError(
                        self._scrub(f"{where}: cannot connect to {self.base_url}: {cause}"),
                        method=method,
                        path=full_path,
                        hint="check ORSHOT_BASE_URL and the network (is the sandbox running?); "
                        "nothing was sent",
                    ),
                    uncertain,
                ) from exc
            except httpx.TransportError as exc:
                self._pacer.record()  # it may have counted against the limit
                cause = self._scrub(
                    f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                )
                if create:
                    raise UnknownOutcome(
                        f"{where}: the request may have reached Orshot, but no answer came "
                        f"({cause}); attempted: {summary}",
                        method=method,
                        path=full_path,
                        summary=summary,
                    ) from exc
                uncertain = True
                if can_retry:
                    self._wait(self._backoff(attempt), f"no answer ({cause}); retrying")
                    continue
                raise self._mark(
                    ServerError(
                        self._scrub(f"{where}: no answer from {self.base_url}: {cause}"),
                        method=method,
                        path=full_path,
                    ),
                    uncertain,
                ) from exc

            self._pacer.record(
                _int_header(response, "X-RateLimit-Limit"),
                _int_header(response, "X-RateLimit-Remaining"),
                parse_policy(response.headers.get(POLICY_HEADER, "")),
            )
            status = response.status_code
            log.debug("%s -> %s (remaining %s)", where, status, self._pacer.remaining)
            if status == 429:
                retry_after = _retry_after(response)
                wait = retry_after if retry_after is not None else self._pacer.window_wait()
                wait = wait if wait > 0 else self._backoff(attempt)
                if can_retry and wait <= self.max_wait:
                    self._wait(wait, "rate limited by Orshot (429)")
                    self._pacer.waited()  # Retry-After is the server's word: no second wait
                    continue
                raise self._mark(
                    self._error(response, method, full_path, retry_after=retry_after), uncertain
                )
            if status >= 500:
                if not retry_5xx:
                    message = self._server_message(response)
                    raise UnknownOutcome(
                        f"{where} answered {status} ({message}): it may or may not have been "
                        f"done; attempted: {summary}",
                        status=status,
                        method=method,
                        path=full_path,
                        server_message=message,
                        summary=summary,
                    )
                uncertain = True
                if can_retry:
                    self._wait(self._backoff(attempt), f"Orshot answered {status}; retrying")
                    continue
            if status >= 400:
                raise self._mark(self._error(response, method, full_path), uncertain)
            try:
                return parse(response.json())
            # ValueError: not JSON at all, or a number past Python's conversion limit;
            # RecursionError: nested deeper than Python reads.
            except (ValueError, RecursionError, Malformed) as exc:
                detail = self._scrub(str(exc))[:200]
                if create:
                    raise UnknownOutcome(
                        f"{where} answered {status} but its body cannot be read ({detail}): "
                        f"it was probably done; attempted: {summary}",
                        status=status,
                        method=method,
                        path=full_path,
                        summary=summary,
                    ) from None
                raise ApiError(
                    f"{where} answered {status} with an unexpected body: {detail}",
                    status=status,
                    method=method,
                    path=full_path,
                    hint="the API may have changed; please report this to orshot-gitops",
                    code="api-malformed",
                ) from None

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._key}",
            "Accept": "application/json",
            "User-Agent": f"orshot-gitops/{__version__}",
        }

    def _scrub(self, text: str) -> str:
        """Never let the key through, even if a server echoes it back."""
        return text.replace(self._key, "<hidden>")

    @staticmethod
    def _mark(error: ApiError, uncertain: bool) -> ApiError:
        error.after_uncertain_attempt = uncertain
        return error

    def _error(
        self, response: httpx.Response, method: str, path: str, *, retry_after: float | None = None
    ) -> ApiError:
        status, message = response.status_code, self._server_message(response)
        error = error_for_status(status, message, method=method, path=path, retry_after=retry_after)
        # A brand's key (api_key_env): the hint names the variable that holds it.
        error.hint = error.hint.replace(DEFAULT_KEY_ENV, self.key.name)
        return error

    def _server_message(self, response: httpx.Response) -> str:
        """The server's `error` (and `message`, when it adds something), or the body's start."""
        try:
            body = response.json()
        except (ValueError, RecursionError):  # not JSON, or past Python's limits
            body = None
        if isinstance(body, Mapping):
            error = body.get("error")
            detail = body.get("message")
            parts = [p for p in (error, detail) if isinstance(p, str) and p]
            if len(parts) == 2 and parts[1] in parts[0]:
                parts = parts[:1]
            if parts:
                return one_line(self._scrub(": ".join(parts)))
        text = response.text.strip()
        return one_line(self._scrub(text)) if text else response.reason_phrase or "no message"

    def _pace(self) -> None:
        seconds, reason = self._pacer.next_wait()
        if seconds > 0:
            self._wait(seconds, reason)
            self._pacer.waited()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _wait(self, seconds: float, reason: str) -> None:
        log.info("waiting %.1f s: %s", seconds, reason)
        if self.on_wait is not None:
            self.on_wait(seconds, reason)
        self._sleep(seconds)


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds: a number or an HTTP date (RFC 9110 allows both)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
