"""Unavailability and recovery: one line failing, every line failing, logged once each way."""

from __future__ import annotations

import logging

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from vtx_simulator import Simulator

from .conftest import ROOM_101

# The entities fed by the coordinators, per line.
FEATURE_ENTITIES = (
    "switch.{line}_do_not_disturb",
    "switch.{line}_forward_all_calls",
    "text.{line}_forward_all_calls_to",
    "sensor.{line}_line_status",
)
PRESENCE_ENTITIES = ("sensor.{line}_presence", "binary_sensor.{line}_on_a_call")
LINE_ENTITIES = FEATURE_ENTITIES + PRESENCE_ENTITIES


def _unavailable(hass: HomeAssistant, line: str, templates: tuple[str, ...] = LINE_ENTITIES) -> dict[str, bool]:
    return {
        entity_id: hass.states.get(entity_id).state == STATE_UNAVAILABLE
        for entity_id in (template.format(line=line) for template in templates)
    }


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.features.async_refresh()
    await entry.runtime_data.presence.async_refresh()
    await hass.async_block_till_done()


def _count(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("fault", ["status", "malformed"])
async def test_one_line_failing(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """Only the failing line's entities are unavailable; logged once, and once on recovery."""
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    simulator.add_fault(fault, status=503, count=None, path=f"/users/{ROOM_101}/")
    for _ in range(3):
        await _refresh(hass, init_integration)
    assert all(_unavailable(hass, "room_101").values())
    assert not any(_unavailable(hass, "room_102").values())
    # Entities not fed by the coordinators stay.
    assert hass.states.get("sensor.room_101_outgoing_call_time").state != STATE_UNAVAILABLE
    assert _count(caplog, f"Line {ROOM_101}: reading its features failed") == 1
    assert _count(caplog, f"Line {ROOM_101}: reading its presence failed") == 1
    assert init_integration.runtime_data.features.last_update_success

    simulator.clear_faults()
    for _ in range(2):
        await _refresh(hass, init_integration)
    assert not any(_unavailable(hass, "room_101").values())
    assert _count(caplog, f"Line {ROOM_101}: reading its features works again") == 1
    assert _count(caplog, f"Line {ROOM_101}: reading its presence works again") == 1
    assert _count(caplog, "reading its features failed") == 1


async def test_every_line_failing(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The API down: every line entity unavailable, the account's version stays; then recovery."""
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    simulator.fail_next(503, count=None)
    for _ in range(2):
        await _refresh(hass, init_integration)
    for line in ("room_101", "room_102"):
        assert all(_unavailable(hass, line).values()), line
    assert hass.states.get("sensor.openapi_291908_bus_ent_api_version").state == "7.7.2.12"
    assert _count(caplog, "Error fetching vtx_voip features data") == 1
    assert _count(caplog, "Error fetching vtx_voip presence data") == 1

    simulator.clear_faults()
    for _ in range(2):
        await _refresh(hass, init_integration)
    for line in ("room_101", "room_102"):
        assert not any(_unavailable(hass, line).values()), line
    assert _count(caplog, "Fetching vtx_voip features data recovered") == 1
    assert _count(caplog, "Fetching vtx_voip presence data recovered") == 1


async def test_one_line_then_every_line(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """One line down, then the whole API, then everything back: each recovery logged once."""
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_101}/feat")
    await _refresh(hass, init_integration)
    assert all(_unavailable(hass, "room_101", FEATURE_ENTITIES).values())
    assert not any(_unavailable(hass, "room_101", PRESENCE_ENTITIES).values())
    simulator.fail_next(503, count=None)
    await _refresh(hass, init_integration)
    assert all(_unavailable(hass, "room_102").values())
    simulator.clear_faults()
    await _refresh(hass, init_integration)
    await _refresh(hass, init_integration)
    assert not any(_unavailable(hass, "room_101").values())
    assert not any(_unavailable(hass, "room_102").values())
    assert _count(caplog, f"Line {ROOM_101}: reading its features failed") == 1
    assert _count(caplog, f"Line {ROOM_101}: reading its features works again") == 1


async def test_push_brings_a_failed_line_back(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A line whose poll failed is current again when the API pushes its feature."""
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_101}/feat")
    await _refresh(hass, init_integration)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_UNAVAILABLE
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == "on"
    assert hass.states.get("sensor.room_101_line_status").state == "do_not_disturb"
