"""Pacing to Orshot's rate limit, so the client never sends a request it knows will be refused.

The pacer remembers when the client's own requests were answered (an upper bound of when the
server counted them) and what the last `X-RateLimit-Limit` / `X-RateLimit-Remaining` said.
It only computes waits; the client does the waiting, so the clock stays injectable.

The window a full `Remaining: 0` is waited out over is, first to last: what the server states
in a `RateLimit-Policy` header (the IETF draft's, draft-ietf-httpapi-ratelimit-headers; the
sandbox sends one, Orshot does not), the period of `rate_limit` (ORSHOT_RATE_LIMIT), and
Orshot's documented minute. Without the first two, a server with a shorter window is waited
on a minute per `limit` requests (issue 19: 3% of the sandbox's 20 per 2 s).
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable

#: The documented rate-limit window ("requests per minute").
DOCUMENTED_WINDOW = 60.0

POLICY_HEADER = "RateLimit-Policy"
_NUMBER = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?")


def parse_policy(value: str) -> tuple[int, float] | None:
    """(quota, window in seconds) from a `RateLimit-Policy` header: `"name";q=20;w=2` (the
    draft since -08) or `20;w=2` (drafts -06 and -07). Of several policies, the one with the
    shortest window: it is the one that paces request by request. None when no member reads
    as a quota of at least 1 over a window above 0 (a header we do not understand is ignored,
    never an error: the documented minute is the safe side)."""
    found: list[tuple[float, int]] = []
    for member in value.split(","):
        item, *params = (part.strip() for part in member.split(";"))
        fields = dict(param.partition("=")[::2] for param in params)
        quota, window = fields.get("q", item), fields.get("w", "")
        if quota.isdigit() and _NUMBER.fullmatch(window) and int(quota) >= 1 and float(window):
            found.append((float(window), int(quota)))
    if not found:
        return None
    shortest = min(found)
    return shortest[1], shortest[0]


class RatePacer:
    """How long to wait before the next request. `rate_limit=(requests, seconds)`, when known,
    paces evenly from the first request; otherwise the response headers alone decide."""

    def __init__(
        self, clock: Callable[[], float], rate_limit: tuple[int, float] | None = None
    ) -> None:
        if rate_limit is not None and (rate_limit[0] < 1 or not (0 < rate_limit[1] < math.inf)):
            # Not echoed: the value may come from ORSHOT_RATE_LIMIT, where a key may be pasted.
            raise ValueError("rate_limit must be (requests >= 1, 0 < seconds < inf)")
        self._clock = clock
        self._rate_limit = rate_limit
        self.window = rate_limit[1] if rate_limit else DOCUMENTED_WINDOW
        self._answered: deque[float] = deque()
        self.limit: int | None = None
        self.remaining: int | None = None

    def record(
        self,
        limit: int | None = None,
        remaining: int | None = None,
        policy: tuple[int, float] | None = None,
    ) -> None:
        """A request was answered (or may have reached the server): it counts in the window.
        `policy`, (quota, seconds) from `parse_policy`, is the server's own window.

        Headers missing from an answer (an error page from a proxy) keep what we knew.
        """
        if policy is not None:
            self.window = policy[1]
            limit = policy[0] if limit is None else limit
        now = self._clock()
        self._answered.append(now)
        self._forget_before(now - self.window)
        if limit is not None:
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining

    def _forget_before(self, cutoff: float) -> None:
        while self._answered and self._answered[0] <= cutoff:
            self._answered.popleft()

    def window_wait(self) -> float:
        """Seconds until the server's window, which Remaining said is full, frees a slot.

        The server's window holds `limit` requests, ours among them, so its oldest entry is no
        newer than the `limit`-th newest of ours (or our oldest, if other clients used the
        rest): a slot frees one window after that. This holds for sliding and fixed windows.
        """
        now = self._clock()
        self._forget_before(now - self.window)
        if not self._answered:
            return 0.0
        k = min(self.limit or len(self._answered), len(self._answered))
        return max(0.0, self._answered[-k] + self.window - now)

    def next_wait(self) -> tuple[float, str]:
        """(seconds, reason) to wait before sending the next request; 0 when it may go now."""
        waits: list[tuple[float, str]] = [(0.0, "")]
        if self.remaining == 0:
            waits.append((self.window_wait(), "rate limit reached (X-RateLimit-Remaining: 0)"))
        if self._rate_limit is not None:
            count, per = self._rate_limit
            now = self._clock()
            recent = [t for t in self._answered if t > now - per]
            if len(recent) >= count:
                waits.append(
                    (recent[-count] + per - now, f"pacing to {count} requests per {per:g} s")
                )
        return max(waits)

    def waited(self) -> None:
        """The wait freed the slot it was for; the next answer says what is left."""
        self.remaining = None
