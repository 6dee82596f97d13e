"""The simulator's network: latency and jitter on answers and pushes, the per-account rate limit."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from hypothesis import given, settings, strategies as st
import pytest

from vtx_simulator import Simulator, cli
from vtx_simulator.network import RATE_WINDOW, Network

from .conftest import HEADERS, USER, Api, Receiver, basic


@given(
    latency=st.floats(min_value=0, max_value=500, allow_nan=False),
    jitter=st.floats(min_value=0, max_value=100, allow_nan=False),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_is_latency_plus_or_minus_jitter(latency: float, jitter: float, seed: int) -> None:
    network = Network(latency_ms=latency, jitter_ms=jitter, seed=seed)
    for _ in range(20):
        delay = network.delay()
        assert delay >= 0
        assert max(0.0, latency - jitter) / 1000 - 1e-9 <= delay <= (latency + jitter) / 1000 + 1e-9


@settings(max_examples=200)
@given(
    limit=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=0.3, allow_nan=False), min_size=1, max_size=120),
)
def test_rate_limit_sliding_window(limit: int, gaps: list[float]) -> None:
    """In any window of one second at most ``limit`` are admitted; one is refused only when the window is full."""
    network = Network(rate_limit=limit)
    now = 1000.0
    admitted: list[float] = []
    refused = 0
    for gap in gaps:
        now += gap
        in_window = [when for when in admitted if when > now - RATE_WINDOW]
        retry_after = network.admit("account", now)
        if retry_after is None:
            assert len(in_window) < limit
            admitted.append(now)
        else:
            refused += 1
            assert len(in_window) == limit
            # Whole seconds, at least 1, and a place is free by then.
            assert retry_after == int(retry_after) >= 1
            assert min(in_window) + RATE_WINDOW <= now + retry_after
    assert network.rate_limited == refused
    for index, when in enumerate(admitted):
        assert sum(1 for other in admitted[index:] if other < when + RATE_WINDOW) <= limit
    # Another account has a window of its own.
    assert network.admit("other account", now) is None


@pytest.mark.parametrize(
    ("latency", "jitter", "limit"), [(-1, 0, None), (0, -1, None), (float("nan"), 0, None), (0, 0, 0), (0, 0, -5)]
)
def test_network_refuses_bad_values(latency: float, jitter: float, limit: float | None) -> None:
    with pytest.raises(ValueError, match="must"):
        Network(latency_ms=latency, jitter_ms=jitter, rate_limit=limit)
    with pytest.raises(ValueError, match="must"):
        Simulator(latency_ms=latency, jitter_ms=jitter, rate_limit=limit)


async def test_rate_limit_answers_429_with_retry_after(socket_enabled: None) -> None:
    async with Simulator(rate_limit=3) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim)
        answers = [await api.get(f"v1/users/{USER}/feat") for _ in range(5)]
        assert [status for status, _body, _headers in answers] == [200, 200, 200, 429, 429]
        status, body, headers = answers[3]
        assert headers["Retry-After"] == "1"
        assert body["status"] == 429 and body["error"] == "Too Many Requests"
        assert sim.rate_limited_count() == 2
        # Every request is counted, the refused ones too; the control API is not limited.
        assert sim.total_requests() == 5
        async with session.get(sim.control_url + "state") as response:
            assert response.status == 200
            assert (await response.json())["network"] == {
                "latencyMs": 0.0,
                "jitterMs": 0.0,
                "rateLimit": 3,
                "rateLimited": 2,
            }
        # Another account (here: wrong credentials) has its own window: answered 401, not 429.
        status, _body, _headers = await api.get("v1/system/server", headers={**HEADERS, "Authorization": basic("x")})
        assert status == 401
        # After the window, requests are admitted again.
        await asyncio.sleep(RATE_WINDOW)
        assert (await api.get("v1/system/server"))[0] == 200
        sim.reset_request_counts()
        assert sim.rate_limited_count() == 0
        sim.set_network(rate_limit=None)
        assert [(await api.get("v1/system/server"))[0] for _ in range(10)] == [200] * 10
        assert sim.rate_limited_count() == 0


async def test_latency_delays_answers_and_pushes(socket_enabled: None, receiver: Receiver) -> None:
    """Answers and deliveries come no sooner than the latency (minus jitter), pushes in order."""
    async with Simulator(latency_ms=40, jitter_ms=10) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim)
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await api.get("v1/system/server"))[0] == 200
        assert loop.time() - start >= 0.030
        await api.subscribe(url=receiver.url)
        start = loop.time()
        for index in range(10):
            sim.set_dnd(USER, index % 2 == 0)
        bodies = await receiver.wait(10)
        assert loop.time() - start >= 0.030
        # In the order of the changes, whatever each one's jitter.
        statuses = [body["featureEvents"][0]["feature"]["status"] for body in bodies]
        assert statuses == ["ACTIVE", "INACTIVE"] * 5
        sim.set_network(latency_ms=0, jitter_ms=0)
        assert sim.network.delay() == 0
        with pytest.raises(ValueError, match="must"):
            sim.set_network(latency_ms=-3)


async def test_connections_are_counted(socket_enabled: None) -> None:
    """Requests on one kept-alive connection count one connection; a new session opens another."""
    async with Simulator() as sim:
        async with aiohttp.ClientSession() as session:
            api = Api(session, sim)
            for _ in range(5):
                assert (await api.get("v1/system/server"))[0] == 200
        assert sim.connections() == 1
        async with aiohttp.ClientSession() as session:
            assert (await Api(session, sim).get("v1/system/server"))[0] == 200
        assert sim.connections() == 2
        sim.reset_request_counts()
        assert sim.connections() == 0


def test_serve_arguments() -> None:
    args = cli.build_parser().parse_args(["serve", "--latency-ms", "30", "--jitter-ms", "5", "--rate-limit", "50"])
    assert (args.latency_ms, args.jitter_ms, args.rate_limit) == (30, 5, 50)
    args = cli.build_parser().parse_args(["serve"])
    assert (args.latency_ms, args.jitter_ms, args.rate_limit) == (0, 0, None)


async def test_serve_with_network(socket_enabled: None, capsys: pytest.CaptureFixture[str]) -> None:
    stop = asyncio.Event()
    args = cli.build_parser().parse_args(["serve", "--port", "0", "--latency-ms", "5", "--rate-limit", "2"])
    task = asyncio.create_task(cli.serve(args, stop))
    out = ""
    for _ in range(250):
        out += capsys.readouterr().out
        if "network" in out:
            break
        await asyncio.sleep(0.02)
    assert "5 +- 0 ms, rate limit 2 requests/s per account" in out
    url = out.split("listening on ")[1].split()[0]
    statuses: list[Any] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(url + "/openapi/v1/system/server", headers=HEADERS) as response:
                statuses.append(response.status)
    assert statuses == [200, 200, 429]
    stop.set()
    await task
