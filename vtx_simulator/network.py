"""A network far away and a server that limits: latency, jitter and a per-account rate limit.

``Network`` makes the simulator behave like an API some milliseconds away (every API answer
and every push delivery is delayed by ``latency_ms`` plus or minus up to ``jitter_ms``) and
like a platform that allows only ``rate_limit`` requests per second per account: beyond
it, an API request is answered 429 with a ``Retry-After`` (whole seconds, at least 1: the
time until the window frees a place, rounded up). The limit is a sliding window of one
second over the requests it admitted (refused ones do not count), per ``Authorization``
header, i.e. per account. The control API is neither delayed nor limited.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
import math
import random
import time
from typing import Final

# The window of the rate limit, in seconds.
RATE_WINDOW: Final = 1.0


@dataclass(slots=True)
class Network:
    """Latency, jitter and the rate limit of one simulator (all off by default)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit: float | None = None
    seed: int | None = None
    # Requests answered 429 by the rate limit (not by injected faults).
    rate_limited: int = 0
    _admitted: dict[str, deque[float]] = field(default_factory=dict)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        """Validate."""
        self.check(self.latency_ms, self.jitter_ms, self.rate_limit)
        self._random = random.Random(self.seed)

    @staticmethod
    def check(latency_ms: float, jitter_ms: float, rate_limit: float | None) -> None:
        """Raise ``ValueError`` for a negative latency or jitter, or a rate limit not above 0."""
        if not (math.isfinite(latency_ms) and latency_ms >= 0 and math.isfinite(jitter_ms) and jitter_ms >= 0):
            raise ValueError("latency and jitter must be finite and not negative")
        if rate_limit is not None and not (math.isfinite(rate_limit) and rate_limit > 0):
            raise ValueError("the rate limit must be above 0 requests per second (or None: no limit)")

    def delay(self) -> float:
        """Seconds one request (or delivery) takes on the way: latency +- jitter, never below 0."""
        if self.latency_ms <= 0 and self.jitter_ms <= 0:
            return 0.0
        jitter = self._random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms > 0 else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000

    async def travel(self) -> None:
        """Wait for one request's (or delivery's) time on the way."""
        if (seconds := self.delay()) > 0:
            await asyncio.sleep(seconds)

    def admit(self, account: str, now: float | None = None) -> float | None:
        """Admit one request of ``account``; return ``None``, or the Retry-After in seconds when refused."""
        if self.rate_limit is None:
            return None
        now = time.monotonic() if now is None else now
        admitted = self._admitted.setdefault(account, deque())
        while admitted and admitted[0] <= now - RATE_WINDOW:
            admitted.popleft()
        if len(admitted) < self.rate_limit:
            admitted.append(now)
            return None
        self.rate_limited += 1
        # The place the oldest admitted request holds frees when it leaves the window.
        return float(max(1, math.ceil(admitted[0] + RATE_WINDOW - now)))

    def reset(self) -> None:
        """Forget the requests admitted and the count of refused ones."""
        self._admitted.clear()
        self.rate_limited = 0

    def to_json(self) -> dict[str, float | int | None]:
        """Return the control API's JSON form."""
        return {
            "latencyMs": self.latency_ms,
            "jitterMs": self.jitter_ms,
            "rateLimit": self.rate_limit,
            "rateLimited": self.rate_limited,
        }
