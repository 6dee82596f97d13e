"""The call tracker's bookkeeping: stored ids of older runs, pruning, one backfill at a time."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.api import CallLog
from vtx_simulator import Simulator

from .conftest import ROOM_101


def _call(call_id: str, duration: int = 10) -> CallLog:
    return CallLog.from_json(
        {
            "id": call_id,
            "userId": ROOM_101,
            "callStart": "2026-11-20T10:00:00Z",
            "duration": duration,
            "direction": "OUTGOING",
            "callPartyNumber": "+41225117902",
        }
    )


async def test_ids_stored_by_an_older_run_are_not_handled_again(
    hass: HomeAssistant, hass_storage: dict[str, Any], simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Plain ids (an older storage layout) still count as seen; totals are restored."""
    hass_storage[f"vtx_voip.{config_entry.entry_id}.calls"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"vtx_voip.{config_entry.entry_id}.calls",
        "data": {
            "seen": ["old-call", 12345, ["timed-call", 1795000000.0], {"bad": 1}],
            "last_check": None,
            "outgoing_seconds": {str(ROOM_101): 30},
            "last_call": {},
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    tracker = config_entry.runtime_data.calls
    assert tracker is not None
    fired: list[Any] = []
    hass.bus.async_listen("vtx_voip_call", fired.append)
    assert not tracker.async_handle(_call("old-call"))
    assert not tracker.async_handle(_call("12345"))
    assert tracker.async_handle(_call("new-call", 5))
    await hass.async_block_till_done()
    assert [event.data["call_id"] for event in fired] == ["new-call"]
    # 30 s restored + 5 s, shown in minutes.
    assert round(float(hass.states.get("sensor.room_101_outgoing_call_time").state) * 60) == 35


async def test_seen_ids_are_pruned(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    tracker = init_integration.runtime_data.calls
    assert tracker is not None
    with (
        patch("custom_components.vtx_voip.calls.SEEN_IDS_KEPT", 2),
        patch("custom_components.vtx_voip.calls.SEEN_PRUNE_SLACK", 0),
    ):
        for index in range(5):
            assert tracker.async_handle(_call(f"call-{index}"))
    assert tracker.totals()["seen_ids"] <= 3
    # The newest ids are the ones kept.
    assert not tracker.async_handle(_call("call-4"))


async def test_one_backfill_at_a_time(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    runtime = init_integration.runtime_data
    tracker = runtime.calls
    assert tracker is not None
    await tracker.async_backfill(runtime.client)  # the first read only sets the starting point
    simulator.drop_pushes()
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=42)
    first, second = await asyncio.gather(tracker.async_backfill(runtime.client), tracker.async_backfill(runtime.client))
    assert sorted((first, second)) == [0, 1]
    simulator.clear_push_faults()
