"""Pacing to Orshot's rate limit, so the client never sends a request it knows will be refused.

The pacer remembers when the client's own requests were answered (an upper bound of when the
server counted them) and what the last `X-RateLimit-Limit` / `X-RateLimit-Remaining` said.
It only computes waits; the client does the waiting, so the clock stays injectable.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

#: The documented rate-limit window ("requests per minute").
DOCUMENTED_WINDOW = 60.0


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

    def record(self, limit: int | None = None, remaining: int | None = None) -> None:
        """A request was answered (or may have reached the server): it counts in the window.

        Headers missing from an answer (an error page from a proxy) keep what we knew.
        """
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
