"""Push benchmarks: push-to-state latency, and API requests per line per hour.

Run with ``scripts/benchmark``. Numbers are printed, never asserted against a threshold.

- Latency: the simulator changes DND on a line and POSTs the wiki-shaped featureEvents
  push; the clock runs from the change until Home Assistant's state machine shows the
  switch's new state (a ``state_changed`` listener). Two paths are measured:

  * *real HTTP*: the simulator's own aiohttp client POSTs over loopback TCP to Home
    Assistant's HTTP application served by aiohttp on 127.0.0.1 (the test harness's
    server, on a real port), exactly as the VTX servers would (push base URL option);
  * *test client*: the push handed to Home Assistant's HTTP test client (what the
    integration tests do), for comparison.

  Simulator and Home Assistant share one event loop, so the figures include the
  simulator's own work (serialising, queueing, sending).
- Requests per line per hour: an hour is simulated with time travel (freezer and
  ``async_fire_time_changed``, 30 s at a time); every API request the simulator sees is
  counted and divided by the number of lines (4), with push working and without it (no
  notification URL: the entry polls).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import statistics
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.vtx_voip.const import DOMAIN
from tests.integration.conftest import demo_entry, line_subentry
from vtx_simulator import Simulator

from .conftest import FIRST_USER_ID, record, seed_with_lines, sized

TOGGLES = sized(200, 10)
HOURS = sized(6, 1)
LINES = 4

type Setup = Callable[..., Awaitable[tuple[Simulator, MockConfigEntry]]]


@pytest.fixture
async def push_setup(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, socket_enabled: None
) -> AsyncGenerator[Setup]:
    """Set up a simulator with N lines and an entry; pushes over real HTTP, the test client, or none.

    ``mode``: ``"http"`` (the simulator POSTs to Home Assistant's server on its real port),
    ``"client"`` (pushes handed to the HTTP test client), ``"none"`` (no notification URL).
    """
    hass.loop.set_debug(False)
    # The HTTP server starts with the client: the routes the entry needs must exist by then.
    assert await async_setup_component(hass, "webhook", {})
    # The integration registers its HTTP views when it loads: before the server freezes its router.
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_client_no_auth()
    server_url = f"http://127.0.0.1:{client.server.port}"
    simulators: list[Simulator] = []
    entries: list[MockConfigEntry] = []

    async def via_test_client(url: str, body: bytes, headers: Any) -> int:
        response = await client.post(URL(url).path, data=body, headers=headers)
        return int(response.status)

    async def setup(count: int, mode: str, profile: str = "default") -> tuple[Simulator, MockConfigEntry]:
        simulator = Simulator(
            seed_with_lines(count), push_transport=via_test_client if mode == "client" else None, profile=profile
        )
        await simulator.start()
        simulators.append(simulator)
        options = {} if mode == "none" else {"push_base_url": server_url}
        entry = demo_entry(
            simulator.base_url,
            options=options,
            subentries_data=[line_subentry(FIRST_USER_ID + index, f"Bench {index}") for index in range(count)],
        )
        entry.add_to_hass(hass)
        entries.append(entry)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return simulator, entry

    yield setup
    for entry in entries:
        if entry.entry_id in {item.entry_id for item in hass.config_entries.async_entries(DOMAIN)}:
            await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    for simulator in simulators:
        await simulator.stop()


@pytest.mark.parametrize("mode", ["http", "client"])
async def test_push_to_state_latency(hass: HomeAssistant, push_setup: Setup, mode: str) -> None:
    """Milliseconds from a DND change on the simulator to the switch's new state, 200 toggles."""
    simulator, entry = await push_setup(1, mode)
    runtime = entry.runtime_data
    assert runtime.push is not None
    assert runtime.push.healthy
    entity_id = "switch.bench_0_do_not_disturb"
    assert hass.states.get(entity_id) is not None
    changed = asyncio.Event()

    # A callback: run in the event loop (a plain function would run in the executor).

    @callback
    def on_change(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == entity_id:
            changed.set()

    unsub = hass.bus.async_listen("state_changed", on_change)
    latencies: list[float] = []
    for index in range(TOGGLES):
        changed.clear()
        start = time.perf_counter()
        simulator.set_dnd(FIRST_USER_ID, index % 2 == 0)
        await asyncio.wait_for(changed.wait(), 5)
        latencies.append((time.perf_counter() - start) * 1000)
    unsub()
    await simulator.wait_for_pushes()
    deliveries = simulator.deliveries()
    assert len(deliveries) == TOGGLES
    assert {delivery["status"] for delivery in deliveries} == {200}
    assert runtime.push.pushes_received == TOGGLES
    latencies.sort()
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    record(
        "push-to-state latency (ms): simulator change -> state_changed",
        ["path", "toggles", "p50", "p99", "max"],
        [
            "real HTTP over loopback" if mode == "http" else "HTTP test client",
            TOGGLES,
            f"{statistics.median(latencies):.2f}",
            f"{p99:.2f}",
            f"{latencies[-1]:.2f}",
        ],
    )


@pytest.mark.parametrize("profile", ["default", "wiki"])
@pytest.mark.parametrize("push", [True, False], ids=["push_on", "push_off"])
async def test_requests_per_line_per_hour(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, push_setup: Setup, push: bool, profile: str
) -> None:
    """Every API request the simulator sees in 6 simulated hours, per line and hour (4 lines).

    Profile "wiki": the server does only what the wiki documents (no call history, no
    renewal, no PRESENCE subscription). ``freezer`` starts before Home Assistant, so the
    event loop's clock and the timers scheduled on it move together with the travel (the
    simulator's clock follows too).
    """
    simulator, entry = await push_setup(LINES, "client" if push else "none", profile)
    runtime = entry.runtime_data
    assert runtime.push is not None
    assert runtime.push.healthy is push
    # Past the first cycles after set-up (the intervals in force then were the start-up ones).
    for _ in range(2 * 16):
        await _travel(hass, freezer)
    simulator.reset_request_counts()
    for _ in range(2 * 60 * HOURS):
        await _travel(hass, freezer)
    counts = simulator.request_counts()
    per_line = {
        "features": counts.get("GET /openapi/v1/users/{user_id}/feat", 0) / LINES / HOURS,
        "presence": counts.get("GET /openapi/v1/users/{user_id}/presence", 0) / LINES / HOURS,
        "call history": counts.get("GET /openapi/v1/users/{user_id}/calllogs", 0) / LINES / HOURS,
    }
    total = simulator.total_requests() / LINES / HOURS
    record(
        f"API requests per line per hour (over {HOURS} simulated hours, time travel, {LINES} lines)",
        ["profile", "push", "features", "presence", "call history", "other", "total", f"total in {HOURS} h"],
        [
            profile,
            "on" if push else "off",
            *(f"{value:.2f}" for value in per_line.values()),
            f"{total - sum(per_line.values()):.2f}",
            f"{total:.2f}",
            f"{total * HOURS:.0f}",
        ],
    )


async def _travel(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(30)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


DISCOVERED = sized(20, 3)


@pytest.mark.parametrize("mode", ["http", "client"])
async def test_push_to_discovery_latency(hass: HomeAssistant, push_setup: Setup, mode: str) -> None:
    """Milliseconds from a DND change on a line no entry has to its discovery flow (issue 11: "within a second").

    21 lines at the simulator, 1 configured; the FEATURE subscription covers the enterprise.
    For each of the 20 others the clock runs from the change on the simulator until Home
    Assistant's flow manager announces the new discovery flow (what the frontend's
    *Discovered* list subscribes to).
    """
    simulator, entry = await push_setup(DISCOVERED + 1, mode)
    for subentry in list(entry.subentries.values()):
        if subentry.unique_id != str(FIRST_USER_ID):
            hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert list(entry.runtime_data.lines) == [FIRST_USER_ID]
    assert entry.runtime_data.push.feature_by_enterprise
    shown = asyncio.Event()
    flows: list[str] = []

    def on_flow(change: str, flow_id: str) -> None:
        if change == "added":
            flows.append(flow_id)
            shown.set()

    unsub = hass.config_entries.flow.async_subscribe_flow(on_flow)
    latencies: list[float] = []
    for index in range(1, DISCOVERED + 1):
        shown.clear()
        start = time.perf_counter()
        simulator.set_dnd(FIRST_USER_ID + index, True)
        await asyncio.wait_for(shown.wait(), 5)
        latencies.append((time.perf_counter() - start) * 1000)
    unsub()
    progress = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(progress) == len(flows) == DISCOVERED
    latencies.sort()
    record(
        "push-to-discovery latency (ms): change on an unconfigured line -> discovery flow shown",
        ["path", "lines", "p50", "p95", "max"],
        [
            "real HTTP over loopback" if mode == "http" else "HTTP test client",
            DISCOVERED,
            f"{statistics.median(latencies):.2f}",
            f"{latencies[max(int(len(latencies) * 0.95) - 1, 0)]:.2f}",
            f"{latencies[-1]:.2f}",
        ],
    )
