"""How much one refresh costs: HTTP requests per refresh, and its wall time with 200 lines.

Run with ``scripts/benchmark``. Numbers are printed, never asserted against a threshold.

(a) A refresh of the feature coordinator reads ``GET v1/users/{id}/feat`` once per line,
    a refresh of the presence coordinator ``GET v1/users/{id}/presence`` once per line: a
    full polling cycle costs 2 requests per line (the API has no bulk read), whatever the
    number of entities per line. With push working, that cycle runs every 15 minutes;
    without it, features every minute and presence every 30 s.
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

from .conftest import LinesFactory, record

RUNS = 10


@pytest.mark.parametrize("lines", [1, 4, 50, 200])
async def test_requests_per_refresh(integration_with_lines: LinesFactory, lines: int) -> None:
    """Count the API requests of one refresh of each coordinator."""
    simulator, entry = await integration_with_lines(lines)
    runtime = entry.runtime_data
    counts: dict[str, dict[str, int]] = {}
    for name, coordinator in (("features", runtime.features), ("presence", runtime.presence)):
        simulator.reset_request_counts()
        await coordinator.async_refresh()
        assert coordinator.last_update_success
        counts[name] = simulator.request_counts()
    features = sum(counts["features"].values())
    presence = sum(counts["presence"].values())
    # Nothing but the one read per line (a failed assumption here is worth knowing).
    assert counts["features"] == {"GET /openapi/v1/users/{user_id}/feat": lines}
    assert counts["presence"] == {"GET /openapi/v1/users/{user_id}/presence": lines}
    record(
        "requests per refresh",
        ["lines", "features refresh", "presence refresh", "full cycle", "per line"],
        [lines, features, presence, features + presence, f"{(features + presence) / lines:g}"],
    )


async def test_refresh_wall_time(integration_with_lines: LinesFactory) -> None:
    """Time one refresh of 200 lines, per coordinator, over 10 runs.

    The third row times a feature refresh that finds every line's DND changed (pushes
    lost), so every line's entities write a new state.
    """
    lines = 200
    simulator, entry = await integration_with_lines(lines)
    runtime = entry.runtime_data
    simulator.drop_pushes()
    user_ids = list(runtime.lines)

    def toggle_every_dnd(run: int) -> None:
        for user_id in user_ids:
            simulator.set_dnd(user_id, run % 2 == 0)

    cases = (
        ("features", runtime.features, None),
        ("presence", runtime.presence, None),
        ("features, every line changed", runtime.features, toggle_every_dnd),
    )
    for name, coordinator, prepare in cases:
        times: list[float] = []
        for run in range(RUNS):
            if prepare is not None:
                prepare(run)
                await simulator.wait_for_pushes()
            start = time.perf_counter()
            await coordinator.async_refresh()
            times.append(time.perf_counter() - start)
            assert coordinator.last_update_success
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
