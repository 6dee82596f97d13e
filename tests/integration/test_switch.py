"""Switches: DND and call forwards, read from and written to the simulator."""

from __future__ import annotations

import asyncio

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.components.text import DOMAIN as TEXT_DOMAIN, SERVICE_SET_VALUE
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.vtx_voip.const import DOMAIN
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, setup_entry, with_entry_id

DND = "switch.room_101_do_not_disturb"
FORWARD = "switch.room_101_forward_all_calls"
GET_FEATURE = "GET /openapi/v1/feat/{feature_id}"
PUT_FEATURE = "PUT /openapi/v1/feat/{feature_id}"


async def _switch(hass: HomeAssistant, service: str, entity_id: str) -> None:
    await hass.services.async_call(SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: entity_id}, blocking=True)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_switches(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every switch, with a forward switched on and a DND on to show both states."""
    simulator.set_dnd(ROOM_102, True)
    simulator.set_forward(ROOM_102, "busy", True, "+41791112233")
    entry = with_entry_id(config_entry)
    await setup_entry(hass, entry, [Platform.SWITCH])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_forwards_other_than_unconditional_disabled_by_default(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Only DND and the unconditional forward are enabled by default."""
    enabled = {
        entity.entity_id
        for entity in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
        if entity.domain == SWITCH_DOMAIN and entity.disabled_by is None
    }
    assert enabled == {
        DND,
        FORWARD,
        "switch.room_102_do_not_disturb",
        "switch.room_102_forward_all_calls",
    }


@pytest.mark.parametrize(
    ("entity_id", "feat_name"),
    [(DND, "CENTRAL_DND"), (FORWARD, "CALL_FORWARD_UNCONDITIONAL")],
)
async def test_turn_on_and_off(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, entity_id: str, feat_name: str
) -> None:
    """A write reads the feature, PUTs all of it back; the state follows the answer at once."""
    before = simulator.feature(ROOM_101, feat_name)
    simulator.reset_request_counts()
    await _switch(hass, SERVICE_TURN_ON, entity_id)
    # No block_till_done: the state is the PUT's answer, written before the action returns.
    assert hass.states.get(entity_id).state == STATE_ON
    assert simulator.request_counts() == {GET_FEATURE: 1, PUT_FEATURE: 1}
    after = simulator.feature(ROOM_101, feat_name)
    assert after["status"] == "ACTIVE"
    # The whole feature went back: only the status changed.
    assert {**after, "status": before["status"]} == before
    # The API's own push of our change changes nothing more and costs no request.
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_ON

    simulator.reset_request_counts()
    await _switch(hass, SERVICE_TURN_OFF, entity_id)
    assert hass.states.get(entity_id).state == STATE_OFF
    assert simulator.request_counts() == {GET_FEATURE: 1, PUT_FEATURE: 1}
    assert simulator.feature(ROOM_101, feat_name)["status"] == "INACTIVE"
    # The other line was not touched.
    assert simulator.feature(ROOM_102, feat_name)["status"] == "INACTIVE"


async def test_forward_destination_attribute(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The forward switch shows where calls go; DND has no such attribute."""
    assert hass.states.get(FORWARD).attributes["destination"] == "0225117902@s1.291908.bus.ipvoip.ch"
    assert "destination" not in hass.states.get(DND).attributes
    simulator.set_forward(ROOM_101, "unconditional", True, "+41791234567")
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    state = hass.states.get(FORWARD)
    assert state.state == STATE_ON
    assert state.attributes["destination"] == "+41791234567"


async def test_turn_on_when_already_on_writes_nothing(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Switching on what the API already has on reads it and writes nothing."""
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    simulator.reset_request_counts()
    await _switch(hass, SERVICE_TURN_ON, DND)
    assert simulator.request_counts() == {GET_FEATURE: 1}
    assert hass.states.get(DND).state == STATE_ON


async def test_forward_on_without_destination(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A forward with nowhere to go cannot be switched on: a translated error, no PUT."""
    simulator.set_feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL", data={"destinationUri": ""})
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    simulator.reset_request_counts()
    with pytest.raises(ServiceValidationError) as err:
        await _switch(hass, SERVICE_TURN_ON, FORWARD)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "destination_missing"
    assert err.value.translation_placeholders == {"line": "Room 101"}
    assert simulator.request_counts() == {GET_FEATURE: 1}
    assert hass.states.get(FORWARD).state == STATE_OFF
    assert simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")["status"] == "INACTIVE"


@pytest.mark.parametrize(
    ("status", "translation_key"),
    [(500, "write_failed"), (400, "write_failed"), (404, "feature_not_available")],
)
async def test_write_failure(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    status: int,
    translation_key: str,
) -> None:
    """A refused PUT raises a translated error and leaves the state as it was."""
    simulator.add_fault("status", status=status, method="PUT")
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, DND)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == translation_key
    assert err.value.translation_placeholders["line"] == "Room 101"
    assert err.value.translation_placeholders["feature"] == "CENTRAL_DND"
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_OFF
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "INACTIVE"
    # The entity is still usable.
    await _switch(hass, SERVICE_TURN_ON, DND)
    assert hass.states.get(DND).state == STATE_ON


async def test_write_failure_when_reading_the_feature(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The read before the write fails: nothing is written."""
    simulator.add_fault("status", status=503, method="GET", path="/feat/")
    simulator.reset_request_counts()
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, DND)
    assert err.value.translation_key == "write_failed"
    assert PUT_FEATURE not in simulator.request_counts()
    assert hass.states.get(DND).state == STATE_OFF


async def test_unauthorized_write_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A 401 on a write raises a translated error and starts a reauth flow."""
    simulator.add_fault("status", status=401, method="PUT")
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, SERVICE_TURN_ON, DND)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["handler"] == DOMAIN and flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == init_integration.entry_id
    assert hass.states.get(DND).state == STATE_OFF


async def test_concurrent_writes_to_one_line_do_not_interleave(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A destination change and a switch-on of the same forward, at once: both end applied.

    Interleaved (GET, GET, PUT, PUT) the second PUT would write back the old destination.
    """
    order: list[str] = []
    count_request = simulator.count_request

    def spy(method: str, template: str, path: str | None = None) -> None:
        order.append(f"{method} {template}")
        count_request(method, template, path)

    monkeypatch.setattr(simulator, "count_request", spy)
    # The first PUT is slow, so the second write would overtake it without the lock.
    simulator.add_fault("hang", seconds=0.05, method="PUT")
    await asyncio.gather(
        hass.services.async_call(
            TEXT_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: "text.room_101_forward_all_calls_to", "value": "+41 79 123 45 67"},
            blocking=True,
        ),
        _switch(hass, SERVICE_TURN_ON, FORWARD),
    )
    assert order == [GET_FEATURE, PUT_FEATURE, GET_FEATURE, PUT_FEATURE]
    feature = simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")
    assert feature["status"] == "ACTIVE"
    assert feature["callForwardUnconditionalData"]["destinationUri"] == "+41791234567"
    assert hass.states.get(FORWARD).state == STATE_ON
    assert hass.states.get("text.room_101_forward_all_calls_to").state == "+41791234567"


async def test_writes_to_different_lines_run_in_parallel(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The lock is per line: Room 102's write ends while Room 101's slow PUT still hangs."""
    dnd_101 = simulator.feature(ROOM_101, "CENTRAL_DND")["id"]
    simulator.add_fault("hang", seconds=0.05, method="PUT", path=f"/feat/{dnd_101}")
    first = hass.async_create_task(_switch(hass, SERVICE_TURN_ON, DND))
    second = hass.async_create_task(_switch(hass, SERVICE_TURN_ON, "switch.room_102_do_not_disturb"))
    await second
    assert not first.done()
    await first
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "ACTIVE"
    assert simulator.feature(ROOM_102, "CENTRAL_DND")["status"] == "ACTIVE"


async def test_write_to_unknown_feature(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Writing a feature the line does not have is refused before any request."""
    features = init_integration.runtime_data.features
    with pytest.raises(HomeAssistantError) as err:
        await features.async_write_feature(
            init_integration.runtime_data.lines[ROOM_101], "NO_SUCH_FEATURE", lambda feature: feature
        )
    assert err.value.translation_key == "feature_not_available"
    assert err.value.translation_placeholders == {"feature": "NO_SUCH_FEATURE", "line": "Room 101"}


async def test_line_unreadable_at_setup_gets_its_switches_later(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """A line whose features could not be read at set-up gets its entities once they can be."""
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_102}/feat")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_OFF
    assert hass.states.get("switch.room_102_do_not_disturb") is None
    assert hass.states.get("text.room_102_forward_all_calls_to") is None

    simulator.clear_faults()
    simulator.set_dnd(ROOM_102, True)
    await config_entry.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_102_do_not_disturb").state == STATE_ON
    assert hass.states.get("text.room_102_forward_all_calls_to").state == "0225117902@s1.291908.bus.ipvoip.ch"
    entity = entity_registry.async_get("switch.room_102_do_not_disturb")
    subentry = next(sub for sub in config_entry.subentries.values() if sub.data["user_id"] == ROOM_102)
    assert entity.config_subentry_id == subentry.subentry_id
    # Added once: another refresh adds nothing.
    count = len(er.async_entries_for_config_entry(entity_registry, config_entry.entry_id))
    await config_entry.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert len(er.async_entries_for_config_entry(entity_registry, config_entry.entry_id)) == count
