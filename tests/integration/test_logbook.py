"""Logbook and history: calls read well, the last push does not flood them, examples stay valid."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.logbook import LOGBOOK_ENTRY_ENTITY_ID, LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
import yaml

from custom_components.vtx_voip import logbook
from custom_components.vtx_voip.billing.calls import EVENT_CALL
from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.services import CALL_HISTORY_SCHEMA, SET_CALL_FORWARD_SCHEMA
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102

SERVICES_YAML = Path(__file__).resolve().parents[2] / "custom_components" / DOMAIN / "services.yaml"


def _describe_all(hass: HomeAssistant) -> dict[str, Any]:
    described: dict[str, Any] = {}

    def register(domain: str, event_type: str, describe: Any) -> None:
        described[event_type] = (domain, describe)

    logbook.async_describe_events(hass, register)
    return described


async def _settle(hass: HomeAssistant, simulator: Simulator) -> None:
    await simulator.wait_for_pushes()
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_calls_in_the_logbook(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Each call's event is one line naming the line, the kind of call, the number and its length."""
    described = _describe_all(hass)
    assert list(described) == [EVENT_CALL]
    domain, describe = described[EVENT_CALL]
    assert domain == DOMAIN
    events = async_capture_events(hass, EVENT_CALL)
    simulator.make_call(ROOM_102, direction="incoming", number="+41791112233", missed=True)
    await _settle(hass, simulator)
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95)
    await _settle(hass, simulator)
    simulator.make_call(ROOM_101, direction="incoming", number="+41791112244", duration=3725)
    await _settle(hass, simulator)
    lines = [describe(event) for event in events]
    assert lines[0] == {
        LOGBOOK_ENTRY_NAME: "Room 102",
        LOGBOOK_ENTRY_MESSAGE: "missed call from +41 79 111 22 33",
        LOGBOOK_ENTRY_ENTITY_ID: "event.room_102_call",
    }
    assert lines[1][LOGBOOK_ENTRY_MESSAGE] == "outgoing call to +41 22 511 79 02 (1:35)"
    assert lines[1][LOGBOOK_ENTRY_ENTITY_ID] == "event.room_101_call"
    assert lines[2][LOGBOOK_ENTRY_MESSAGE] == "incoming call from +41 79 111 22 44 (1:02:05)"


async def test_logbook_in_german_and_without_a_number(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Texts follow Home Assistant's language; a call without a number says so; unknown lines still read."""
    await hass.config.async_update(language="de")
    await async_get_translations(hass, "de", "selector", [DOMAIN])
    describe = logbook.async_describe_call
    event = Event(
        EVENT_CALL, {"line": "Zimmer 102", "user_id": ROOM_102, "type": "missed_call", "number": "+41791112233"}
    )
    assert describe(hass, event)[LOGBOOK_ENTRY_MESSAGE] == "verpasster Anruf von +41 79 111 22 33"
    event = Event(EVENT_CALL, {"line": "Zimmer 101", "user_id": ROOM_101, "type": "outgoing_call", "duration": 7})
    assert describe(hass, event)[LOGBOOK_ENTRY_MESSAGE] == "ausgehender Anruf an einer unbekannten Nummer (0:07)"
    # A line removed since (no entity any more) and an unexpected type.
    event = Event(EVENT_CALL, {"user_id": 999, "type": "strange", "number": "12345"})
    assert describe(hass, event) == {
        LOGBOOK_ENTRY_NAME: "999",
        LOGBOOK_ENTRY_MESSAGE: "eingehender Anruf von 12345 (0:00)",
    }


def test_duration_format() -> None:
    """Durations read as m:ss, h:mm:ss from an hour on."""
    assert logbook.format_duration(0) == "0:00"
    assert logbook.format_duration(59) == "0:59"
    assert logbook.format_duration(3600) == "1:00:00"
    assert logbook.format_duration(-5) == "0:00"


async def test_last_push_changes_at_most_once_a_minute(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Pushes within a minute write the last push once (one logbook line, one recorder row)."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{init_integration.entry_id}_last_push")
    assert entity_id is not None
    freezer.move_to(dt_util.utcnow().replace(second=5, microsecond=0))
    changes = async_capture_events(hass, "state_changed")
    for on in (True, False, True, False):
        simulator.set_dnd(ROOM_101, on)
        await _settle(hass, simulator)
        freezer.tick(timedelta(seconds=10))
    mine = [event for event in changes if event.data["entity_id"] == entity_id]
    assert len(mine) == 1
    state = hass.states.get(entity_id)
    assert state is not None
    value = dt_util.parse_datetime(state.state)
    assert value is not None
    assert value.second == 0
    assert value.microsecond == 0
    # The DND changes themselves were all written.
    dnd = [event for event in changes if event.data["entity_id"] == "switch.room_101_do_not_disturb"]
    assert len(dnd) == 4

    freezer.tick(timedelta(seconds=30))
    simulator.set_dnd(ROOM_101, True)
    await _settle(hass, simulator)
    mine = [event for event in changes if event.data["entity_id"] == entity_id]
    assert len(mine) == 2
    later = dt_util.parse_datetime(mine[-1].data["new_state"].state)
    assert later is not None
    assert later - value == timedelta(minutes=1)


def test_services_yaml_examples_are_valid_whenever_used() -> None:
    """Each action's example data passes its schema now and in the years ahead (no past until)."""
    services = yaml.safe_load(SERVICES_YAML.read_text(encoding="utf-8"))
    forward = {
        name: field["example"] for name, field in services["set_call_forward"]["fields"].items() if "example" in field
    }
    data = SET_CALL_FORWARD_SCHEMA(
        {"entity_id": ["switch.room_101_do_not_disturb"], "forward": "unconditional", **forward}
    )
    until = data["until"].replace(tzinfo=dt_util.get_default_time_zone())
    assert until > dt_util.now() + timedelta(days=365 * 50)
    history = {name: field["example"] for name, field in services["get_call_history"]["fields"].items()}
    data = CALL_HISTORY_SCHEMA({"entity_id": ["switch.room_101_do_not_disturb"], **history})
    assert data["start"] < data["end"] <= dt_util.now().replace(tzinfo=None)
