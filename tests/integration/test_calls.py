"""Finished calls: the call event entity, the bus event, the sensors, once per call whatever happens.

Calls are made on the simulator (as a phone would); they reach Home Assistant by push or,
after downtime or a lost push, from the call history.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.core import Event, HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events, async_fire_time_changed

from custom_components.vtx_voip.api import CallLog
from custom_components.vtx_voip.billing.calls import SEEN_MAX_AGE, CallEventType, CallTracker, call_event_type
from custom_components.vtx_voip.coordinator import LineConfig
from custom_components.vtx_voip.push import CALL_RECONCILE_INTERVAL
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102
from .test_push import settle, travel

HISTORY = "GET /openapi/v1/users/{user_id}/calllogs"
LINES = {
    ROOM_101: LineConfig(ROOM_101, "Room 101", "sub101"),
    ROOM_102: LineConfig(ROOM_102, "Room 102", "sub102"),
}


def _call_log(call_id: str, user_id: int = ROOM_101, **extra: Any) -> CallLog:
    return CallLog.from_json(
        {
            "id": call_id,
            "userId": user_id,
            "callStart": extra.pop("callStart", dt_util.utcnow().isoformat()),
            "duration": extra.pop("duration", 10),
            "direction": extra.pop("direction", "OUTGOING"),
            "callPartyNumber": "+41225117902",
            **extra,
        }
    )


def _minutes(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "min"
    return float(state.state)


async def _reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_calls_fire_events_and_update_sensors(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Outgoing, incoming and missed calls: the event entity, the bus event and both sensors."""
    bus = async_capture_events(hass, "vtx_voip_call")
    outgoing = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95)
    await settle(hass, simulator)
    state = hass.states.get("event.room_101_call")
    assert state is not None
    assert state.attributes["event_type"] == "outgoing_call"
    assert state.attributes["event_types"] == ["incoming_call", "outgoing_call", "missed_call"]
    assert state.attributes["number"] == "+41225117902"
    assert state.attributes["dialled_number"] == "0225117902"
    assert state.attributes["duration"] == 95
    assert state.attributes["call_id"] == outgoing["id"]
    assert _minutes(hass, "sensor.room_101_outgoing_call_time") == pytest.approx(95 / 60)
    last_call = hass.states.get("sensor.room_101_last_call")
    assert last_call is not None
    assert last_call.attributes["device_class"] == SensorDeviceClass.TIMESTAMP
    # When the call ended, not when it started: a 95-second call.
    assert dt_util.parse_datetime(last_call.state) == dt_util.parse_datetime(outgoing["callStart"]) + timedelta(
        seconds=95
    )
    time = hass.states.get("sensor.room_101_outgoing_call_time")
    assert time is not None
    assert time.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert time.attributes["device_class"] == SensorDeviceClass.DURATION

    simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", duration=30)
    simulator.make_call(ROOM_101, direction="incoming", number="+41791112244", missed=True)
    simulator.make_call(ROOM_102, direction="outgoing", number="+41791112255", duration=60)
    await settle(hass, simulator)
    assert [(event.data["user_id"], event.data["type"]) for event in bus] == [
        (ROOM_101, "outgoing_call"),
        (ROOM_101, "incoming_call"),
        (ROOM_101, "missed_call"),
        (ROOM_102, "outgoing_call"),
    ]
    first: Event = bus[0]
    assert first.data["config_entry_id"] == init_integration.entry_id
    assert first.data["line"] == "Room 101"
    assert first.data["direction"] == "OUTGOING"
    assert first.data["call_log"] == outgoing
    assert hass.states.get("event.room_101_call").attributes["event_type"] == "missed_call"
    assert hass.states.get("event.room_101_call").attributes["number"] == "+41791112244"
    # Incoming calls do not count as outgoing time; each line has its own total.
    assert _minutes(hass, "sensor.room_101_outgoing_call_time") == pytest.approx(95 / 60)
    assert _minutes(hass, "sensor.room_102_outgoing_call_time") == pytest.approx(1.0)


def test_missed_rule() -> None:
    """The event type follows api.assumptions.is_missed_call."""
    assert call_event_type(_call_log("a", direction="INCOMING", duration=0)) is CallEventType.MISSED
    assert call_event_type(_call_log("b", direction="INCOMING", duration=3)) is CallEventType.INCOMING
    assert call_event_type(_call_log("c", direction="MISSED", duration=0)) is CallEventType.MISSED
    assert call_event_type(_call_log("d", direction="OUTGOING", duration=0)) is CallEventType.OUTGOING
    assert call_event_type(_call_log("e", direction="FORWARDED", duration=5)) is CallEventType.INCOMING


