"""Presence that costs less: disabled lines not read, a finished call read at once, reads spread, the interval option, start-up."""

from __future__ import annotations

from datetime import timedelta
import math

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.coordinator import PRESENCE_ENTITIES, SPREAD_MAX_LINES
from vtx_simulator import Simulator

from .conftest import FIRST_USER_ID, PUSH_BASE_URL, ROOM_101, ROOM_102, demo_entry, line_subentry, seed_with_lines

PRESENCE = "GET /openapi/v1/users/{user_id}/presence"


def presence_reads(simulator: Simulator) -> dict[int, int]:
    """Presence reads per userId since the last reset."""
    reads: dict[int, int] = {}
    for key, count in simulator.path_counts().items():
        method, _, path = key.partition(" ")
        if method == "GET" and path.endswith("/presence"):
            reads[int(path.split("/")[-2])] = count
    return reads


async def travel(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def disable(entity_registry: er.EntityRegistry, user_id: int, keys: list[str]) -> None:
    for domain, key in PRESENCE_ENTITIES:
        if key in keys:
            entity_id = entity_registry.async_get_entity_id(domain, DOMAIN, f"{user_id}_{key}")
            assert entity_id is not None
            entity_registry.async_update_entity(entity_id, disabled_by=er.RegistryEntryDisabler.USER)


async def test_no_presence_read_for_a_line_with_its_presence_entities_disabled(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    presence = init_integration.runtime_data.presence
    # Two of three disabled: still read (the third needs it).
    disable(entity_registry, ROOM_101, ["presence", "on_call"])
    assert presence.is_polled(ROOM_101)
    simulator.reset_request_counts()
    await presence.async_refresh_all()
    assert presence_reads(simulator) == {ROOM_101: 1, ROOM_102: 1}
    # All three disabled: not read, by polls or line reads; the other line still is.
    disable(entity_registry, ROOM_101, ["line_status"])
    assert not presence.is_polled(ROOM_101)
    assert presence.polled_lines() == [ROOM_102]
    simulator.reset_request_counts()
    await presence.async_refresh_all()
    assert not await presence.async_read_line(ROOM_101)
    assert presence_reads(simulator) == {ROOM_102: 1}
    assert presence.last_update_success
    assert not presence.is_polled(176133)  # not a line of the entry
    # Enabled again: read again.
    entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{ROOM_101}_presence")
    assert entity_id is not None
    entity_registry.async_update_entity(entity_id, disabled_by=None)
    simulator.reset_request_counts()
    await presence.async_refresh_all()
    assert presence_reads(simulator) == {ROOM_101: 1, ROOM_102: 1}


@pytest.mark.parametrize("presence_pushed", [False, True], ids=["presence_polled", "presence_pushed"])
async def test_finished_call_push_reads_that_lines_presence(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, presence_pushed: bool
) -> None:
    """A finished-call push makes that line's presence read at once (only that line), PRESENCE pushed or not."""
    simulator.presence_push_enabled = presence_pushed
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    runtime = config_entry.runtime_data
    assert runtime.push.calls_pushed
    assert runtime.push.presence_pushed is presence_pushed
    simulator.start_call(ROOM_101, direction="incoming", number="+41791112233")
    await simulator.wait_for_pushes()
    await hass.async_block_till_done(wait_background_tasks=True)
    simulator.reset_request_counts()
    simulator.end_call(ROOM_101)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert runtime.push.pushes_received >= 1
    # Read whether or not presence is pushed (a silent PRESENCE push is found this way).
    assert presence_reads(simulator) == {ROOM_101: 1}
    # Either way presence is the simulator's, call ended.
    held = runtime.presence.line_data(ROOM_101)
    assert held is not None and held.effective is not None
    assert held.effective.enhanced_activity == simulator.presence(ROOM_101)["current"]["enhancedActivity"] == "NONE"
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == "off"


@pytest.fixture
async def many_lines(hass: HomeAssistant, simulator: Simulator) -> tuple[Simulator, MockConfigEntry, int]:
    """An entry with 40 lines whose presence is polled (no push), interval 30 s."""
    count = 40
    simulator.reseed(seed_with_lines(count))
    entry = demo_entry(
        simulator.base_url,
        options={"presence_interval": 30},
        subentries_data=[line_subentry(FIRST_USER_ID + index, f"Line {index}") for index in range(count)],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return simulator, entry, count


async def test_presence_reads_spread_over_the_interval(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, many_lines: tuple[Simulator, MockConfigEntry, int]
) -> None:
    """40 lines, 30 s: read in shares of at most SPREAD_MAX_LINES, each line once per interval, not in one burst."""
    simulator, entry, count = many_lines
    presence = entry.runtime_data.presence
    assert not entry.runtime_data.push.healthy
    shares = math.ceil(count / SPREAD_MAX_LINES)
    assert presence.poll_interval == timedelta(seconds=30)
    assert presence.update_interval == timedelta(seconds=30) / shares
    simulator.reset_request_counts()
    seen: list[dict[int, int]] = []
    for _ in range(shares * 2):
        await travel(hass, freezer, timedelta(seconds=30) / shares)
        seen.append(presence_reads(simulator))
        simulator.reset_request_counts()
    for reads in seen:
        assert 0 < sum(reads.values()) <= SPREAD_MAX_LINES
        assert set(reads.values()) == {1}
    # Every line once per interval, twice in two.
    for cycle in (seen[:shares], seen[shares:]):
        lines: list[int] = [user_id for reads in cycle for user_id in reads]
        assert sorted(lines) == sorted(entry.runtime_data.lines)
    # Every line's presence is known.
    assert all(presence.line_available(user_id) for user_id in entry.runtime_data.lines)
    # A read of all (push lost, or asked) reads every line at once.
    await presence.async_refresh_all()
    assert sum(presence_reads(simulator).values()) == count


@pytest.mark.parametrize("push_options", [{"push_base_url": PUSH_BASE_URL, "presence_interval": 90}])
async def test_interval_option_and_push(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The option sets the poll interval while presence is not pushed."""
    simulator.presence_push_enabled = False
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    presence = config_entry.runtime_data.presence
    assert presence.update_interval == timedelta(seconds=90)
    simulator.reset_request_counts()
    await travel(hass, freezer, timedelta(seconds=60))
    assert presence_reads(simulator) == {}
    await travel(hass, freezer, timedelta(seconds=31))
    assert presence_reads(simulator) == {ROOM_101: 1, ROOM_102: 1}


async def _setup_while_starting(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    hass.set_state(CoreState.not_running)
    try:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        hass.set_state(CoreState.running)


async def test_start_not_held_up_by_presence_and_subscriptions(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """While Home Assistant starts, the entry is loaded before its presence is read and push subscribed."""
    simulator.add_fault("hang", seconds=60, count=None, path="/presence")
    simulator.add_fault("hang", seconds=60, count=None, path="/openapi/v1/subscriptions")
    await _setup_while_starting(hass, config_entry)
    assert config_entry.state is ConfigEntryState.LOADED
    runtime = config_entry.runtime_data
    # Features are there; presence and push are still on their way, in background tasks.
    assert hass.states.get("switch.room_101_do_not_disturb") is not None
    assert hass.states.get("switch.room_101_do_not_disturb").state != STATE_UNAVAILABLE
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == STATE_UNAVAILABLE
    assert runtime.push.subscriptions == {}
    assert not runtime.push.healthy
    # Unloading cancels them.
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.NOT_LOADED
    simulator.clear_faults()


async def test_started_in_the_background_then_complete(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    await _setup_while_starting(hass, config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    runtime = config_entry.runtime_data
    assert runtime.push.healthy
    assert runtime.push.presence_pushed
    assert runtime.presence.line_available(ROOM_101)
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == "off"
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == "on"
