"""How many requests are in flight towards the API, and how fast they go out: adaptive (AIMD).

``Aimd`` is the decision (no asyncio, a clock passed in); ``RequestGate`` makes requests
wait for it. Every request of a client passes the one gate, whatever asks for it.

- **Window** (requests in flight): grows by one per window's worth of answers (additive
  increase, about one more per round trip) while answers come back fast and without 429,
  and only while the window is used up (a lone request does not grow it); halves
  (multiplicative decrease) on a 429, a 5xx, a timeout or connection error, or a slow
  answer. Between ``minimum`` and ``ceiling``. One congestion event decreases once: the
  answers to requests sent before the last decrease do not decrease again.
- **Rate** (requests per second): unset until a 429 tells there is a rate limit. The answers
  received in the last second before that 429 are what the server admitted; requests then
  go out paced at ``RATE_BACKOFF`` of that, so the limit is met without probing it again
  and again. After ``RATE_HOLD`` without a 429 the pace grows again by ``RATE_STEP``
  requests per second each second (additive increase), and is dropped once the window
  alone is the tighter bound. A 429 with too little evidence (a few answers a second) only
  lowers the pace already set.
- **Pause**: a 429's ``Retry-After`` pauses the gate (the client sets it): requests wait
  for a short pause and are then sent; the client refuses outright during a long one.

"Slow" is an answer taking more than ``SLOW_FACTOR`` times the usual round trip (the
fastest one seen lately, drifting up slowly) and at least ``SLOW_MARGIN`` more than it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from enum import Enum
import math
import time
from typing import Final

DEFAULT_INITIAL: Final = 4
DEFAULT_CEILING: Final = 32
# Multiplicative decrease of the window.
WINDOW_BACKOFF: Final = 0.5
# A slow answer: over SLOW_FACTOR times the usual round trip and over it by SLOW_MARGIN s.
SLOW_FACTOR: Final = 4.0
SLOW_MARGIN: Final = 0.5
# How fast the usual round trip drifts up towards slower answers (per answer).
BASELINE_DRIFT: Final = 0.01
# The pace after a 429: this share of what the server admitted in the last second.
RATE_WINDOW: Final = 1.0
RATE_BACKOFF: Final = 0.97
# Answers in that second needed to learn a pace from them (fewer: only lower a pace set).
MIN_RATE_EVIDENCE: Final = 5
MIN_RATE: Final = 1.0
# Seconds without a 429 before the pace grows again, and by how much per second then.
RATE_HOLD: Final = 30.0
RATE_STEP: Final = 1.0


def monotonic() -> float:
    """Return ``time.monotonic()``, looked up at each call (a frozen test clock moves it)."""
    return time.monotonic()


class Outcome(Enum):
    """What became of one request, as far as congestion goes."""

    # Answered in time (any status that does not signal congestion: 2xx, most 4xx).
    OK = "ok"
    # 429: the server limits.
    RATE_LIMITED = "rate_limited"
    # 5xx, timeout, connection error: the server or the way to it struggles.
    FAILED = "failed"
    # Not sent, or cancelled: says nothing.
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Ticket:
    """One request let through: its sequence number, when it went out, whether the window was full."""

    seq: int
    sent_at: float
    saturated: bool


class Aimd:
    """The window and pace of requests (see the module docstring); pure logic, clock passed in."""

    def __init__(
        self,
        *,
        initial: int = DEFAULT_INITIAL,
        minimum: int = 1,
        ceiling: int = DEFAULT_CEILING,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        """Initialise; ``minimum <= initial <= ceiling`` (clamped)."""
        if minimum < 1 or ceiling < minimum:
            raise ValueError("need 1 <= minimum <= ceiling")
        self.minimum = minimum
        self.ceiling = ceiling
        self.window = float(min(max(initial, minimum), ceiling))
        self.rate: float | None = None
        self.clock = clock
        self.baseline: float | None = None
        self.decreases = 0
        self._seq = 0
        # Requests with a sequence number up to this were sent before the last decrease.
        self._decreased_upto = 0
        self._answers: deque[float] = deque()
        self._last_rate_limited: float | None = None

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return max(self.minimum, math.floor(self.window))

    def interval(self) -> float:
        """Seconds between two requests going out (0 while no pace is set)."""
        return 0.0 if self.rate is None else 1.0 / self.rate

    def on_send(self, in_flight: int) -> Ticket:
        """Note a request going out with ``in_flight`` requests in flight (itself included)."""
        self._seq += 1
        return Ticket(self._seq, self.clock(), in_flight >= self.limit)

    def is_slow(self, latency: float) -> bool:
        """Whether an answer that took ``latency`` seconds is slow against the usual round trip."""
        baseline = self.baseline
        return baseline is not None and latency > max(SLOW_FACTOR * baseline, baseline + SLOW_MARGIN)

    def on_result(self, ticket: Ticket, outcome: Outcome) -> None:
        """Adapt to what became of a request."""
        now = self.clock()
        if outcome is Outcome.NONE:
            return
        if outcome is Outcome.RATE_LIMITED:
            self._rate_limited(ticket, now)
            return
        if outcome is Outcome.FAILED:
            self._decrease(ticket)
            return
        latency = max(0.0, now - ticket.sent_at)
        self._note_answer(now)
        if self.is_slow(latency):
            self._decrease(ticket)
        elif ticket.saturated and ticket.seq > self._decreased_upto:
            self.window = min(float(self.ceiling), self.window + 1.0 / self.window)
        self._update_baseline(latency)
        self._grow_rate(now)

    def _note_answer(self, now: float) -> None:
        answers = self._answers
        answers.append(now)
        while answers and answers[0] < now - RATE_WINDOW:
            answers.popleft()

    def _update_baseline(self, latency: float) -> None:
        if self.baseline is None or latency < self.baseline:
            self.baseline = latency
        else:
            self.baseline += (latency - self.baseline) * BASELINE_DRIFT

    def _decrease(self, ticket: Ticket) -> bool:
        """Halve the window once per congestion event; return whether it did."""
        if ticket.seq <= self._decreased_upto:
            return False
        self.window = max(float(self.minimum), self.window * WINDOW_BACKOFF)
        self._decreased_upto = self._seq
        self.decreases += 1
        return True

    def _rate_limited(self, ticket: Ticket, now: float) -> None:
        self._last_rate_limited = now
        if not self._decrease(ticket):
            return
        while self._answers and self._answers[0] < now - RATE_WINDOW:
            self._answers.popleft()
        admitted = len(self._answers)
        if admitted >= MIN_RATE_EVIDENCE:
            pace = admitted * RATE_BACKOFF
            self.rate = pace if self.rate is None else min(self.rate * RATE_BACKOFF, pace)
        elif self.rate is not None:
            self.rate *= RATE_BACKOFF
        if self.rate is not None:
            self.rate = max(MIN_RATE, self.rate)

    def _grow_rate(self, now: float) -> None:
        if self.rate is None or (self._last_rate_limited is not None and now - self._last_rate_limited < RATE_HOLD):
            return
        self.rate += RATE_STEP / self.rate
        # Once the window alone keeps requests under the pace, the pace no longer matters.
        if self.baseline is not None and self.baseline > 0 and self.rate * self.baseline > self.ceiling:
            self.rate = None


class RequestGate:
    """Lets requests out within the window, at the pace, after a short pause; first come, first out."""

    def __init__(self, aimd: Aimd | None = None, *, short_pause: float = 5.0) -> None:
        """Initialise; a pause longer than ``short_pause`` seconds does not hold waiting requests."""
        self.aimd = aimd or Aimd()
        self.short_pause = short_pause
        self.in_flight = 0
        self.peak_in_flight = 0
        self.paused_until = 0.0
        self._next_send = 0.0
        self._waiters: deque[asyncio.Future[Ticket]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def pause_remaining(self) -> float:
        """Seconds left of the pause (0 when none)."""
        return max(0.0, self.paused_until - self.aimd.clock())

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a longer pause already set stays)."""
        self.paused_until = max(self.paused_until, self.aimd.clock() + seconds)
        self._wake()

    def _delay(self) -> float:
        now = self.aimd.clock()
        paused = self.paused_until - now
        # A long pause is the caller's to refuse: waiting requests are let out to do so.
        wait = paused if 0 < paused <= self.short_pause else 0.0
        if self.aimd.rate is not None:
            wait = max(wait, self._next_send - now)
        return wait

    def _free(self) -> bool:
        return self.in_flight < self.aimd.limit

    def _take(self) -> Ticket:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if (interval := self.aimd.interval()) > 0:
            self._next_send = max(self.aimd.clock(), self._next_send) + interval
        return self.aimd.on_send(self.in_flight)

    async def acquire(self) -> Ticket:
        """Wait for a request's turn; the ticket goes back with ``release``."""
        if not self._waiters and self._free() and self._delay() <= 0:
            return self._take()
        waiter: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result(), Outcome.NONE)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                self._wake()
            raise

    def release(self, ticket: Ticket, outcome: Outcome) -> None:
        """Give a ticket back when its request is done: adapt, and let the next one out."""
        self.in_flight = max(0, self.in_flight - 1)
        self.aimd.on_result(ticket, outcome)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            head = self._waiters[0]
            if head.done():
                self._waiters.popleft()
                continue
            if not self._free():
                return
            if (delay := self._delay()) > 0:
                if self._timer is None:
                    self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
                return
            self._waiters.popleft()
            head.set_result(self._take())

    def _on_timer(self) -> None:
        self._timer = None
        self._wake()

    def close(self) -> None:
        """Cancel the timer (nothing is waiting any more)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