async def test_each_call_once_across_duplicates_and_restarts(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A call pushed twice, and again after a restart, is handled once."""
    bus = async_capture_events(hass, "vtx_voip_call")
    simulator.set_push_duplicate(True)
    call = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=120)
    await settle(hass, simulator)
    assert len(bus) == 1
    await _reload(hass, init_integration)
    # The API delivers the same record once more (a retry after a restart).
    runtime = init_integration.runtime_data
    assert runtime.calls is not None
    assert await runtime.calls.async_handle(CallLog.from_json(call)) is False
    assert len(bus) == 1
    assert _minutes(hass, "sensor.room_101_outgoing_call_time") == pytest.approx(2.0)


async def test_outgoing_time_restored_from_store(
    hass: HomeAssistant, hass_storage: dict[str, Any], simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The totals and the last call come back from storage at start-up, and keep counting."""
    hass_storage[f"vtx_voip.{config_entry.entry_id}.calls"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"vtx_voip.{config_entry.entry_id}.calls",
        "data": {
            "seen": ["old-call", ["older-call", dt_util.utcnow().timestamp()]],
            "last_check": dt_util.utcnow().isoformat(),
            "outgoing_seconds": {str(ROOM_101): 600},
            "last_call": {str(ROOM_101): "2026-01-02T03:04:05+00:00"},
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _minutes(hass, "sensor.room_101_outgoing_call_time") == pytest.approx(10.0)
    assert _minutes(hass, "sensor.room_102_outgoing_call_time") == 0.0
    assert hass.states.get("sensor.room_101_last_call").state == "2026-01-02T03:04:05+00:00"
    assert hass.states.get("sensor.room_102_last_call").state == "unknown"
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=60)
    await settle(hass, simulator)
    assert _minutes(hass, "sensor.room_101_outgoing_call_time") == pytest.approx(11.0)
    # Ids seen in an earlier run are not news.
    runtime = config_entry.runtime_data
    assert runtime.calls is not None
    assert await runtime.calls.async_handle(_call_log("old-call")) is False
    assert await runtime.calls.async_handle(_call_log("older-call")) is False
    # Saved at unload.
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[f"vtx_voip.{config_entry.entry_id}.calls"]["data"]
    assert stored["outgoing_seconds"] == {str(ROOM_101): 660}
    # The seen-id list moved into the ledger.
    assert "seen" not in stored


async def test_calls_while_down_fetched_once(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Calls made while the entry was unloaded are fetched at set-up, each handled once."""
    entry = init_integration
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    # Home Assistant is down: the pushes (the subscriptions stay) do not reach it.
    simulator.drop_pushes()
    missed = simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", missed=True)
    outgoing = simulator.make_call(ROOM_102, direction="outgoing", number="+41225117902", duration=45)
    assert all(delivery["dropped"] for delivery in simulator.deliveries())
    simulator.clear_push_faults()
    bus = async_capture_events(hass, "vtx_voip_call")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sorted((event.data["call_id"], event.data["type"]) for event in bus) == sorted(
        [(missed["id"], "missed_call"), (outgoing["id"], "outgoing_call")]
    )
    assert hass.states.get("event.room_101_call").attributes["event_type"] == "missed_call"
    assert _minutes(hass, "sensor.room_102_outgoing_call_time") == pytest.approx(0.75)
    await _reload(hass, entry)
    assert len(bus) == 2
    assert _minutes(hass, "sensor.room_102_outgoing_call_time") == pytest.approx(0.75)


async def test_history_before_first_setup_is_not_news(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Calls from before the integration existed fire nothing."""
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=45)
    bus = async_capture_events(hass, "vtx_voip_call")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert bus == []
    assert _minutes(hass, "sensor.room_101_outgoing_call_time") == 0.0


async def test_lost_call_push_found_within_the_hour(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A call push lost on the way is found by the hourly history read: late, never missing."""
    bus = async_capture_events(hass, "vtx_voip_call")
    simulator.drop_pushes(1)
    # A missed call changes no presence: its push is the only delivery, and it is lost.
    call = simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", missed=True)
    await settle(hass, simulator)
    assert bus == []
    await travel(hass, freezer, CALL_RECONCILE_INTERVAL)
    assert [event.data["call_id"] for event in bus] == [call["id"]]
    await travel(hass, freezer, CALL_RECONCILE_INTERVAL)
    assert len(bus) == 1


async def test_history_failure_retried(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A failing history read keeps its window; the next read still finds the calls."""
    entry = init_integration
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    simulator.drop_pushes()  # Home Assistant is down: the pushes do not reach it
    call = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=30)
    simulator.clear_push_faults()
    simulator.add_fault("status", count=1, status=503, path="calllogs")
    bus = async_capture_events(hass, "vtx_voip_call")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert bus == []
    simulator.reset_request_counts()
    await travel(hass, freezer, CALL_RECONCILE_INTERVAL)
    # The window was not moved on, so the next read (within the hour) goes back for it.
    assert [event.data["call_id"] for event in bus] == [call["id"]]
    assert simulator.request_counts()[HISTORY] == 2


async def test_event_entity_restored(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The call event entity keeps its last event across a reload."""
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=5)
    await settle(hass, simulator)
    before = hass.states.get("event.room_101_call")
    assert before is not None
    await _reload(hass, init_integration)
    after = hass.states.get("event.room_101_call")
    assert after is not None
    assert after.state == before.state
    assert after.attributes["event_type"] == "outgoing_call"


# --- the tracker on its own (with a real Home Assistant and the simulator) ------------------
async def test_ledger_dedups_across_runs_and_legacy_ids_expire(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """The ledger knows every call it holds, whatever the count; legacy ids last while a history can return them."""
    hass_storage["vtx_voip.entry.calls"] = {
        "version": 1,
        "minor_version": 1,
        "key": "vtx_voip.entry.calls",
        "data": {"seen": [["legacy", dt_util.utcnow().timestamp()]], "last_check": None},
    }
    tracker = CallTracker(hass, "entry", LINES)
    await tracker.async_load()
    assert await tracker.async_handle_many([_call_log(f"call-{index}") for index in range(3000)]) == 3000
    assert not await tracker.async_handle(_call_log("legacy"))
    await tracker.async_save()
    reloaded = CallTracker(hass, "entry", LINES)
    await reloaded.async_load()
    assert await hass.async_add_executor_job(reloaded.ledger.call_count) == 3000
    assert not await reloaded.async_handle(_call_log("call-0"))
    assert not await reloaded.async_handle(_call_log("legacy"))
    freezer.tick(SEEN_MAX_AGE + timedelta(minutes=1))
    await reloaded.async_prune()
    # The legacy id is forgotten (no history read reaches back that far); calls stay.
    assert await reloaded.async_handle(_call_log("legacy"))
    assert not await reloaded.async_handle(_call_log("call-1"))
    await reloaded.async_save()
    path = reloaded.ledger.path
    assert path.exists()
    await reloaded.async_remove()
    assert "vtx_voip.entry.calls" not in hass_storage
    assert not path.exists()


async def test_retention_prunes_old_calls(freezer: FrozenDateTimeFactory, hass: HomeAssistant) -> None:
    """Calls older than the retention go, at start and each day; younger ones stay."""
    tracker = CallTracker(hass, "entry", LINES, retention_days=30)
    await tracker.async_load()
    tracker.async_start()
    old = _call_log("old", callStart=(dt_util.utcnow() - timedelta(days=29)).isoformat())
    assert await tracker.async_handle_many([old, _call_log("new")]) == 2
    freezer.tick(timedelta(days=1, minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.async_add_executor_job(tracker.ledger.call_count) == 1
    assert await tracker.async_handle(_call_log("old")), "a pruned call is news again if it comes back"
    await tracker.async_save()


async def test_calls_of_other_lines_and_order(hass: HomeAssistant) -> None:
    """Calls of lines not in the entry are ignored; the last call is the latest end."""
    tracker = CallTracker(hass, "entry", LINES)
    await tracker.async_load()
    bus = async_capture_events(hass, "vtx_voip_call")
    now = dt_util.utcnow()
    later = _call_log("later", callStart=(now + timedelta(minutes=5)).isoformat())
    earlier = _call_log("earlier", callStart=now.isoformat())
    other = _call_log("other", user_id=176133)
    # The same call twice in one delivery counts once.
    assert await tracker.async_handle_many([later, other, earlier, later]) == 2
    await hass.async_block_till_done()
    assert [event.data["call_id"] for event in bus] == ["earlier", "later"]
    assert later.call_start is not None
    assert tracker.last_call[ROOM_101] == later.call_start + timedelta(seconds=10)
    assert bus[1].data["end"] == (later.call_start + timedelta(seconds=10)).isoformat()
    # A call without a start counts as ended now (earlier than the end of ``later``).
    assert await tracker.async_handle(_call_log("nostart", callStart=None))
    assert tracker.last_call[ROOM_101] == later.call_start + timedelta(seconds=10)
    await tracker.async_save()


async def test_concurrent_deliveries_fire_once(hass: HomeAssistant) -> None:
    """Two deliveries of the same call at once: the ledger's key decides, one event."""
    tracker = CallTracker(hass, "entry", LINES)
    await tracker.async_load()
    bus = async_capture_events(hass, "vtx_voip_call")
    results = await asyncio.gather(*(tracker.async_handle(_call_log("twice")) for _ in range(5)))
    await hass.async_block_till_done()
    assert sorted(results) == [False, False, False, False, True]
    assert len(bus) == 1
    await tracker.async_save()


async def test_ids_stored_by_an_older_run_are_not_handled_again(
    hass: HomeAssistant, hass_storage: dict[str, Any], simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Plain ids (an older storage layout) still count as seen; totals are restored."""
    hass_storage[f"vtx_voip.{config_entry.entry_id}.calls"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"vtx_voip.{config_entry.entry_id}.calls",
        "data": {
            "seen": ["old-call", 12345, ["timed-call", dt_util.utcnow().timestamp()], {"bad": 1}],
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
    assert not await tracker.async_handle(_call_log("old-call"))
    assert not await tracker.async_handle(_call_log("12345"))
    assert not await tracker.async_handle(_call_log("timed-call"))
    assert await tracker.async_handle(_call_log("new-call", duration=5))
    await hass.async_block_till_done()
    assert [event.data["call_id"] for event in fired] == ["new-call"]
    # 30 s restored + 5 s, shown in minutes.
    assert round(float(hass.states.get("sensor.room_101_outgoing_call_time").state) * 60) == 35


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
