"""Sensors: presence, line status, calls per line; API version of the account."""

from __future__ import annotations

import logging
import uuid

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.vtx_voip.api import Presence
from custom_components.vtx_voip.presence import PresenceStatus, presence_status
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, pin_presence, setup_entry, with_entry_id

PRESENCE = "sensor.room_101_presence"
LINE_STATUS = "sensor.room_101_line_status"
ON_CALL = "binary_sensor.room_101_on_a_call"

# (activity, enhancedActivity) -> presence; the rules of presence.py, in order.
PRESENCE_CASES: list[tuple[str, str, str]] = [
    # 1. enhancedActivity says on a call, whatever the activity
    ("ONLINE", "IN_A_CALL", "on_call"),
    ("ONLINE", "ON_THE_PHONE", "on_call"),
    ("AWAY", "BUSY", "on_call"),
    ("ONLINE", "RINGING", "on_call"),
    ("ONLINE", "IN_A_CONFERENCE", "on_call"),
    ("OFFLINE", "IN_A_CALL", "on_call"),
    ("online", "in_a_call", "on_call"),
    # 2. offline activities
    ("OFFLINE", "NONE", "offline"),
    ("UNREGISTERED", "NONE", "offline"),
    ("UNAVAILABLE", "", "offline"),
    # 3. available activities
    ("ONLINE", "NONE", "available"),
    ("AVAILABLE", "NONE", "available"),
    ("IDLE", "", "available"),
    ("AWAY", "NONE", "available"),
    ("online", "none", "available"),
    # 4. unknown or missing
    ("UNKNOWN", "NONE", "unknown"),
    ("", "NONE", "unknown"),
]


