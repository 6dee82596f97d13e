"""How much one refresh costs: HTTP requests per refresh, and its wall time with 200 lines.

Run with ``scripts/benchmark``. Numbers are printed, never asserted against a threshold.

(a) A refresh of the feature coordinator reads ``GET v1/users/{id}/feat`` once per line.
    The presence coordinator reads ``GET v1/users/{id}/presence`` once per line per poll
    interval: up to ``SPREAD_MAX_LINES`` lines in one refresh, more in shares spread over
    the interval (one share per refresh, each line in one share). A full polling cycle
    costs 2 requests per line (the API has no bulk read), whatever the number of entities
    per line. With push working, that cycle runs every 15 minutes; without it, features
    every minute and presence every 30 s.
(b) The wall time of one refresh of 200 lines, per coordinator (median and p95 of 10
    runs): requests in flight adapt (AIMD) up to ``MAX_REQUESTS_IN_FLIGHT``. Unchanged data
    writes no state; the last row has every line changed, so every line's entities write.
    The simulator serves from the same event loop, so its time is included: the figures
    are an upper bound of the integration's own cost, on loopback (no network latency).
"""

from __future__ import annotations

import statistics
import time

import pytest

from custom_components.vtx_voip.const import MAX_REQUESTS_IN_FLIGHT
from custom_components.vtx_voip.coordinator import SPREAD_MAX_LINES

from .conftest import LinesFactory, record, sized

RUNS = sized(10, 3)
WALL_TIME_LINES = sized(200, 20)
FEAT = "GET /openapi/v1/users/{user_id}/feat"
PRESENCE = "GET /openapi/v1/users/{user_id}/presence"


@pytest.mark.parametrize("lines", sized([1, 4, 50, 200], [1, 20]))
async def test_requests_per_refresh(integration_with_lines: LinesFactory, lines: int) -> None:
    """Count the API requests of one refresh of each coordinator, and of a full presence cycle.

    Presence reads more than ``SPREAD_MAX_LINES`` lines in shares, one per refresh: the
    refreshes of one poll interval together read every line exactly once.
    """
    simulator, entry = await integration_with_lines(lines)
    runtime = entry.runtime_data
    simulator.reset_request_counts()
    await runtime.features.async_refresh()
    assert runtime.features.last_update_success
    # Nothing but the one read per line (a failed assumption here is worth knowing).
    assert simulator.request_counts() == {FEAT: lines}
    shares = -(-lines // SPREAD_MAX_LINES)
    per_refresh: list[int] = []
    read: set[str] = set()
    for _ in range(shares):
        simulator.reset_request_counts()
        await runtime.presence.async_refresh()
        assert runtime.presence.last_update_success
        counts = simulator.request_counts()
        assert set(counts) == {PRESENCE}
        per_refresh.append(counts[PRESENCE])
        read.update(path for path in simulator.path_counts() if path.endswith("/presence"))
    # One share per refresh, none larger than the spread's maximum; every line once per cycle.
    assert max(per_refresh) <= SPREAD_MAX_LINES
    assert sum(per_refresh) == lines
    assert len(read) == lines
    record(
        "requests per refresh",
        ["lines", "features refresh", "presence refresh", "presence refreshes per cycle", "full cycle", "per line"],
        [lines, lines, max(per_refresh), shares, lines + sum(per_refresh), f"{(lines + sum(per_refresh)) / lines:g}"],
    )


async def test_refresh_wall_time(integration_with_lines: LinesFactory) -> None:
    """Time one refresh of 200 lines (20 in the quick mode), per coordinator, over 10 runs.

    The third row times a feature refresh that finds every line's DND changed (pushes
    lost), so every line's entities write a new state.
    """
    lines = WALL_TIME_LINES
    simulator, entry = await integration_with_lines(lines)
    runtime = entry.runtime_data
    simulator.drop_pushes()
    user_ids = list(runtime.lines)

    def toggle_every_dnd(run: int) -> None:
        for user_id in user_ids:
            simulator.set_dnd(user_id, run % 2 == 0)

    # Presence: every line (a refresh of the poll interval reads a share of them).
    cases = (
        ("features", runtime.features.async_refresh, None),
        ("presence, every line", runtime.presence.async_refresh_all, None),
        ("features, every line changed", runtime.features.async_refresh, toggle_every_dnd),
    )
    for name, refresh, prepare in cases:
        times: list[float] = []
        for run in range(RUNS):
            if prepare is not None:
                prepare(run)
                await simulator.wait_for_pushes()
            start = time.perf_counter()
            await refresh()
            times.append(time.perf_counter() - start)
            assert runtime.features.last_update_success
            assert runtime.presence.last_update_success
        if prepare is not None:
            assert runtime.features.feature(user_ids[0], "CENTRAL_DND").active is (RUNS % 2 == 1)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[18]
        record(
            f"wall time of one refresh, {lines} lines, {RUNS} runs, up to {MAX_REQUESTS_IN_FLIGHT} requests in flight",
            ["refresh", "median ms", "p95 ms", "min ms", "max ms", "ms per line (median)"],
            [
                name,
                f"{statistics.median(times) * 1000:.1f}",
                f"{p95 * 1000:.1f}",
                f"{min(times) * 1000:.1f}",
                f"{max(times) * 1000:.1f}",
                f"{statistics.median(times) * 1000 / lines:.2f}",
            ],
        )
