"""Hotel scale over a real network: 50, 200 and 500 lines, 0 and 30 ms away.

Run with ``scripts/benchmark -k scale`` (or ``scripts/benchmark benchmarks/bench_scale.py``).
Numbers are printed, never asserted against a threshold. The simulator adds its latency
(``latency_ms``, with ``jitter_ms`` of 10 % of it) to every API answer and every push; it
shares Home Assistant's event loop and CPU, so its own work is included in every figure.
Pushes go over real HTTP to Home Assistant's server on 127.0.0.1 (push base URL option).

- **setup**: ``async_setup`` of the entry until it is loaded, Home Assistant running (the
  user adds the entry), and Home Assistant starting (what holds the start up; the
  presence read and the subscriptions then finish in the background: "background done").
- **refresh**: one refresh of every line per coordinator (features; presence, every line),
  median of ``REFRESH_RUNS``; the client's window of requests in flight at its end.
- **push-to-state**: a DND change on the simulator until ``state_changed`` of that switch.
- **memory per line**: ``tracemalloc``, Python allocations still held once the entry is
  loaded (Home Assistant's and the integration's; the simulator's own files excluded), per line.
- **rate limit**: 500 lines 30 ms away, the simulator limited to 50 requests per second:
  one feature refresh of a client that has not met the limit yet, then one that has.
- **push storm**: 1,000 DND changes per second for 10 s over 500 lines, made by a simulator
  running as a process of its own (as VTX's servers are), pushed over real HTTP with 1 push
  in flight per URL (strictly in order) and 8 (a sender with several threads): push-to-state
  p50/p99/max from the change (the network's latency included), Home Assistant's share
  ("HA": from the moment the network hands the push over), and how many changes never
  reached the state (lost).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
import contextlib
import gc
import json
import logging
import os
from pathlib import Path
import socket
import statistics
import sys
import time
import tracemalloc
from typing import Any

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CoreState, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vtx_voip.api.concurrency import Aimd
from custom_components.vtx_voip.const import DOMAIN
from tests.integration.conftest import demo_entry, line_subentry
from vtx_simulator import Simulator

from .conftest import FIRST_USER_ID, record, seed_with_lines, sized

ROOT = Path(__file__).resolve().parents[1]
LINES = sized([50, 200, 500], [20])
# The rate-limit and push-storm cases: the largest hotel.
MANY_LINES = sized(500, 20)
LATENCIES = sized([0, 30], [0, 30])
REFRESH_RUNS = sized(3, 1)
TOGGLES = sized(100, 5)
STORM_RATE = sized(1000, 50)
# VTX_BENCH_STORM_SECONDS shortens the storm (profiling).
# Pushes in flight per URL at the simulator: 1 (strictly in order) and several (a sender's threads).
STORM_CONCURRENCY = sized([1, 8], [8])
STORM_LATENCIES = sized(LATENCIES, [0])
STORM_SECONDS = int(os.environ.get("VTX_BENCH_STORM_SECONDS", sized("10", "1")))

type ScaleSetup = Callable[..., Awaitable[tuple[Simulator | None, MockConfigEntry, dict[str, float]]]]


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.99 + 0.5) - 1, 0)]


@pytest.fixture
async def scale_setup(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, socket_enabled: None
) -> AsyncGenerator[ScaleSetup]:
    """Set up a simulator with N lines, latency and rate limit, and an entry pushing over real HTTP."""
    hass.loop.set_debug(False)
    quieted = [
        (handler, handler.level)
        for handler in logging.getLogger().handlers
        if type(handler) is logging.StreamHandler and handler.level < logging.WARNING
    ]
    for handler, _level in quieted:
        handler.setLevel(logging.WARNING)
    assert await async_setup_component(hass, "webhook", {})
    # The integration's HTTP views must exist before the server freezes its router.
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_client_no_auth()
    server_url = f"http://127.0.0.1:{client.server.port}"
    simulators: list[Simulator] = []
    entries: list[MockConfigEntry] = []

    async def setup(
        count: int,
        latency_ms: float,
        *,
        rate_limit: float | None = None,
        starting: bool = False,
        trace: bool = False,
        simulator_url: str | None = None,
    ) -> tuple[Simulator | None, MockConfigEntry, dict[str, float]]:
        simulator = None
        if simulator_url is None:
            simulator = Simulator(
                seed_with_lines(count), latency_ms=latency_ms, jitter_ms=latency_ms / 10, rate_limit=rate_limit
            )
            await simulator.start()
            simulators.append(simulator)
            simulator_url = simulator.base_url
        entry = demo_entry(
            simulator_url,
            options={"push_base_url": server_url},
            subentries_data=[line_subentry(FIRST_USER_ID + index, f"Bench {index}") for index in range(count)],
        )
        entry.add_to_hass(hass)
        entries.append(entry)
        timings: dict[str, float] = {}
        if trace:
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
        if starting:
            hass.set_state(CoreState.not_running)
        start = time.perf_counter()
        try:
            assert await hass.config_entries.async_setup(entry.entry_id)
            timings["setup"] = time.perf_counter() - start
        finally:
            hass.set_state(CoreState.running)
        assert entry.state is ConfigEntryState.LOADED
        await hass.async_block_till_done(wait_background_tasks=True)
        timings["background"] = time.perf_counter() - start
        if trace:
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            own = tracemalloc.Filter(False, "*vtx_simulator*")
            diff = after.filter_traces([own]).compare_to(before.filter_traces([own]), "filename")
            timings["memory"] = sum(stat.size_diff for stat in diff)
        return simulator, entry, timings

    yield setup
    for entry in entries:
        if entry.entry_id in {item.entry_id for item in hass.config_entries.async_entries(DOMAIN)}:
            await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    for simulator in simulators:
        await simulator.stop()
    for handler, level in quieted:
        handler.setLevel(level)


async def _toggle_latencies(
    hass: HomeAssistant, simulator: Simulator, user_ids: list[int], toggles: int
) -> list[float]:
    """Milliseconds from a DND change on the simulator to the switch's state, one change at a time."""
    changed = asyncio.Event()
    watched: dict[str, Any] = {"entity_id": None}

    # A callback: run in the event loop (a plain function would run in the executor).

    @callback
    def on_change(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == watched["entity_id"]:
            changed.set()

    unsub = hass.bus.async_listen("state_changed", on_change)
    latencies: list[float] = []
    try:
        for index in range(toggles):
            user_id = user_ids[(index * 7919) % len(user_ids)]
            watched["entity_id"] = f"switch.bench_{user_id - FIRST_USER_ID}_do_not_disturb"
            on = hass.states.get(watched["entity_id"]).state != "on"
            changed.clear()
            start = time.perf_counter()
            simulator.set_dnd(user_id, on)
            await asyncio.wait_for(changed.wait(), 10)
            latencies.append((time.perf_counter() - start) * 1000)
    finally:
        unsub()
    return latencies


@pytest.mark.parametrize("latency_ms", LATENCIES, ids=lambda value: f"{value}ms")
@pytest.mark.parametrize("lines", LINES, ids=lambda value: f"{value}lines")
async def test_scale(hass: HomeAssistant, scale_setup: ScaleSetup, lines: int, latency_ms: int) -> None:
    """Setup, one refresh per coordinator, push-to-state; setup while Home Assistant starts."""
    simulator, entry, timings = await scale_setup(lines, latency_ms)
    runtime = entry.runtime_data
    assert runtime.push.healthy
    refresh: dict[str, list[float]] = {"features": [], "presence": []}
    windows: dict[str, int] = {}
    for _ in range(REFRESH_RUNS):
        for name, run in (
            ("features", runtime.features.async_refresh),
            ("presence", runtime.presence.async_refresh_all),
        ):
            simulator.reset_request_counts()
            start = time.perf_counter()
            await run()
            refresh[name].append(time.perf_counter() - start)
            assert getattr(runtime, name).last_update_success
            assert simulator.total_requests() == lines
            windows[name] = runtime.client.concurrency()["limit"]
    connections = simulator.connections()
    latencies = await _toggle_latencies(hass, simulator, list(runtime.lines), TOGGLES)
    stats = runtime.client.concurrency()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    _sim2, entry2, starting = await scale_setup(lines, latency_ms, starting=True)
    assert entry2.runtime_data.push.healthy
    record(
        "scale: set-up, one refresh per coordinator, push-to-state (simulator latency +- 10 % jitter)",
        [
            "lines",
            "latency ms",
            "setup s (HA running)",
            "setup s (HA starting)",
            "background done s",
            "features refresh s",
            "presence refresh s",
            "in flight (peak)",
            "connections",
            "push p50 ms",
            "push p99 ms",
        ],
        [
            lines,
            latency_ms,
            f"{timings['setup']:.2f}",
            f"{starting['setup']:.2f}",
            f"{starting['background']:.2f}",
            f"{statistics.median(refresh['features']):.3f}",
            f"{statistics.median(refresh['presence']):.3f}",
            f"{windows['features']}/{windows['presence']} ({stats['peak_in_flight']})",
            connections,
            f"{statistics.median(latencies):.1f}",
            f"{p99(latencies):.1f}",
        ],
    )


@pytest.mark.parametrize("lines", LINES, ids=lambda value: f"{value}lines")
async def test_memory_per_line(scale_setup: ScaleSetup, lines: int) -> None:
    """Python memory held by Home Assistant and the integration once the entry is loaded, per line."""
    _simulator, entry, timings = await scale_setup(lines, 0, trace=True)
    entities = len(
        [state for state in entry.runtime_data.features.hass.states.async_all() if "bench_" in state.entity_id]
    )
    record(
        "memory per line (tracemalloc: allocations held after set-up, simulator excluded)",
        ["lines", "entities", "KiB in all", "KiB per line", "KiB per entity"],
        [
            lines,
            entities,
            f"{timings['memory'] / 1024:.0f}",
            f"{timings['memory'] / 1024 / lines:.1f}",
            f"{timings['memory'] / 1024 / entities:.2f}",
        ],
    )


@pytest.mark.parametrize("rate_limit", [None, 50], ids=["no_limit", "limit50"])
async def test_rate_limited_refresh(scale_setup: ScaleSetup, rate_limit: int | None) -> None:
    """500 lines, 30 ms: one feature refresh by a client that has not met the limit yet, then a second one."""
    lines = MANY_LINES
    simulator, entry, _timings = await scale_setup(lines, 30)
    runtime = entry.runtime_data
    # A client that knows nothing of a limit yet (as after a restart), then the limit.
    runtime.client.gate.aimd = Aimd(ceiling=runtime.client.gate.aimd.ceiling)
    simulator.set_network(rate_limit=rate_limit)
    await asyncio.sleep(1.1)
    for run in ("first", "second"):
        simulator.reset_request_counts()
        start = time.perf_counter()
        await runtime.features.async_refresh()
        elapsed = time.perf_counter() - start
        complete = all(runtime.features.line_available(user_id) for user_id in runtime.lines)
        stats = runtime.client.concurrency()
        record(
            f"rate limit: one feature refresh, {lines} lines, 30 ms (+- 3 ms)",
            [
                "limit /s",
                "refresh",
                "seconds",
                "floor s (lines / limit)",
                "429s",
                "requests",
                "every line read",
                "pace /s",
                "window",
            ],
            [
                rate_limit or "-",
                run,
                f"{elapsed:.2f}",
                f"{lines / rate_limit:.1f}" if rate_limit else "-",
                simulator.rate_limited_count(),
                simulator.total_requests(),
                "yes" if complete else "NO",
                stats["rate"] or "-",
                stats["limit"],
            ],
        )


# The process of each simulator started by ``simulator_process``, by URL.
SIMULATOR_PIDS: dict[str, int] = {}


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of a process so far: this one, or ``pid`` (Linux's /proc)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
async def simulator_process(tmp_path: Path) -> AsyncGenerator[Callable[..., Awaitable[str]]]:
    """Start the simulator as a process of its own (its own CPU, as VTX's servers are); yield its URL."""
    processes: list[asyncio.subprocess.Process] = []

    async def start(count: int, latency_ms: float, push_concurrency: int) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        data = tmp_path / "seed.json"
        data.write_text(json.dumps(seed_with_lines(count)), encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "vtx_simulator", "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)),
            *("--latency-ms", str(latency_ms), "--jitter-ms", str(latency_ms / 10)),
            *("--push-concurrency", str(push_concurrency)),
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        SIMULATOR_PIDS[url] = process.pid
        async with aiohttp.ClientSession() as session:
            for _ in range(120):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{url}/_control/version") as response:
                        if response.status == 200:
                            return url
                await asyncio.sleep(0.25)
        raise AssertionError("the simulator did not start within 30 s")

    yield start
    for process in processes:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize("push_concurrency", STORM_CONCURRENCY, ids=lambda value: f"{value}conn")
@pytest.mark.parametrize("latency_ms", STORM_LATENCIES, ids=lambda value: f"{value}ms")
async def test_push_storm(
    hass: HomeAssistant,
    scale_setup: ScaleSetup,
    simulator_process: Callable[..., Awaitable[str]],
    latency_ms: int,
    push_concurrency: int,
) -> None:
    """1,000 DND changes per second for 10 s over 500 lines, pushed over real HTTP: latency, and none lost.

    The simulator runs in a process of its own and makes the changes itself, so Home
    Assistant's event loop carries only what it would in production: the pushes. Each
    change is timed from the moment the simulator made it (``time.monotonic``, one clock
    for every process of the machine) to the ``state_changed`` of its switch.
    """
    lines = MANY_LINES
    url = await simulator_process(lines, latency_ms, push_concurrency)
    _none, entry, _timings = await scale_setup(lines, latency_ms, simulator_url=f"{url}/openapi/")
    runtime = entry.runtime_data
    user_ids = list(runtime.lines)
    entity_of = {f"switch.bench_{user_id - FIRST_USER_ID}_do_not_disturb": user_id for user_id in user_ids}
    arrivals: list[tuple[int, str, float]] = []

    # A callback: run in the event loop (a plain function would run in the executor).

    @callback
    def on_change(event: Event[EventStateChangedData]) -> None:
        if (user_id := entity_of.get(event.data["entity_id"])) is not None and event.data["new_state"] is not None:
            arrivals.append((user_id, event.data["new_state"].state, time.monotonic()))

    received_before = runtime.push.pushes_received
    unsub = hass.bus.async_listen("state_changed", on_change)
    total = STORM_RATE * STORM_SECONDS
    pid = SIMULATOR_PIDS[url]
    cpu_before = cpu_seconds(), cpu_seconds(pid)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{url}/_control/storm", json={"userIds": user_ids, "rate": STORM_RATE, "seconds": STORM_SECONDS}
        ) as response:
            assert response.status == 200, await response.text()
        begin = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            async with session.get(f"{url}/_control/storm") as response:
                storm = await response.json()
            if not storm["running"] and storm["pending"] == 0:
                break
            assert time.monotonic() - begin < STORM_SECONDS + 120, storm["pending"]
        storm_seconds = time.monotonic() - begin
        cpu = cpu_seconds() - cpu_before[0], cpu_seconds(pid) - cpu_before[1]
        async with session.get(f"{url}/_control/deliveries") as response:
            deliveries = [item for item in (await response.json())["deliveries"] if item["resourceType"] == "FEATURE"]
    await hass.async_block_till_done()
    unsub()
    # The changes of one line, in order; a state ends those up to its value (a push that
    # was overtaken by a later one of its line is folded into that one).
    pending: dict[int, deque[tuple[bool, float, float]]] = {user_id: deque() for user_id in user_ids}
    for user_id, on, made, due in storm["changes"]:
        pending[user_id].append((on, made, due))
    latencies: list[float] = []
    # From the moment the network hands the push over (made + latency): Home Assistant's share.
    shares: list[float] = []
    for user_id, state, arrived in arrivals:
        queue = pending[user_id]
        while queue:
            on, made, due = queue.popleft()
            latencies.append((arrived - made) * 1000)
            shares.append((arrived - due) * 1000)
            if ("on" if on else "off") == state:
                break
    lost = sum(len(queue) for queue in pending.values())
    final = {user_id: on for user_id, on, _made, _due in storm["changes"]}
    wrong = sum(
        1
        for entity_id, user_id in entity_of.items()
        if (hass.states.get(entity_id).state == "on") is not final[user_id]
    )
    record(
        f"push storm: {STORM_RATE} DND changes/s for {STORM_SECONDS} s over {lines} lines, real HTTP, simulator process",
        [
            "latency ms",
            "pushes in flight",
            "changes",
            "pushes received",
            "not 200",
            "p50 ms",
            "p99 ms",
            "max ms",
            "HA p50 ms",
            "HA p99 ms",
            "lost",
            "wrong at the end",
            "HA CPU %",
            "simulator CPU %",
        ],
        [
            latency_ms,
            push_concurrency,
            total,
            runtime.push.pushes_received - received_before,
            sum(1 for delivery in deliveries if delivery["status"] != 200),
            f"{statistics.median(latencies):.1f}",
            f"{p99(latencies):.1f}",
            f"{max(latencies):.1f}",
            f"{statistics.median(shares):.1f}",
            f"{p99(shares):.1f}",
            lost,
            wrong,
            f"{100 * cpu[0] / storm_seconds:.0f}",
            f"{100 * cpu[1] / storm_seconds:.0f}",
        ],
    )
