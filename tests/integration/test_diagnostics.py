"""Diagnostics: the whole state, with secrets and numbers redacted."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from vtx_simulator import Simulator
from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME

from .conftest import ROOM_101, ROOM_102, WEBHOOK_ID, pin_presence, setup_entry, with_entry_id

FORWARD_TO = "+41791234567"
PARALLEL_TO = "+41795550000"
CALLER = "+41791112233"


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show lines, coordinators and push, never credentials, ids or numbers."""
    # Before Home Assistant's HTTP app serves the first push (its router is frozen then).
    assert await async_setup_component(hass, "diagnostics", {})
    pin_presence(simulator, ROOM_101, "ONLINE", "IN_A_CALL")
    pin_presence(simulator, ROOM_102, "OFFLINE", "NONE")
    simulator.set_forward(ROOM_101, "unconditional", True, FORWARD_TO)
    simulator.set_feature(ROOM_101, "PARALLEL_RINGING", data={"destinationUris": [PARALLEL_TO]})
    entry = with_entry_id(config_entry)
    await setup_entry(hass, entry)
    simulator.make_call(ROOM_102, direction="incoming", number=CALLER, missed=True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = json.dumps(diagnostics)
    for secret in (DEMO_PASSWORD, DEMO_APPLICATION_ID, DEMO_USERNAME, WEBHOOK_ID, FORWARD_TO, PARALLEL_TO, CALLER):
        assert secret not in text, secret
    # Numbers and SIP addresses of the default forwards too.
    assert "0225117902" not in text
    assert "@m.ipvoip.ch" not in text
    lines = diagnostics["lines"]
    assert set(lines) == {str(ROOM_101), str(ROOM_102)}
    assert lines[str(ROOM_101)]["features_available"] is True
    assert lines[str(ROOM_101)]["presence"]["enhanced_activity"] == "IN_A_CALL"
    assert diagnostics["push"]["healthy"] is True
    assert diagnostics["push"]["pushes_received"] >= 1
    assert diagnostics == snapshot(
        exclude=props("expires", "renew_at", "last_push", "last_check", "pushes_received", "url", "seen_ids")
    )


async def test_diagnostics_of_a_failing_line(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A line that cannot be read (404) is shown so, with its last known features."""
    assert await async_setup_component(hass, "diagnostics", {})
    simulator.add_fault("status", status=404, count=None, path=f"/users/{ROOM_102}/")
    await init_integration.runtime_data.features.async_refresh()
    await init_integration.runtime_data.presence.async_refresh()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    line = diagnostics["lines"][str(ROOM_102)]
    assert line["features_available"] is False
    assert line["presence_available"] is False
    assert line["features"]
    assert diagnostics["coordinators"]["features"]["last_update_success"] is True


async def test_diagnostics_hold_no_hostname(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Neither the API URL nor the push base URL (the user's public hostname) nor any URL shows."""
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(diagnostics)
    assert init_integration.options["push_base_url"] not in text
    assert simulator.base_url not in text
    assert "127.0.0.1" not in text
    assert "http://" not in text
    assert "https://" not in text
