"""Injected failures, the kind a client must survive against the real API.

`server_error_rate` answers 500 before any work. `drop_response_rate` does the work and then
closes the connection without an answer: the nastiest real failure, because the client cannot
know whether its post exists. With a `seed`, the same sequence of requests meets the same faults.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from orshot_gitops.sandbox.config import Faults


@dataclass(frozen=True)
class Fault:
    """What happens to one request."""

    server_error: bool = False
    drop_response: bool = False


class FaultInjector:
    """Draws a `Fault` per API request from one seeded random stream."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()

    def delay(self) -> None:
        """Sleep the configured latency (real time: it exercises the client's timeouts)."""
        if self._faults.latency_ms:
            time.sleep(self._faults.latency_ms / 1000)

    def draw(self) -> Fault:
        # Both numbers are drawn on every request, so one fault's outcome never shifts the
        # sequence of the other: a seed reproduces the same run.
        with self._lock:
            error_roll, drop_roll = self._random.random(), self._random.random()
        return Fault(
            server_error=error_roll < self._faults.server_error_rate,
            drop_response=drop_roll < self._faults.drop_response_rate,
        )
