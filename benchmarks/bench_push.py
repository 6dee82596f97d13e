"""Push benchmarks: push-to-state latency, and API requests per line per hour.

Run with ``scripts/benchmark``. Numbers are printed, never asserted against a threshold.

- Latency: the simulator changes DND on a line and POSTs the wiki-shaped featureEvents
  push; the clock runs from the change until Home Assistant's state machine shows the
  switch's new state. The POST goes through Home Assistant's HTTP test client (the whole
  aiohttp request path, webhook component and handler, without a TCP socket) in the same
  event loop as the simulator.
- Requests per hour: each periodic job (features, presence, call-history fallback) runs
  once against the simulator with 4 lines; its request count is scaled by its interval,
  with push working and without push (no notification URL: the entry polls).
"""

from __future__ import annotations

import asyncio
from functools import partial
import statistics
import time

from homeassistant.core import Event, EventStateChangedData, HomeAssistant

from custom_components.vtx_voip.push import CALL_FALLBACK_INTERVAL, CALL_RECONCILE_INTERVAL

from .conftest import FIRST_USER_ID, LinesFactory, record

TOGGLES = 200
LINES_PER_HOUR = 4


async def test_push_to_state_latency(hass: HomeAssistant, integration_with_lines: LinesFactory) -> None:
    simulator, _entry = await integration_with_lines(1)
    entity_id = "switch.bench_0_do_not_disturb"
    assert hass.states.get(entity_id) is not None
    changed = asyncio.Event()

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
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    record(
        "push-to-state latency (ms), simulator change -> state machine",
        ["toggles", "p50", "p99", "max"],
        [TOGGLES, f"{statistics.median(latencies):.2f}", f"{p99:.2f}", f"{latencies[-1]:.2f}"],
    )


async def test_requests_per_line_per_hour(hass: HomeAssistant, integration_with_lines: LinesFactory) -> None:
    """Requests of one cycle of each periodic job, counted, times its runs per hour.

    (Time travel cannot drive real HTTP requests here: moving the loop's clock fires the
    requests' own timeouts. So each job runs once for real and is scaled by its interval.)
    """
    for push in (True, False):
        simulator, entry = await integration_with_lines(LINES_PER_HOUR, push=push)
        runtime = entry.runtime_data
        assert runtime.push is not None
        assert runtime.push.healthy is push
        calls = runtime.calls
        assert calls is not None
        jobs = [
            ("features", runtime.features.update_interval, runtime.features.async_refresh),
            ("presence", runtime.presence.update_interval, runtime.presence.async_refresh),
            (
                "call history",
                CALL_FALLBACK_INTERVAL if not push else CALL_RECONCILE_INTERVAL,
                partial(calls.async_backfill, runtime.client),
            ),
        ]
        per_hour: dict[str, float] = {}
        for name, interval, run in jobs:
            assert interval is not None
            simulator.reset_request_counts()
            await run()
            await hass.async_block_till_done()
            per_hour[name] = simulator.total_requests() * (3600 / interval.total_seconds()) / LINES_PER_HOUR
        record(
            "API requests per line per hour (measured per cycle x cycles per hour, 4 lines)",
            ["push", "features", "presence", "call history", "total"],
            [
                "on" if push else "off",
                *(f"{per_hour[name]:.1f}" for name in ("features", "presence", "call history")),
                f"{sum(per_hour.values()):.1f}",
            ],
        )
        assert await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