async def _refresh_presence(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.presence.async_refresh()
    await hass.async_block_till_done()


async def _settle(hass: HomeAssistant, simulator: Simulator) -> None:
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensors(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor: Room 101 on a call, Room 102 available with DND on."""
    pin_presence(simulator, ROOM_101, "ONLINE", "IN_A_CALL")
    pin_presence(simulator, ROOM_102, "ONLINE", "NONE")
    simulator.set_dnd(ROOM_102, True)
    entry = with_entry_id(config_entry)
    await setup_entry(hass, entry, [Platform.SENSOR])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_presence_mapping(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """Every rule of the presence mapping, as read by a poll (push lost)."""
    simulator.drop_pushes()
    for activity, enhanced, expected in PRESENCE_CASES:
        simulator.set_presence(ROOM_101, activity, enhanced)
        await _refresh_presence(hass, init_integration)
        case = f"{activity!r}/{enhanced!r}"
        state = hass.states.get(PRESENCE)
        assert state.state == expected, case
        assert (state.attributes["activity"] or "") == activity, case
        on_call = {"on_call": "on", "unknown": "unknown"}.get(expected, "off")
        assert hass.states.get(ON_CALL).state == on_call, case
        line_status = {"on_call": "on_call", "offline": "offline", "unknown": "unknown"}.get(expected, "available")
        assert hass.states.get(LINE_STATUS).state == line_status, case
    # Room 102 was never touched.
    assert hass.states.get("sensor.room_102_presence").state == "available"


async def test_presence_unknown_to_the_api(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Presence the API reports as UNKNOWN is unknown, not free: presence, on a call and line status.

    Unknown is Home Assistant's own state (value ``unknown``, as the option of earlier
    versions was), not an option of the presence sensor.
    """
    assert "unknown" not in hass.states.get(PRESENCE).attributes["options"]
    simulator.set_dnd(ROOM_101, True)
    simulator.set_presence(ROOM_101, "UNKNOWN", "NONE")
    await _settle(hass, simulator)
    assert simulator.presence(ROOM_101)["current"]["activity"] == "UNKNOWN"
    assert hass.states.get(PRESENCE).state == STATE_UNKNOWN
    assert hass.states.get(PRESENCE).attributes["activity"] == "UNKNOWN"
    assert hass.states.get(ON_CALL).state == STATE_UNKNOWN
    assert hass.states.get(LINE_STATUS).state == STATE_UNKNOWN
    # Known again: on a call, then free with DND on.
    simulator.set_presence(ROOM_101, "ONLINE", "IN_A_CALL")
    await _settle(hass, simulator)
    assert hass.states.get(ON_CALL).state == "on"
    assert hass.states.get(LINE_STATUS).state == "on_call"
    simulator.set_presence(ROOM_101, "ONLINE", "NONE")
    await _settle(hass, simulator)
    assert hass.states.get(ON_CALL).state == "off"
    assert hass.states.get(LINE_STATUS).state == "do_not_disturb"


async def test_presence_attributes(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The API's own values and their time are shown as attributes."""
    simulator.set_presence(ROOM_101, "ONLINE", "IN_A_CALL")
    await _settle(hass, simulator)
    attributes = hass.states.get(PRESENCE).attributes
    assert attributes["activity"] == "ONLINE"
    assert attributes["enhanced_activity"] == "IN_A_CALL"
    since = simulator.presence(ROOM_101)["current"]["modifiedOn"]
    assert attributes["since"][:23] == since[:23]


@pytest.mark.parametrize("kind", ["activity", "enhancedActivity"])
async def test_unknown_presence_logged_once(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """A value no rule knows shows as unknown (or by the other field) and is logged once only."""
    value = f"NEW_{uuid.uuid4().hex[:8].upper()}"
    activity, enhanced = (value, "NONE") if kind == "activity" else ("ONLINE", value)
    expected = "unknown" if kind == "activity" else "available"
    simulator.drop_pushes()
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    for _ in range(2):
        simulator.set_presence(ROOM_101, activity, enhanced)
        await _refresh_presence(hass, init_integration)
        assert hass.states.get(PRESENCE).state == expected
        simulator.set_presence(ROOM_101, "ONLINE", "NONE")
        await _refresh_presence(hass, init_integration)
        assert hass.states.get(PRESENCE).state == "available"
    messages = [record.getMessage() for record in caplog.records if value in record.getMessage()]
    assert messages == [f"Presence {kind} {value!r} is not known to this integration; shown as unknown"]


async def test_line_status_priority(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Offline, then on a call, then DND, then forwarded, then available."""
    simulator.set_dnd(ROOM_101, True)
    simulator.set_forward(ROOM_101, "unconditional", True)
    simulator.set_presence(ROOM_101, "ONLINE", "IN_A_CALL")
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == "on_call"
    simulator.set_presence(ROOM_101, "OFFLINE", "NONE")
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == "offline"
    simulator.set_presence(ROOM_101, "ONLINE", "NONE")
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == "do_not_disturb"
    # Presence unknown to the API: the line may be offline or on a call, so unknown.
    simulator.set_presence(ROOM_101, "UNKNOWN", "NONE")
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == STATE_UNKNOWN
    simulator.set_presence(ROOM_101, "ONLINE", "NONE")
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == "do_not_disturb"
    simulator.set_dnd(ROOM_101, False)
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == "forwarded"
    simulator.set_forward(ROOM_101, "unconditional", False)
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == "available"
    assert hass.states.get("sensor.room_102_line_status").state == "available"


async def test_line_status_without_presence(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Presence unreadable: the line status is unknown (DND or not); without features it is unavailable."""
    simulator.set_dnd(ROOM_101, True)
    simulator.set_presence(ROOM_101, "OFFLINE", "NONE")
    await _settle(hass, simulator)
    assert hass.states.get(LINE_STATUS).state == "offline"
    # Presence the API refuses to give (404) can no longer be read: it is not kept.
    simulator.add_fault("status", status=404, count=None, path=f"/users/{ROOM_101}/presence")
    await _refresh_presence(hass, init_integration)
    assert hass.states.get(PRESENCE).state == STATE_UNAVAILABLE
    # A presence that can no longer be read is unknown: the line may be offline or on a call.
    assert hass.states.get(LINE_STATUS).state == STATE_UNKNOWN
    assert hass.states.get("switch.room_101_do_not_disturb").state == "on"

    simulator.add_fault("status", status=404, count=None, path=f"/users/{ROOM_101}/feat")
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(LINE_STATUS).state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.room_102_line_status").state == "available"


async def test_api_version(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """The platform's build version, a diagnostic of the account device."""
    state = hass.states.get("sensor.openapi_291908_bus_ent_api_version")
    assert state.state == "7.7.2.12"
    entity = entity_registry.async_get("sensor.openapi_291908_bus_ent_api_version")
    assert entity.entity_category is EntityCategory.DIAGNOSTIC
    assert entity.unique_id == f"{init_integration.entry_id}_api_version"
    assert entity.config_subentry_id is None


async def test_call_sensors(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """A finished call sets the line's last call; outgoing calls add up their time."""
    assert hass.states.get("sensor.room_101_last_call").state == "unknown"
    assert float(hass.states.get("sensor.room_101_outgoing_call_time").state) == 0
    outgoing = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95)
    await _settle(hass, simulator)
    simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", duration=30)
    await _settle(hass, simulator)
    assert float(hass.states.get("sensor.room_101_outgoing_call_time").state) == pytest.approx(95 / 60)
    last_call = hass.states.get("sensor.room_101_last_call").state
    assert last_call != "unknown"
    assert last_call[:19] >= outgoing["callStart"][:19]
    assert hass.states.get("sensor.room_102_last_call").state == "unknown"
    assert float(hass.states.get("sensor.room_102_outgoing_call_time").state) == 0


def test_presence_without_state_is_unknown() -> None:
    """No presence read yet, or a body without a state block: unknown."""
    assert presence_status(None) is None
    assert presence_status(Presence.from_json({"userId": ROOM_101})) is None
    # ``current`` missing: the platform's own block counts.
    body = {"userId": ROOM_101, "c5": {"activity": "OFFLINE", "enhancedActivity": "NONE"}}
    assert presence_status(Presence.from_json(body)) is PresenceStatus.OFFLINE
