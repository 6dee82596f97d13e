"""Logbook and history: calls read well, the last push does not flood them, examples stay valid."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.logbook import LOGBOOK_ENTRY_ENTITY_ID, LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.components.recorder import Recorder
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
import yaml

from custom_components.vtx_voip import logbook
from custom_components.vtx_voip.billing.bill import format_duration
from custom_components.vtx_voip.billing.stays import EVENT_LATE_CHARGE
from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.push.const import signal_push
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


@pytest.fixture
def mock_recorder_before_hass(async_setup_recorder_instance: Any) -> None:
    """The recorder (the logbook reads from it), set up before Home Assistant."""


async def _logbook(client: Any, start: datetime) -> list[dict[str, Any]]:
    await client.send_json_auto_id({"type": "logbook/get_events", "start_time": start.isoformat()})
    answer = await client.receive_json()
    assert answer["success"], answer
    return list(answer["result"])


async def test_one_logbook_line_per_call_none_after_an_options_change(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A call is one line of ours (its event entity); saving the tariffs writes none (no phantom call)."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The logbook's one dependency, the frontend (its panel), is not in the test requirements:
    # marked loaded, the logbook's websocket API and recorder queries are the real ones.
    hass.config.components.add("frontend")
    assert await async_setup_component(hass, "logbook", {})
    described = _describe_all(hass)
    assert list(described) == [EVENT_LATE_CHARGE]
    client = await hass_ws_client(hass)

    start = dt_util.utcnow()
    simulator.make_call(ROOM_102, direction="incoming", number="+41791112233", missed=True)
    await _settle(hass, simulator)
    await async_wait_recording_done(hass)
    rows = await _logbook(client, start)
    calls = [row for row in rows if row.get("entity_id") == "event.room_102_call" or row.get("domain") == DOMAIN]
    assert len(calls) == 1
    assert calls[0]["attributes"] == {"event_type": "missed_call"}

    start = dt_util.utcnow()
    hass.config_entries.async_update_entry(
        config_entry,
        options={**config_entry.options, "tariffs": {"internal": {"price_per_minute": "0.05"}}, "bill_incoming": True},
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert config_entry.runtime_data.stays.tariffs.bill_incoming is True  # taken without a reload
    assert [row for row in await _logbook(client, start) if row.get("entity_id", "").startswith("event.")] == []


async def test_late_charge_in_german_and_without_a_number(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Texts follow Home Assistant's language; a call without a number, a guest without a name, a removed line still read."""
    await hass.config.async_update(language="de")
    await async_get_translations(hass, "de", "selector", [DOMAIN])
    describe = logbook.async_describe_late_charge
    event = Event(
        EVENT_LATE_CHARGE,
        {
            "line": "Zimmer 101",
            "user_id": ROOM_101,
            "guest": "Frau Muster",
            "currency": "CHF",
            "call": {"type": "outgoing_call", "number": "+41225117902", "duration": 95, "cost": 0.26},
        },
    )
    assert describe(hass, event) == {
        LOGBOOK_ENTRY_NAME: "Zimmer 101",
        LOGBOOK_ENTRY_MESSAGE: "Nachbelastung für den Aufenthalt von Frau Muster: ausgehender Anruf an +41 22 511 79 02 (1:35) (CHF 0.26)",
        LOGBOOK_ENTRY_ENTITY_ID: "event.room_101_call",
    }
    event = Event(EVENT_LATE_CHARGE, {"user_id": 999, "call": {"type": "strange", "duration": 7}})
    assert describe(hass, event) == {
        LOGBOOK_ENTRY_NAME: "999",
        LOGBOOK_ENTRY_MESSAGE: "Nachbelastung für den Aufenthalt von einem Gast ohne Namen: eingehender Anruf von einer unbekannten Nummer (0:07) (0.00)",
    }


def test_duration_format() -> None:
    """Durations read as m:ss, h:mm:ss from an hour on."""
    assert format_duration(0) == "0:00"
    assert format_duration(59) == "0:59"
    assert format_duration(3600) == "1:00:00"
    assert format_duration(-5) == "0:00"


async def test_last_push_changes_at_most_once_a_minute(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Pushes within a minute write the last push once (one logbook line, one recorder row)."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{init_integration.entry_id}_last_push")
    assert entity_id is not None
    freezer.move_to(dt_util.utcnow().replace(second=5, microsecond=0))
    changes = async_capture_events(hass, "state_changed")
    signals: list[None] = []
    unsub = async_dispatcher_connect(hass, signal_push(init_integration.entry_id), lambda: signals.append(None))
    for on in (True, False, True, False):
        simulator.set_dnd(ROOM_101, on)
        await _settle(hass, simulator)
        freezer.tick(timedelta(seconds=10))
    mine = [event for event in changes if event.data["entity_id"] == entity_id]
    assert len(mine) == 1
    # One signal for the minute, not one per push: the push entities are not asked at every push.
    assert len(signals) == 1
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
    assert len(signals) == 2
    unsub()


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
