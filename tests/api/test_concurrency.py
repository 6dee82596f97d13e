"""Adaptive concurrency (AIMD) of the API client: the decision, the gate, and against the simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
from hypothesis import given, settings, strategies as st
import pytest

from custom_components.vtx_voip.api import VtxClient, VtxConnectionError, VtxRateLimitError
from custom_components.vtx_voip.api.concurrency import (
    MIN_RATE_EVIDENCE,
    RATE_BACKOFF,
    RATE_HOLD,
    SLOW_MARGIN,
    Aimd,
    Outcome,
    RequestGate,
    Ticket,
)
from vtx_simulator import Simulator

from .conftest import make_client

USER = 176125


class FakeClock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answer(aimd: Aimd, clock: FakeClock, outcome: Outcome, latency: float = 0.03, in_flight: int | None = None) -> None:
    """Send one request with the window full (unless told otherwise) and get its outcome."""
    ticket = aimd.on_send(aimd.limit if in_flight is None else in_flight)
    clock.now += latency
    aimd.on_result(ticket, outcome)


OUTCOMES = st.sampled_from([Outcome.OK, Outcome.OK, Outcome.OK, Outcome.RATE_LIMITED, Outcome.FAILED, Outcome.NONE])


@settings(max_examples=300)
@given(
    steps=st.lists(
        st.tuples(OUTCOMES, st.floats(min_value=0, max_value=3, allow_nan=False), st.booleans()), max_size=200
    ),
    ceiling=st.integers(min_value=1, max_value=64),
)
def test_window_stays_within_bounds_and_moves_the_right_way(
    steps: list[tuple[Outcome, float, bool]], ceiling: int
) -> None:
    """Whatever the answers: 1 <= window <= ceiling; congestion never grows it, a fast full-window answer never shrinks it."""
    clock = FakeClock()
    aimd = Aimd(initial=4, ceiling=ceiling, clock=clock)
    for outcome, latency, saturated in steps:
        before = aimd.window
        slow = aimd.is_slow(latency)
        answer(aimd, clock, outcome, latency, aimd.limit if saturated else 0)
        assert 1 <= aimd.window <= ceiling
        assert 1 <= aimd.limit <= ceiling
        if outcome in (Outcome.RATE_LIMITED, Outcome.FAILED) or (outcome is Outcome.OK and slow):
            # One request at a time here: each is a congestion event of its own.
            assert aimd.window == max(1.0, before * 0.5)
        elif outcome is Outcome.OK and saturated:
            assert aimd.window == min(float(ceiling), before + 1 / before)
        else:
            assert aimd.window == before
        if aimd.rate is not None:
            assert aimd.rate >= 1


def test_additive_increase_to_the_ceiling_only_while_the_window_is_used() -> None:
    clock = FakeClock()
    aimd = Aimd(initial=4, ceiling=16, clock=clock)
    # A lone request at a time does not grow the window.
    for _ in range(100):
        answer(aimd, clock, Outcome.OK, in_flight=1)
    assert aimd.limit == 4
    # About one more per window's worth of fast answers.
    for _ in range(3):
        answer(aimd, clock, Outcome.OK)
    assert aimd.limit == 4
    for _ in range(2):
        answer(aimd, clock, Outcome.OK)
    assert aimd.limit == 5
    for _ in range(200):
        answer(aimd, clock, Outcome.OK)
    assert aimd.limit == 16
    assert aimd.rate is None


@given(burst=st.integers(min_value=1, max_value=40), outcome=st.sampled_from([Outcome.RATE_LIMITED, Outcome.FAILED]))
def test_one_congestion_event_decreases_once(burst: int, outcome: Outcome) -> None:
    """Every request in flight when the server struggled fails alike: the window halves once, not once each."""
    clock = FakeClock()
    aimd = Aimd(initial=32, ceiling=32, clock=clock)
    tickets = [aimd.on_send(index + 1) for index in range(burst)]
    clock.now += 0.03
    for ticket in tickets:
        aimd.on_result(ticket, outcome)
    assert aimd.window == 16
    assert aimd.decreases == 1
    # A request sent after the decrease that meets congestion again halves it again.
    answer(aimd, clock, outcome)
    assert aimd.window == 8
    # The late answers of requests sent before a decrease do not grow the window either.
    late = aimd.on_send(aimd.limit)
    answer(aimd, clock, outcome)
    aimd.on_result(late, Outcome.OK)
    assert aimd.window == 4


def test_slow_answers_shrink_the_window() -> None:
    clock = FakeClock()
    aimd = Aimd(initial=8, ceiling=32, clock=clock)
    for _ in range(10):
        answer(aimd, clock, Outcome.OK, latency=0.03)
    window = aimd.window
    assert not aimd.is_slow(0.03 + SLOW_MARGIN)
    answer(aimd, clock, Outcome.OK, latency=0.03 + SLOW_MARGIN + 0.1)
    assert aimd.window == window / 2


def test_a_429_sets_the_pace_from_what_the_server_admitted() -> None:
    """After a 429 requests go out at RATE_BACKOFF of the answers of the last second; it grows back after RATE_HOLD."""
    clock = FakeClock()
    aimd = Aimd(initial=4, ceiling=32, clock=clock)
    for _ in range(50):  # 50 answers within 0.5 s
        answer(aimd, clock, Outcome.OK, latency=0.01)
    answer(aimd, clock, Outcome.RATE_LIMITED)
    assert aimd.rate == pytest.approx(50 * RATE_BACKOFF)
    assert aimd.interval() == pytest.approx(1 / (50 * RATE_BACKOFF))
    paced = aimd.rate
    # Held while RATE_HOLD has not passed.
    for _ in range(100):
        answer(aimd, clock, Outcome.OK, latency=0.02)
    assert aimd.rate == paced
    clock.now += RATE_HOLD
    answer(aimd, clock, Outcome.OK, latency=0.02)
    assert aimd.rate > paced
    # About RATE_STEP more per second at full pace.
    for _ in range(round(paced)):
        answer(aimd, clock, Outcome.OK, latency=0.02)
    assert aimd.rate == pytest.approx(paced + 1, rel=0.05)
    # Dropped once the window alone is the tighter bound (32 in flight / the usual round trip).
    assert aimd.baseline is not None
    aimd.rate = 32 / aimd.baseline - 0.1
    for _ in range(100):
        answer(aimd, clock, Outcome.OK, latency=0.02)
    assert aimd.rate is None


def test_a_429_with_little_evidence_only_lowers_a_pace_already_set() -> None:
    clock = FakeClock()
    aimd = Aimd(clock=clock)
    for _ in range(MIN_RATE_EVIDENCE - 1):
        answer(aimd, clock, Outcome.OK)
    answer(aimd, clock, Outcome.RATE_LIMITED)
    assert aimd.rate is None
    aimd.rate = 10.0
    clock.now += 5
    answer(aimd, clock, Outcome.RATE_LIMITED)
    assert aimd.rate == pytest.approx(10 * RATE_BACKOFF)


def test_bad_bounds() -> None:
    with pytest.raises(ValueError, match="minimum"):
        Aimd(minimum=0)
    with pytest.raises(ValueError, match="minimum"):
        Aimd(minimum=4, ceiling=2)


async def test_gate_keeps_the_window_and_order() -> None:
    """Never more in flight than the window; waiting requests go first come, first out; cancelled ones leave."""
    gate = RequestGate(Aimd(initial=2, ceiling=2))
    first, second = await gate.acquire(), await gate.acquire()
    order: list[int] = []

    async def wait(index: int) -> Ticket:
        ticket = await gate.acquire()
        order.append(index)
        return ticket

    waiting = [asyncio.create_task(wait(index)) for index in range(4)]
    await asyncio.sleep(0)
    assert gate.in_flight == 2 and order == []
    waiting[1].cancel()
    gate.release(first, Outcome.NONE)
    gate.release(second, Outcome.NONE)
    await asyncio.sleep(0)
    assert order == [0, 2]
    assert gate.in_flight == 2
    for task in (waiting[0], waiting[2]):
        gate.release(task.result(), Outcome.NONE)
    await asyncio.sleep(0)
    assert order == [0, 2, 3]
    gate.release(waiting[3].result(), Outcome.NONE)
    assert gate.in_flight == 0
    assert gate.peak_in_flight == 2
    with pytest.raises(asyncio.CancelledError):
        await waiting[1]


async def test_gate_waits_out_a_short_pause_not_a_long_one() -> None:
    gate = RequestGate(Aimd(initial=1, ceiling=1), short_pause=5)
    ticket = await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    gate.pause(0.05)
    gate.release(ticket, Outcome.NONE)
    await asyncio.sleep(0)
    assert not waiter.done()
    assert 0 < gate.pause_remaining() <= 0.05
    ticket = await waiter
    assert gate.pause_remaining() == 0
    # A long pause does not hold them: the caller refuses them.
    waiter = asyncio.create_task(gate.acquire())
    gate.pause(60)
    gate.release(ticket, Outcome.NONE)
    gate.release(await waiter, Outcome.NONE)
    gate.close()


async def test_cancelled_after_its_turn_gives_the_place_back() -> None:
    gate = RequestGate(Aimd(initial=1, ceiling=1))
    ticket = await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release(ticket, Outcome.NONE)  # its turn has come...
    waiter.cancel()  # ...but it is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.in_flight == 0
    gate.release(await gate.acquire(), Outcome.NONE)


# --- against the simulator ------------------------------------------------------------
async def _many(client: VtxClient, count: int) -> list[object]:
    return await asyncio.gather(*(client.get_presence(USER) for _ in range(count)), return_exceptions=True)


async def test_window_grows_while_answers_are_fast(session: aiohttp.ClientSession) -> None:
    """Requests in flight grow beyond the initial window, under the ceiling; connections are reused."""
    async with Simulator(latency_ms=20) as sim:
        client = make_client(session, sim.base_url, max_in_flight=12, initial_in_flight=2)
        results = await _many(client, 200)
        assert not [result for result in results if isinstance(result, BaseException)]
        stats = client.concurrency()
        assert 2 < stats["peak_in_flight"] <= 12
        assert stats["limit"] > 2
        assert stats["in_flight"] == 0
        assert sim.total_requests() == 200
        # Kept-alive connections: no more than ever were in flight at once.
        assert sim.connections() <= stats["peak_in_flight"]


async def test_window_shrinks_on_5xx(session: aiohttp.ClientSession, sim: Simulator) -> None:
    client = make_client(session, sim.base_url, max_in_flight=16, initial_in_flight=16)
    sim.fail_next(503, count=1)
    with pytest.raises(VtxConnectionError):
        await client.get_server_info()
    assert client.concurrency()["limit"] == 8
    assert client.concurrency()["decreases"] == 1


async def test_window_shrinks_on_slow_answers(session: aiohttp.ClientSession, sim: Simulator) -> None:
    client = make_client(session, sim.base_url, max_in_flight=16, initial_in_flight=16)
    for _ in range(5):
        await client.get_server_info()
    sim.hang_next(SLOW_MARGIN + 0.2)
    await client.get_server_info()
    assert client.concurrency()["limit"] == 8


async def test_short_retry_after_is_waited_out_and_the_get_sent_again(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    client = make_client(session, sim.base_url)
    sim.fail_next(429, retry_after=1)
    assert (await client.get_server_info()).build_version == "7.7.2.12"
    assert client.request_count == 2
    assert client.pause_remaining() == 0
    # A POST is not repeated: its 429 is the caller's.
    sim.fail_next(429, retry_after=1)
    with pytest.raises(VtxRateLimitError):
        await client.create_subscription(
            resource_type="FEATURE",
            notification_url="http://127.0.0.1:9/push",
            expires=datetime.now(UTC) + timedelta(days=1),
            user_ids=[USER],
        )
    assert client.request_count == 3


async def test_rate_limit_recovery_against_the_simulator(session: aiohttp.ClientSession) -> None:
    """Limited to 10 requests/s, 16 sent at once: some 429s, then paced under the limit, and every one succeeds."""
    async with Simulator(rate_limit=10) as sim:
        client = make_client(session, sim.base_url, initial_in_flight=16)
        results = await _many(client, 50)
        assert not [result for result in results if isinstance(result, BaseException)]
        stats = client.concurrency()
        refused = sim.rate_limited_count()
        assert refused >= 1
        # Not one 429 per request: the client paused, retried and paced itself.
        assert refused < 50
        assert stats["rate"] is not None and stats["rate"] <= 10
        assert stats["decreases"] >= 1
        assert sim.total_requests() == 50 + refused
