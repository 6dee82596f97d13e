"""Binary sensors: on a call per line; push health of the account."""

from __future__ import annotations

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, pin_presence, setup_entry, with_entry_id

ON_CALL = "binary_sensor.room_101_on_a_call"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_binary_sensors(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every binary sensor: Room 101 on a call, Room 102 not."""
    pin_presence(simulator, ROOM_101, "ONLINE", "IN_A_CALL")
    pin_presence(simulator, ROOM_102, "OFFLINE", "NONE")
    entry = with_entry_id(config_entry)
    await setup_entry(hass, entry, [Platform.BINARY_SENSOR])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_on_call_follows_a_call(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """On while a call lasts (by push), off when it ends."""
    assert hass.states.get(ON_CALL).state == STATE_OFF
    simulator.start_call(ROOM_101, direction="incoming", number="+41791112233")
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get(ON_CALL).state == STATE_ON
    assert hass.states.get("binary_sensor.room_102_on_a_call").state == STATE_OFF
    simulator.end_call(ROOM_101)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get(ON_CALL).state == STATE_OFF


async def test_on_call_by_poll(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """Without push the next poll finds the call. A line whose reads fail for a passing reason keeps the call
    known (its stale window); one the API no longer has (404) is unavailable."""
    simulator.drop_pushes()
    simulator.start_call(ROOM_102, direction="outgoing", number="+41225117902")
    await init_integration.runtime_data.presence.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.room_102_on_a_call").state == STATE_ON
    simulator.add_fault("status", status=500, count=None, path=f"/users/{ROOM_102}/presence")
    await init_integration.runtime_data.presence.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.room_102_on_a_call").state == STATE_ON
    simulator.clear_faults()
    simulator.add_fault("status", status=404, count=None, path=f"/users/{ROOM_102}/presence")
    await init_integration.runtime_data.presence.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.room_102_on_a_call").state == STATE_UNAVAILABLE
    assert hass.states.get(ON_CALL).state == STATE_OFF


async def test_push_sensor(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Push works with the test instance: the connectivity diagnostic is on."""
    entity_id = "binary_sensor.openapi_291908_bus_ent_push_notifications"
    assert hass.states.get(entity_id).state == STATE_ON
    assert entity_registry.async_get(entity_id).entity_category is EntityCategory.DIAGNOSTIC
