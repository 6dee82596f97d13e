"""Lines as sub-entries: added, renamed, renumbered and removed while running, without restart."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.frontend.websocket import async_board
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102

ENTERPRISE = "291908.bus.ent"

ROOM_103 = 176133


def _subentry_id(entry: MockConfigEntry, user_id: int) -> str:
    return next(sub.subentry_id for sub in entry.subentries.values() if int(sub.data["user_id"]) == user_id)


def _line_device(device_registry: dr.DeviceRegistry, entry: MockConfigEntry, user_id: int) -> dr.DeviceEntry | None:
    return device_registry.async_get_device_by_identifier((DOMAIN, str(user_id)), entry.entry_id)


def _line_entities(entity_registry: er.EntityRegistry, entry: MockConfigEntry, user_id: int) -> list[er.RegistryEntry]:
    return [
        entity
        for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if entity.unique_id.startswith(f"{user_id}_")
    ]


async def _settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_add_line(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A line added through the sub-entry flow gets its device and entities, and push."""
    entry = init_integration
    result = await hass.config_entries.subentries.async_init((entry.entry_id, "line"), context={"source": "user"})
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": str(ROOM_103), "name": "Room 103"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await _settle(hass)
    assert entry.state is ConfigEntryState.LOADED

    device = _line_device(device_registry, entry, ROOM_103)
    assert device is not None
    assert device.name == "Room 103"
    assert device.config_subentry_id == _subentry_id(entry, ROOM_103)
    assert hass.states.get("switch.room_103_do_not_disturb").state == STATE_OFF
    assert hass.states.get("sensor.room_103_presence").state == "available"
    assert {entity.config_subentry_id for entity in _line_entities(entity_registry, entry, ROOM_103)} == {
        _subentry_id(entry, ROOM_103)
    }
    # The new line is in the subscriptions: a change at its phone arrives by push.
    for subscription in simulator.subscriptions():
        assert ROOM_103 in subscription.get("userIds", []) or subscription["enterpriseNames"] == [ENTERPRISE]
    simulator.set_dnd(ROOM_103, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_103_do_not_disturb").state == STATE_ON
    # The other lines are as they were.
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF


async def test_remove_line(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A removed line leaves no device, entity, state or data behind."""
    entry = init_integration
    assert _line_entities(entity_registry, entry, ROOM_102)
    assert hass.config_entries.async_remove_subentry(entry, _subentry_id(entry, ROOM_102))
    await _settle(hass)
    assert entry.state is ConfigEntryState.LOADED

    assert _line_device(device_registry, entry, ROOM_102) is None
    assert _line_entities(entity_registry, entry, ROOM_102) == []
    assert not [
        state.entity_id for state in hass.states.async_all() if state.entity_id.split(".")[1].startswith("room_102")
    ]
    runtime = entry.runtime_data
    assert set(runtime.lines) == {ROOM_101}
    assert set(runtime.features.data) == {ROOM_101}
    assert set(runtime.presence.data) == {ROOM_101}
    for subscription in simulator.subscriptions():
        assert subscription.get("userIds", [ROOM_101]) == [ROOM_101]
        assert subscription.get("enterpriseNames", [ENTERPRISE]) == [ENTERPRISE]
    # The remaining line still works.
    assert _line_device(device_registry, entry, ROOM_101) is not None
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF


async def test_rename_line(
    hass: HomeAssistant, init_integration: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """Renaming a line through reconfigure renames its device; entity ids stay."""
    entry = init_integration
    result = await entry.start_subentry_reconfigure_flow(hass, _subentry_id(entry, ROOM_101))
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": str(ROOM_101), "name": "Suite 1"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await _settle(hass)

    device = _line_device(device_registry, entry, ROOM_101)
    assert device.name == "Suite 1"
    state = hass.states.get("switch.room_101_do_not_disturb")
    assert state.state == STATE_OFF
    assert state.attributes["friendly_name"] == "Suite 1 Do not disturb"
    assert entry.runtime_data.lines[ROOM_101].name == "Suite 1"


async def test_change_line_user_id(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A line given another userId: the old line's device and entities go, the new one's come."""
    entry = init_integration
    subentry_id = _subentry_id(entry, ROOM_102)
    result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": str(ROOM_103), "name": "Room 102"}
    )
    assert result["reason"] == "reconfigure_successful"
    await _settle(hass)

    assert _line_device(device_registry, entry, ROOM_102) is None
    assert _line_entities(entity_registry, entry, ROOM_102) == []
    device = _line_device(device_registry, entry, ROOM_103)
    assert device is not None
    assert device.config_subentry_id == subentry_id
    assert _line_entities(entity_registry, entry, ROOM_103)
    assert set(entry.runtime_data.lines) == {ROOM_101, ROOM_103}


async def test_rename_line_from_the_menu(
    hass: HomeAssistant, init_integration: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """⋮ > Rename (the sub-entry's title only) renames the line, its device and the board's name."""
    entry = init_integration
    subentry = entry.subentries[_subentry_id(entry, ROOM_101)]
    assert hass.config_entries.async_update_subentry(entry, subentry, title="Suite 1")
    await _settle(hass)

    assert entry.runtime_data.lines[ROOM_101].name == "Suite 1"
    assert _line_device(device_registry, entry, ROOM_101).name == "Suite 1"
    board = {line["user_id"]: line["name"] for line in async_board(hass, entry.entry_id)["lines"]}
    assert board == {ROOM_101: "Suite 1", ROOM_102: "Room 102"}
    # The data follow (what the reconfigure form suggests); entity ids stay.
    assert entry.subentries[subentry.subentry_id].data["name"] == "Suite 1"
    assert hass.states.get("switch.room_101_do_not_disturb").attributes["friendly_name"] == "Suite 1 Do not disturb"
    assert entry.state is ConfigEntryState.LOADED


async def test_line_added_again_finds_its_calls(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A line removed and added again shows its calls of the day (they stayed in the ledger)."""
    entry = init_integration
    simulator.make_call(ROOM_102, number="+41225117902", missed=True)
    answered = simulator.make_call(ROOM_102, number="+41791112233", duration=60)
    await simulator.wait_for_pushes()
    await _settle(hass)
    before = {line["user_id"]: line for line in async_board(hass, entry.entry_id)["lines"]}[ROOM_102]
    assert before["missed"] == 1
    last_call = hass.states.get("sensor.room_102_last_call").state
    assert last_call[:19] >= answered["callStart"][:19]

    assert hass.config_entries.async_remove_subentry(entry, _subentry_id(entry, ROOM_102))
    await _settle(hass)
    assert hass.states.get("sensor.room_102_last_call") is None
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data={"user_id": ROOM_102, "name": "Room 102"},
            subentry_type="line",
            title="Room 102",
            unique_id=str(ROOM_102),
        ),
    )
    await _settle(hass)

    after = {line["user_id"]: line for line in async_board(hass, entry.entry_id)["lines"]}[ROOM_102]
    assert after["missed"] == 1
    assert after["last_missed"] == before["last_missed"]
    assert hass.states.get("sensor.room_102_last_call").state == last_call
