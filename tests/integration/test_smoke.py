"""The integration comes up against the simulator and follows a push."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from vtx_simulator import Simulator

from .conftest import ROOM_101


async def test_push_changes_dnd(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """A DND pressed on the phone reaches the switch by push, without a poll."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF
    simulator.reset_request_counts()
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert hass.states.get("sensor.room_101_line_status").state == "do_not_disturb"
    assert simulator.total_requests() == 0
