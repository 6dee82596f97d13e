"""Text entities: the destinations of the call forwards."""

from __future__ import annotations

from homeassistant.components.text import DOMAIN as TEXT_DOMAIN, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.util import normalize_destination
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, setup_entry, with_entry_id

CFU_TO = "text.room_101_forward_all_calls_to"
CFB_TO = "text.room_101_forward_when_busy_to"
INITIAL = "0225117902@s1.291908.bus.ipvoip.ch"


async def _set(hass: HomeAssistant, entity_id: str, value: str) -> None:
    await hass.services.async_call(
        TEXT_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity_id, "value": value}, blocking=True
    )


def _destination(simulator: Simulator, feat_name: str = "CALL_FORWARD_UNCONDITIONAL") -> str:
    feature = simulator.feature(ROOM_101, feat_name)
    key = next(key for key in feature if key.endswith("Data"))
    return feature[key]["destinationUri"]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_texts(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every destination text."""
    simulator.set_forward(ROOM_102, "timeout", False, "sip:desk@example.com")
    entry = with_entry_id(config_entry)
    await setup_entry(hass, entry, [Platform.TEXT])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+41 79 123 45 67", "+41791234567"),
        ("079 123.45.67", "0791234567"),
        ("+41 (0)22 566-21-94", "+410225662194"),
        ("sip:alice@pbx.example.com", "sip:alice@pbx.example.com"),
        ("0225117902@s1.291908.bus.ipvoip.ch", "0225117902@s1.291908.bus.ipvoip.ch"),
    ],
)
async def test_set_destination(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, value: str, expected: str
) -> None:
    """A phone number loses its spacing; a SIP address is kept; the forward's status stays."""
    simulator.set_forward(ROOM_101, "unconditional", True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    await _set(hass, CFU_TO, value)
    assert hass.states.get(CFU_TO).state == expected
    assert _destination(simulator) == expected
    assert simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")["status"] == "ACTIVE"
    assert hass.states.get("switch.room_101_forward_all_calls").attributes["destination"] == expected
    # The other line's forward did not move.
    assert (
        simulator.feature(ROOM_102, "CALL_FORWARD_UNCONDITIONAL")["callForwardUnconditionalData"]["destinationUri"]
        == INITIAL
    )


@pytest.mark.parametrize("value", ["12", "1-------", "+" + "1" * 25, "@example.com", "alice@", "call me"])
async def test_invalid_destination(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, value: str
) -> None:
    """Not a destination: a translated error (never a raw pattern) before any request, state unchanged."""
    simulator.reset_request_counts()
    with pytest.raises(ServiceValidationError) as err:
        await _set(hass, CFU_TO, value)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "invalid_destination"
    assert err.value.translation_placeholders == {"destination": value}
    assert "pattern" not in str(err.value)
    assert simulator.total_requests() == 0
    assert hass.states.get(CFU_TO).state == INITIAL
    assert _destination(simulator) == INITIAL


async def test_destination_follows_push(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """A destination changed at the phone shows; the busy forward's text is disabled by default."""
    simulator.set_forward(ROOM_101, "unconditional", False, "+41225117999")
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get(CFU_TO).state == "+41225117999"
    entity = entity_registry.async_get(CFB_TO)
    assert entity is not None
    assert entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_text_unavailable_without_forward_data(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A forward whose data block the API stopped sending has no destination to show."""
    feature = simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")
    del feature["callForwardUnconditionalData"]
    simulator.state.features[feature["id"]] = feature
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(CFU_TO).state == "unavailable"
    assert "destination" not in hass.states.get("switch.room_101_forward_all_calls").attributes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  +41 22 566 21 94 ", "+41225662194"),
        ("+41/22/566/21/94", "+41225662194"),
        ("123", "123"),
        ("12", None),
        ("1" * 21, None),
        ("1" * 20, "1" * 20),
        ("sips:bob@example.com:5061", "sips:bob@example.com:5061"),
        ("bob@example.com", "bob@example.com"),
        ("bob smith@example.com", None),
        ("bob@exa mple.com", None),
        ("tel:+41225662194", None),
        ("", None),
    ],
)
def test_normalize_destination(value: str, expected: str | None) -> None:
    """Phone numbers lose their spacing; SIP URIs stay; anything else is refused."""
    assert normalize_destination(value) == expected


async def test_no_pattern_on_the_entity(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The entity has no pattern: Home Assistant would refuse bad values with a raw regular expression."""
    assert hass.states.get(CFU_TO).attributes.get("pattern") is None


async def test_destination_change_found_by_poll(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A destination changed while push was lost shows after the next poll."""
    simulator.drop_pushes()
    simulator.set_forward(ROOM_101, "unconditional", False, "+41225117999")
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get(CFU_TO).state == INITIAL
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(CFU_TO).state == "+41225117999"
    assert hass.states.get("switch.room_101_forward_all_calls").attributes["destination"] == "+41225117999"


async def test_set_destination_when_the_api_lost_the_data_block(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The feature read before the write has no data block: a translated error, nothing written."""
    simulator.drop_pushes()
    feature = simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")
    del feature["callForwardUnconditionalData"]
    simulator.state.features[feature["id"]] = feature
    simulator.reset_request_counts()
    with pytest.raises(HomeAssistantError) as err:
        await _set(hass, CFU_TO, "+41791234567")
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "destination_not_settable"
    assert err.value.translation_placeholders == {"feature": "CALL_FORWARD_UNCONDITIONAL", "line": "Room 101"}
    assert simulator.request_counts() == {"GET /openapi/v1/feat/{feature_id}": 1}
