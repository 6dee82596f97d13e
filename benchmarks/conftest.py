"""Fixtures of the benchmarks: the test fixtures, and Home Assistant with N simulated lines.

The benchmarks run Home Assistant's test harness like ``tests/integration`` does: the
integration against the simulator over loopback, pushes handed to the webhook through
Home Assistant's HTTP test client. Results are collected and printed as tables at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import logging
import os
from typing import Any, Final

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from tests.integration.conftest import (
    FIRST_USER_ID,
    PUSH_BASE_URL,
    auto_enable_custom_integrations,
    demo_entry,
    ledger_dir,
    line_subentry,
    seed_with_lines,
)
from vtx_simulator import Simulator

__all__ = ["FIRST_USER_ID", "auto_enable_custom_integrations", "ledger_dir", "seed_with_lines"]


# VTX_BENCH_QUICK=1: every benchmark at small sizes and few runs, seconds in all.
# ``scripts/test`` runs them so, so that a benchmark that no longer works fails the checks;
# its figures mean nothing then (and nothing is ever asserted against a time).
QUICK: Final = os.environ.get("VTX_BENCH_QUICK", "0") == "1"


def sized[T](full: T, quick: T) -> T:
    """Return ``quick`` in the quick mode (VTX_BENCH_QUICK=1), else ``full``."""
    return quick if QUICK else full


@pytest.fixture(autouse=True)
def quiet_access_log() -> Any:
    """Log aiohttp's access lines at WARNING, as Home Assistant does by default.

    The test harness logs at DEBUG, which would add a formatted line's cost to every push
    (and under a frozen clock aiohttp cannot format the local time at all).
    """
    access = logging.getLogger("aiohttp.access")
    level = access.level
    access.setLevel(logging.WARNING)
    yield
    access.setLevel(level)


# Tables printed at the end of the session: title -> (header, rows).
RESULTS: dict[str, tuple[list[str], list[list[str]]]] = {}


def record(title: str, header: list[str], row: list[Any]) -> None:
    """Add a row to a result table."""
    RESULTS.setdefault(title, (header, []))[1].append([str(value) for value in row])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the result tables."""
    for title, (header, rows) in RESULTS.items():
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
        terminalreporter.write_sep("=", title)
        for line in (header, ["-" * width for width in widths], *rows):
            terminalreporter.write_line("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


type LinesFactory = Callable[..., Awaitable[tuple[Simulator, MockConfigEntry]]]


@pytest.fixture
async def integration_with_lines(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, socket_enabled: None
) -> AsyncGenerator[LinesFactory]:
    """Start a simulator with N lines and set up an entry with all of them (push on).

    The test harness runs the event loop in debug mode, which slows every callback down;
    production does not, so neither do the benchmarks.
    """
    hass.loop.set_debug(False)
    # Only the result tables on the terminal (``-s``), not Home Assistant's INFO log.
    quieted = [
        (handler, handler.level)
        for handler in logging.getLogger().handlers
        if type(handler) is logging.StreamHandler and handler.level < logging.WARNING
    ]
    for handler, _level in quieted:
        handler.setLevel(logging.WARNING)
    simulators: list[Simulator] = []
    making: asyncio.Task[Any] | None = None

    async def transport(url: str, body: bytes, headers: dict[str, str]) -> int:
        # As in tests/integration/conftest.py: the client is made once, in a shielded task.
        nonlocal making
        if making is None:
            making = hass.async_create_task(hass_client_no_auth())
        client = await asyncio.shield(making)
        response = await client.post(URL(url).path, data=body, headers=headers)
        return int(response.status)

    async def factory(count: int, *, push: bool = True) -> tuple[Simulator, MockConfigEntry]:
        simulator = Simulator(seed_with_lines(count), push_transport=transport)
        await simulator.start()
        simulators.append(simulator)
        entry = demo_entry(
            simulator.base_url,
            options={"push_base_url": PUSH_BASE_URL} if push else {},
            subentries_data=[line_subentry(FIRST_USER_ID + index, f"Bench {index}") for index in range(count)],
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return simulator, entry

    yield factory
    for simulator in simulators:
        await simulator.stop()
    if making is not None:
        await making
    for handler, level in quieted:
        handler.setLevel(level)
