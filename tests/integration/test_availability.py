"""Unavailability and recovery: one line failing, every line failing, logged once each way.

A poll that fails, as a whole or for one line, blanks nothing that a read or a push
confirmed within the stale window; it is tried again with back-off (30 s, 1, 2, 4 minutes...
for a whole poll; 1, 2, 4 minutes... for one line).
"""

from __future__ import annotations

from datetime import timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from vtx_simulator import Simulator

from .conftest import ROOM_101

FEAT = "GET /openapi/v1/users/{user_id}/feat"

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


async def _travel(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _travel_past_the_window(hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry) -> None:
    """Move on, a minute at a time, past the features' and the presence's stale windows."""
    window = max(entry.runtime_data.features.stale_window, entry.runtime_data.presence.stale_window)
    for _ in range(int(window / timedelta(minutes=1)) + 2):
        await _travel(hass, freezer, timedelta(minutes=1))


def _count(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("fault", ["status", "malformed"])
async def test_one_line_failing(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
    fault: str,
) -> None:
    """A line whose reads fail keeps what was confirmed for its stale window, then only its entities are
    unavailable; logged once, and once on recovery."""
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    simulator.add_fault(fault, status=503, count=None, path=f"/users/{ROOM_101}/")
    for _ in range(3):
        await _refresh(hass, init_integration)
    # Confirmed by the read at set-up, within the stale window: still known.
    assert not any(_unavailable(hass, "room_101").values())
    # Past the window, its retries failing meanwhile: unknown now, so unavailable.
    await _travel_past_the_window(hass, freezer, init_integration)
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
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The API down: lines stay as confirmed for the stale window, then unavailable; then recovery."""
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    simulator.fail_next(503, count=None)
    for _ in range(2):
        await _refresh(hass, init_integration)
    for line in ("room_101", "room_102"):
        assert not any(_unavailable(hass, line).values()), line
    # Past the stale window (the retries fail meanwhile): unknown now, so unavailable.
    await _travel_past_the_window(hass, freezer, init_integration)
    for line in ("room_101", "room_102"):
        assert all(_unavailable(hass, line).values()), line
    assert hass.states.get("sensor.openapi_291908_bus_ent_api_version").state == "7.7.2.12"
    # A push confirming what Room 101 holds (it changes nothing) brings its features back.
    features = init_integration.runtime_data.features
    assert not features.async_apply_feature(features.data[ROOM_101]["CENTRAL_DND"])
    await hass.async_block_till_done()
    assert not any(_unavailable(hass, "room_101", FEATURE_ENTITIES).values())
    assert all(_unavailable(hass, "room_102", FEATURE_ENTITIES).values())
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
    simulator.fail_next(503, count=None)
    await _refresh(hass, init_integration)
    # Both lines were confirmed within the stale window (Room 101's features by the read at
    # set-up, before its own reads failed): both stay.
    assert not any(_unavailable(hass, "room_102").values())
    assert not any(_unavailable(hass, "room_101").values())
    simulator.clear_faults()
    await _refresh(hass, init_integration)
    await _refresh(hass, init_integration)
    assert not any(_unavailable(hass, "room_101").values())
    assert not any(_unavailable(hass, "room_102").values())
    assert _count(caplog, f"Line {ROOM_101}: reading its features failed") == 1
    assert _count(caplog, f"Line {ROOM_101}: reading its features works again") == 1


async def test_push_brings_a_failed_line_back(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A line whose reads failed past its stale window is current again when the API pushes its feature."""
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_101}/feat")
    await _refresh(hass, init_integration)
    assert not any(_unavailable(hass, "room_101", FEATURE_ENTITIES).values())
    await _travel_past_the_window(hass, freezer, init_integration)
    assert all(_unavailable(hass, "room_101", (*FEATURE_ENTITIES, "button.{line}_reset_line")).values())
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == "on"
    assert hass.states.get("sensor.room_101_line_status").state == "do_not_disturb"
    # The line's entities of other features (and its reset button) are current again too.
    assert not any(_unavailable(hass, "room_101", (*FEATURE_ENTITIES, "button.{line}_reset_line")).values())


async def test_failed_poll_keeps_pushed_lines_and_is_retried(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Two 503s fail a reconciliation poll while push works: nothing goes unavailable, a DND push
    applies, and the poll is tried again 30 s later (not 15 minutes later)."""
    features = init_integration.runtime_data.features
    assert init_integration.runtime_data.push.healthy
    simulator.fail_next(503, count=2)
    await features.async_refresh()
    await hass.async_block_till_done()
    assert not features.last_update_success
    assert not any(_unavailable(hass, "room_101", FEATURE_ENTITIES).values())
    assert not any(_unavailable(hass, "room_102", FEATURE_ENTITIES).values())
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON

    simulator.reset_request_counts()
    await _travel(hass, freezer, timedelta(seconds=31))
    assert simulator.request_counts().get(FEAT, 0) == 2
    assert features.last_update_success


async def test_failed_polls_back_off(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """While the API stays down, the poll is tried again after 30 s, 1, 2, 4 minutes..."""
    features = init_integration.runtime_data.features
    simulator.fail_next(503, count=None)
    await features.async_refresh()
    await hass.async_block_till_done()
    assert not features.last_update_success
    # When each retry came, in seconds after the failed poll (travelling 10 s at a time).
    retries: list[int] = []
    simulator.reset_request_counts()
    for step in range(1, 48):
        await _travel(hass, freezer, timedelta(seconds=10))
        if simulator.request_counts().get(FEAT, 0):
            retries.append(step * 10)
            simulator.reset_request_counts()
    gaps = [later - earlier for earlier, later in zip([0, *retries], retries, strict=False)]
    assert gaps == [30, 60, 120, 240]


async def test_failing_line_retries_back_off(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """One line failing on and on: read again after 1, 2, 4 minutes... (the next, 8 minutes later,
    falls with the reconciliation poll 15 minutes after the first failure)."""
    features = init_integration.runtime_data.features
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_101}/feat")
    await features.async_refresh()
    await hass.async_block_till_done()
    assert features.last_update_success
    # Confirmed at set-up: available within its stale window, and read again meanwhile.
    assert features.line_available(ROOM_101)
    path = f"GET /openapi/v1/users/{ROOM_101}/feat"
    retries: list[int] = []
    simulator.reset_request_counts()
    for step in range(1, 90):  # 14 min 50 s: before the next reconciliation poll (15 min)
        await _travel(hass, freezer, timedelta(seconds=10))
        if simulator.path_counts().get(path, 0):
            retries.append(step * 10)
            simulator.reset_request_counts()
    gaps = [later - earlier for earlier, later in zip([0, *retries], retries, strict=False)]
    assert gaps == [60, 120, 240]


async def test_push_keeps_a_line_whose_reads_fail_available(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A line whose own reads keep failing stays available while pushes confirm it: each push starts its stale
    window again; the window after the last push ends in unavailability."""
    features = init_integration.runtime_data.features
    window = features.stale_window
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_101}/feat")
    await _refresh(hass, init_integration)
    # Most of the window later, a push (the guest switches DND on at the phone).
    for _ in range(int(window / timedelta(minutes=1)) - 2):
        await _travel(hass, freezer, timedelta(minutes=1))
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    # Past the window of the read at set-up, within the push's: known and shown.
    for _ in range(5):
        await _travel(hass, freezer, timedelta(minutes=1))
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert not any(_unavailable(hass, "room_101", FEATURE_ENTITIES).values())
    # Past the push's window too, its reads still failing: unavailable.
    for _ in range(int(window / timedelta(minutes=1))):
        await _travel(hass, freezer, timedelta(minutes=1))
    assert all(_unavailable(hass, "room_101", FEATURE_ENTITIES).values())
    assert not any(_unavailable(hass, "room_102", FEATURE_ENTITIES).values())
