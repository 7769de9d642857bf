"""One request through the sandbox: faults, authentication, rate limit, routing, statistics.

Independent of sockets (`server.py` does HTTP), so the order of these checks reads in one place.
"""

from __future__ import annotations

import hmac
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from orshot_gitops.sandbox.api import Call, find_route
from orshot_gitops.sandbox.config import SandboxConfig
from orshot_gitops.sandbox.engine import Workspace
from orshot_gitops.sandbox.faults import FaultInjector
from orshot_gitops.sandbox.ratelimit import SlidingWindow, Verdict
from orshot_gitops.sandbox.store import Store
from orshot_gitops.sandbox.validation import ApiError

# Requests to these count toward the rate limit and the statistics (the issue: "every
# /v1/social/* and /v1/studio/* request together").
API_PREFIXES = ("/v1/social/", "/v1/studio/")
INSPECTION_PREFIX = "/_sandbox/"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer; `drop` means close the connection instead of sending it."""

    status: int
    body: Mapping[str, object]
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False

    def encoded(self) -> bytes:
        # Sorted keys: the same state always produces the same bytes.
        return json.dumps(self.body, sort_keys=True, ensure_ascii=False).encode("utf-8")


class Stats:
    """Counts of API requests by route pattern and status (not persisted: per server run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: dict[str, dict[str, int]] = {}
        self._requests = 0
        self._rate_limited = 0
        self._server_errors = 0

    def record(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._requests += 1
            self._rate_limited += status == 429
            self._server_errors += status >= 500
            counts = self._by_endpoint.setdefault(endpoint, {})
            counts[str(status)] = counts.get(str(status), 0) + 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": self._requests,
                "rate_limited": self._rate_limited,
                # Beyond the shape: how many 5xx answers (injected or not) were sent.
                "server_errors": self._server_errors,
                "by_endpoint": {k: dict(v) for k, v in self._by_endpoint.items()},
            }


class App:
    """The sandbox's request handling, shared by all server threads."""

    def __init__(self, config: SandboxConfig, store: Store, clock: Callable[[], float]) -> None:
        self.config = config
        self.workspace = Workspace(config, store)
        self.stats = Stats()
        self._clock = clock
        self.lock = threading.Lock()  # one lock around the workspace, the store and the window
        self._window = SlidingWindow(config.rate_limit)
        self._faults = FaultInjector(config.faults)

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> Reply:
        """Answer one request. Never raises: a bug becomes a 500 with a traceback on stderr."""
        started = time.perf_counter()
        split = urlsplit(target)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        if path.startswith(INSPECTION_PREFIX):
            return self._inspect(method, path, query, authorization)
        if not path.startswith(API_PREFIXES):
            return self._reply(404, {"error": "Not found"}, self._peek())

        route, params, path_known = find_route(method, path)
        endpoint = route.key if route else f"{method} {path}"
        self._faults.delay()
        fault = self._faults.draw()
        if fault.server_error:  # before anything: no auth, no rate limit, no work
            return self._api_reply(endpoint, 500, {"error": "Internal server error"}, self._peek())
        if not self._authorized(authorization):
            status, message = self._refusal(authorization)
            return self._api_reply(endpoint, status, {"error": message}, self._peek())
        with self.lock:
            now = self._clock()
            verdict = self._window.hit(now)
            if not verdict.allowed:
                answer: tuple[int, Mapping[str, object]] = (429, {"error": "Rate limit exceeded"})
            elif route is None and path_known:
                answer = (405, {"error": "Method not allowed"})
            elif route is None:
                answer = (404, {"error": "Not found"})
            else:
                self.workspace.tick(now)
                answer = self._run(route.handler, params, query, body, now, method, started)
        status, payload = answer
        reply = self._api_reply(endpoint, status, payload, verdict)
        return Reply(reply.status, reply.body, reply.headers, drop=fault.drop_response)

    def _run(
        self,
        handler: Callable[[Call], tuple[int, dict[str, object]]],
        params: Mapping[str, str],
        query: Mapping[str, list[str]],
        body: bytes,
        now: float,
        method: str,
        started: float,
    ) -> tuple[int, Mapping[str, object]]:
        try:
            parsed: object = None
            if method in ("POST", "PATCH") and body.strip():
                try:
                    parsed = json.loads(body)
                except ValueError as exc:
                    raise ApiError(400, "Invalid JSON body") from exc
            return handler(Call(params, query, parsed, now, self.workspace, started))
        except ApiError as exc:
            return exc.status, exc.body()
        except Exception:  # a bug in the sandbox: say so loudly, answer like a server would
            traceback.print_exc(file=sys.stderr)
            return 500, {"error": "Internal server error"}

    def _inspect(
        self, method: str, path: str, query: Mapping[str, list[str]], authorization: str | None
    ) -> Reply:
        """`/_sandbox/*`: authenticated, never rate limited, never counted, never faulted."""
        if not self._authorized(authorization):
            return self._reply(403, {"error": "Missing or invalid API key"}, self._peek())
        if method == "GET" and path == "/_sandbox/stats":
            return self._reply(200, self.stats.snapshot(), self._peek())
        route, params, _ = find_route(method, path)
        if route is None:
            return self._reply(404, {"error": "Not found"}, self._peek())
        with self.lock:
            now = self._clock()
            self.workspace.tick(now)
            status, payload = self._run(
                route.handler, params, query, b"", now, method, time.perf_counter()
            )
        return self._reply(status, payload, self._peek())

    def _refusal(self, authorization: str | None) -> tuple[int, str]:
        """How Orshot answers a request it does not authenticate (see AUTH_ANSWERS)."""
        if self.config.auth_answers != "error-reference":
            return 403, "Missing or invalid API key"
        scheme, _, key = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return 403, "Access Forbidden: Authorization header is missing"
        if key.strip() in self.config.revoked_keys:
            return 400, "Access Forbidden: The API Key or User ID do not exist"
        return 400, "Access Forbidden: Invalid API Key"

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, key = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        given = key.strip().encode()
        # Compare against every key, in constant time, so timing reveals nothing.
        return any([hmac.compare_digest(given, k.encode()) for k in self.config.api_keys])

    def _peek(self) -> Verdict:
        with self.lock:
            return self._window.peek(self._clock())

    def _api_reply(
        self, endpoint: str, status: int, body: Mapping[str, object], verdict: Verdict
    ) -> Reply:
        self.stats.record(endpoint, status)
        return self._reply(status, body, verdict)

    @staticmethod
    def _reply(status: int, body: Mapping[str, object], verdict: Verdict) -> Reply:
        return Reply(status, body, tuple(verdict.headers()))
