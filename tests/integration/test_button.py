"""The reset button of each line: the check-out in one press."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102

BUTTON = "button.room_101_reset_line"
PUT_FEATURE = "PUT /openapi/v1/feat/{feature_id}"


@pytest.fixture(autouse=True)
async def pushes_settle(simulator: Simulator) -> AsyncGenerator[None]:
    """Let the simulator's last pushes reach Home Assistant before tearing down."""
    yield
    await simulator.wait_for_pushes()


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True)


async def test_press_resets_the_line(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A press writes back what the guest changed, on this line only, one PUT per feature."""
    assert hass.states.get(BUTTON).state == STATE_UNKNOWN
    baseline = simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")
    simulator.set_dnd(ROOM_101, True)
    simulator.set_forward(ROOM_101, "unconditional", True, "+41791234567")
    simulator.set_dnd(ROOM_102, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    simulator.reset_request_counts()

    await _press(hass, BUTTON)

    assert simulator.request_counts()[PUT_FEATURE] == 2
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "INACTIVE"
    assert simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL") == baseline
    assert simulator.feature(ROOM_102, "CENTRAL_DND")["status"] == "ACTIVE"
    assert hass.states.get("switch.room_101_do_not_disturb").state == "off"
    assert hass.states.get(BUTTON).state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)


async def test_press_failure_is_an_error(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """An API failure on press is a translated error; the button stays usable."""
    simulator.set_dnd(ROOM_101, True)
    simulator.fail_next(503)
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass, BUTTON)
    assert err.value.translation_key == "read_failed"
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "ACTIVE"
    await _press(hass, BUTTON)
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "INACTIVE"


async def test_button_unavailable_with_its_line(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A line whose features cannot be read has an unavailable reset button; the other line's works."""
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_102}/feat")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("button.room_102_reset_line").state == STATE_UNAVAILABLE
    assert hass.states.get(BUTTON).state == STATE_UNKNOWN
