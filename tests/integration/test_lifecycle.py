"""Lifecycle regressions: set-up failures leave nothing behind, lines change in place, timers stop.

Each test here failed on the code before the lifecycle restructure (f3ca2e5) and passes
since (ddc6d6f and later), unless its docstring says it guards a behaviour that already
worked. Home Assistant runs for real against the simulator over loopback HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import timedelta
import logging
from types import MappingProxyType
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import EVENT_STATE_CHANGED, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.vtx_voip.const import DOMAIN, FEATURE_POLL_INTERVAL
from custom_components.vtx_voip.lines.manager import REVERT_RETRY_DELAY
from custom_components.vtx_voip.push import CALL_FALLBACK_INTERVAL, PushManager
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, WEBHOOK_ID

ROOM_103 = 176133  # a demo line of the simulator that the entry does not have
LOCAL_URL = "http://127.0.0.1:8123"
CFU = "CALL_FORWARD_UNCONDITIONAL"
CFU_DATA = "callForwardUnconditionalData"
CFU_SWITCH = "switch.room_101_forward_all_calls"
DND_101 = "switch.room_101_do_not_disturb"
DND_102 = "switch.room_102_do_not_disturb"
MOBILE = "+41791234567"
PUT_FEATURE = "PUT /openapi/v1/feat/{feature_id}"
# How long the simulator holds the GET of a revert, so that it is in flight during an unload.
HOLD = 0.3


@pytest.fixture(autouse=True)
async def pushes_settle(simulator: Simulator) -> AsyncGenerator[None]:
    """Let the simulator's last pushes reach Home Assistant before tearing down."""
    yield
    simulator.clear_faults()
    await simulator.wait_for_pushes()


async def settle(hass: HomeAssistant, simulator: Simulator) -> None:
    """Let every push be delivered and every task (background ones too) finish."""
    await simulator.wait_for_pushes()
    await hass.async_block_till_done(wait_background_tasks=True)


async def travel(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Move the clock forward and run what fell due."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def webhook_handlers(hass: HomeAssistant) -> dict[str, Any]:
    """The webhook component's registered handlers, by webhook id."""
    return hass.data.get("webhook", {})


def feature_subscriptions(simulator: Simulator) -> list[Any]:
    """The simulator's live FEATURE subscriptions (its own model)."""
    return [sub for sub in simulator.state.subscriptions.values() if sub.resource_type == "FEATURE"]


def line_subscriptions(simulator: Simulator) -> list[Any]:
    """The simulator's live CALL_LOG subscriptions: by userIds (FEATURE covers the enterprise)."""
    return [sub for sub in simulator.state.subscriptions.values() if sub.resource_type == "CALL_LOG"]


def subentry_id(entry: MockConfigEntry, user_id: int) -> str:
    """The sub-entry of a line."""
    return next(sub.subentry_id for sub in entry.subentries.values() if int(sub.data["user_id"]) == user_id)


def line_device(hass: HomeAssistant, entry: MockConfigEntry, user_id: int) -> dr.DeviceEntry | None:
    """A line's device, if any."""
    return dr.async_get(hass).async_get_device_by_identifier((DOMAIN, str(user_id)), entry.entry_id)


def line_entities(hass: HomeAssistant, entry: MockConfigEntry, user_id: int) -> list[er.RegistryEntry]:
    """A line's registered entities."""
    return [
        entity
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if entity.unique_id.startswith(f"{user_id}_")
    ]


def cfu(simulator: Simulator) -> tuple[str, str]:
    """Room 101's unconditional forward on the simulator: status and destination."""
    feature = simulator.feature(ROOM_101, CFU)
    return str(feature["status"]), str(feature[CFU_DATA]["destinationUri"])


async def set_forward(hass: HomeAssistant, **data: Any) -> Any:
    """Call set_call_forward on Room 101's unconditional forward."""
    return await hass.services.async_call(
        DOMAIN,
        "set_call_forward",
        {"forward": "unconditional", **data},
        target={"entity_id": CFU_SWITCH},
        blocking=True,
        return_response=True,
    )


async def start_revert_in_flight(hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory) -> None:
    """Set a timed forward, let its undo fall due and leave it in flight.

    The simulator holds the undo's GET for ``HOLD`` seconds and refuses every PUT (503) so
    that an undo finishing after that would schedule a retry.
    """
    until = dt_util.utcnow() + timedelta(minutes=1)
    await set_forward(hass, destination=MOBILE, until=until.isoformat())
    assert cfu(simulator)[0] == "ACTIVE"
    await settle(hass, simulator)
    simulator.add_fault("hang", seconds=HOLD, method="GET", path="/openapi/v1/feat/")
    simulator.add_fault("status", status=503, count=None, method="PUT")
    freezer.move_to(until + timedelta(seconds=1))
    async_fire_time_changed(hass)
    for _ in range(10):  # the undo starts and sends its GET
        await asyncio.sleep(0)


async def pass_hold(freezer: FrozenDateTimeFactory) -> None:
    """Let the simulator's held answer go: the frozen clock moves past it, the loop runs."""
    freezer.tick(timedelta(seconds=HOLD * 2))
    for _ in range(50):
        await asyncio.sleep(0)


# --- 1. Set-up failing midway --------------------------------------------------------------


@pytest.mark.parametrize("error", [TimeoutError, ValueError])
async def test_cloudhook_error_falls_back_to_the_external_url(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    cloud: dict[str, Any],
    error: type[Exception],
) -> None:
    """A cloudhook that cannot be made, for whatever reason, falls back to the external URL."""
    await async_process_ha_core_config(hass, {"external_url": LOCAL_URL})
    cloud["create"].side_effect = error("cloud says no")
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)

    assert config_entry.state is ConfigEntryState.LOADED
    cloud["create"].assert_awaited()
    push = config_entry.runtime_data.push
    assert push.url_source == "external_url"
    assert {sub["notificationUrl"] for sub in simulator.subscriptions()} == {f"{LOCAL_URL}/api/webhook/{WEBHOOK_ID}"}
    # Push works through that URL.
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get(DND_101).state == STATE_ON
    assert push.pushes_received == 1


@pytest.mark.parametrize("error", [TimeoutError, ValueError])
async def test_cloudhook_error_without_external_url_polls(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    cloud: dict[str, Any],
    error: type[Exception],
) -> None:
    """A cloudhook error and no external URL: the entry loads, polls and raises no_push_url."""
    cloud["create"].side_effect = error("cloud says no")
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)

    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.runtime_data.push.notification_url is None
    assert config_entry.runtime_data.features.update_interval == FEATURE_POLL_INTERVAL
    assert simulator.subscriptions() == []
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"no_push_url_{config_entry.entry_id}") is not None
    assert hass.states.get(DND_101).state == STATE_OFF


async def test_failed_setup_leaves_nothing_registered(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A set-up failing midway unregisters the webhook and stops every timer; a reload then works."""
    config_entry.add_to_hass(hass)
    with patch.object(PushManager, "_async_notification_url", AsyncMock(side_effect=RuntimeError("boom"))):
        assert not await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR

    # No poll, retry or call history read runs for the failed entry; the webhook, held for
    # a retry of the set-up, is let go when none comes.
    simulator.reset_request_counts()
    await travel(hass, freezer, FEATURE_POLL_INTERVAL + CALL_FALLBACK_INTERVAL + timedelta(minutes=10))
    assert simulator.request_counts() == {}
    assert WEBHOOK_ID not in webhook_handlers(hass)

    await hass.config_entries.async_reload(config_entry.entry_id)
    await settle(hass, simulator)
    assert config_entry.state is ConfigEntryState.LOADED
    assert WEBHOOK_ID in webhook_handlers(hass)
    assert hass.states.get(DND_101).state == STATE_OFF


# --- 2. Line sub-entries change in place ----------------------------------------------------


async def test_lines_change_in_place(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Adding, renaming and removing lines touches only those lines; nothing is reloaded."""
    entry = init_integration
    runtime = entry.runtime_data
    room_101_ids = {entity.entity_id for entity in line_entities(hass, entry, ROOM_101)}
    assert DND_101 in room_101_ids
    room_102_ids = {entity.entity_id for entity in line_entities(hass, entry, ROOM_102)}
    events: list[Event[Any]] = []
    hass.bus.async_listen(EVENT_STATE_CHANGED, events.append)

    # Added: device, entities with states, push for its userId.
    assert hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType({"user_id": ROOM_103, "name": "Room 103"}),
            subentry_type="line",
            title="Room 103",
            unique_id=str(ROOM_103),
        ),
    )
    await settle(hass, simulator)
    device = line_device(hass, entry, ROOM_103)
    assert device is not None
    assert device.name == "Room 103"
    assert line_entities(hass, entry, ROOM_103)
    assert hass.states.get("switch.room_103_do_not_disturb").state == STATE_OFF
    [feature_sub] = line_subscriptions(simulator)
    assert set(feature_sub.user_ids) == {ROOM_101, ROOM_102, ROOM_103}
    simulator.set_dnd(ROOM_103, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_103_do_not_disturb").state == STATE_ON

    # Renamed: device and friendly names follow, entity ids stay.
    subentry = entry.subentries[subentry_id(entry, ROOM_102)]
    assert hass.config_entries.async_update_subentry(
        entry, subentry, title="Suite 2", data={"user_id": ROOM_102, "name": "Suite 2"}
    )
    await settle(hass, simulator)
    device = line_device(hass, entry, ROOM_102)
    assert device is not None
    assert device.name == "Suite 2"
    assert {entity.entity_id for entity in line_entities(hass, entry, ROOM_102)} == room_102_ids
    state = hass.states.get(DND_102)
    assert state.state == STATE_OFF
    assert state.attributes["friendly_name"] == "Suite 2 Do not disturb"

    # Removed: its device, entities and states go; push covers the rest.
    assert hass.config_entries.async_remove_subentry(entry, subentry_id(entry, ROOM_102))
    await settle(hass, simulator)
    assert line_device(hass, entry, ROOM_102) is None
    assert line_entities(hass, entry, ROOM_102) == []
    assert all(hass.states.get(entity_id) is None for entity_id in room_102_ids)
    [feature_sub] = line_subscriptions(simulator)
    assert set(feature_sub.user_ids) == {ROOM_101, ROOM_103}

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is runtime
    assert set(runtime.lines) == {ROOM_101, ROOM_103}
    assert [event.data["entity_id"] for event in events if event.data["entity_id"] in room_101_ids] == []
    assert [
        event.data["entity_id"]
        for event in events
        if event.data["new_state"] is not None and event.data["new_state"].state == STATE_UNAVAILABLE
    ] == []
    # Room 101 still works, by push.
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get(DND_101).state == STATE_ON


async def test_line_given_another_user_id(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The same sub-entry, another userId: old device gone, new one present, no reload."""
    entry = init_integration
    runtime = entry.runtime_data
    subentry = entry.subentries[subentry_id(entry, ROOM_102)]
    events: list[Event[Any]] = []
    hass.bus.async_listen(EVENT_STATE_CHANGED, events.append)
    assert hass.config_entries.async_update_subentry(
        entry, subentry, unique_id=str(ROOM_103), data={"user_id": ROOM_103, "name": "Room 102"}
    )
    await settle(hass, simulator)

    assert line_device(hass, entry, ROOM_102) is None
    assert line_entities(hass, entry, ROOM_102) == []
    device = line_device(hass, entry, ROOM_103)
    assert device is not None
    assert device.config_subentry_id == subentry.subentry_id
    assert line_entities(hass, entry, ROOM_103)
    assert entry.runtime_data is runtime
    assert set(runtime.lines) == {ROOM_101, ROOM_103}
    [feature_sub] = line_subscriptions(simulator)
    assert set(feature_sub.user_ids) == {ROOM_101, ROOM_103}
    assert [event.data["entity_id"] for event in events if event.data["entity_id"].startswith("switch.room_101_")] == []


# --- 3. One line failing during a poll -----------------------------------------------------


async def test_one_line_failing_keeps_the_other(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A 5xx on one line's read: the other line is read as usual; that line keeps what was confirmed (its stale
    window), logged once at INFO, and once back."""
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    features = init_integration.runtime_data.features
    simulator.drop_pushes()
    simulator.set_dnd(ROOM_101, True)  # only a poll can bring it
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_102}/feat")
    await features.async_refresh()
    await hass.async_block_till_done()
    await features.async_refresh()
    await hass.async_block_till_done()

    assert hass.states.get(DND_101).state == STATE_ON
    assert hass.states.get(DND_102).state == STATE_OFF
    lost = [r for r in caplog.records if r.getMessage().startswith(f"Line {ROOM_102}: reading its features failed")]
    assert [r.levelno for r in lost] == [logging.INFO]

    simulator.clear_faults()
    await features.async_refresh()
    await hass.async_block_till_done()
    await features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(DND_102).state == STATE_OFF
    back = [r for r in caplog.records if r.getMessage() == f"Line {ROOM_102}: reading its features works again"]
    assert [r.levelno for r in back] == [logging.INFO]


# --- 4. 403 and 401 on a write ---------------------------------------------------------------


async def test_forbidden_write_is_no_reauth(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A 403 on a write: a translated write_forbidden error, no reauth flow, entry stays loaded."""
    simulator.add_fault("status", status=403, method="PUT")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": DND_101}, blocking=True)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "write_forbidden"
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(DND_101).state == STATE_OFF


async def test_unauthorized_write_starts_one_reauth(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A 401 on a write starts exactly one reauth flow (guards what already worked)."""
    simulator.add_fault("status", status=401, method="PUT")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": DND_101}, blocking=True)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


# --- 5. A destination on a forward without a data block ------------------------------------


async def test_destination_on_a_forward_without_data_block(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """set_call_forward with destination on a forward the API lists without data: translated error."""
    simulator.drop_pushes()
    feature = simulator.feature(ROOM_101, CFU)
    del feature[CFU_DATA]
    simulator.state.features[feature["id"]] = feature
    simulator.reset_request_counts()
    with pytest.raises(ServiceValidationError) as err:
        await set_forward(hass, destination=MOBILE)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "destination_not_settable"
    assert PUT_FEATURE not in simulator.request_counts()


# --- 6. Timed forwards and the entry's lifecycle -------------------------------------------


async def test_revert_in_flight_at_unload_is_not_retried(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """An undo in flight when the entry unloads is dropped: no retry ever reaches the API."""
    await start_revert_in_flight(hass, simulator, freezer)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    await pass_hold(freezer)  # the held GET is answered by now
    await hass.async_block_till_done(wait_background_tasks=True)
    simulator.clear_faults()
    simulator.reset_request_counts()

    await travel(hass, freezer, REVERT_RETRY_DELAY + timedelta(minutes=1))
    await travel(hass, freezer, REVERT_RETRY_DELAY * 4)
    assert simulator.total_requests() == 0
    assert cfu(simulator) == ("ACTIVE", MOBILE)
    # The undo stays stored for the next set-up.
    stored = hass_storage[f"{DOMAIN}.{init_integration.entry_id}.lines"]["data"]
    assert [(item["user_id"], item["feature"]) for item in stored["reverts"]] == [(ROOM_101, CFU)]


async def test_pending_revert_across_reload_is_written_once(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A pending undo survives a reload and is written exactly once, by the new entry."""
    entry = init_integration
    status, original = cfu(simulator)
    until = dt_util.utcnow() + timedelta(hours=1)
    await set_forward(hass, destination=MOBILE, until=until.isoformat())
    await settle(hass, simulator)
    await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass, simulator)
    assert entry.state is ConfigEntryState.LOADED
    simulator.reset_request_counts()

    await travel(hass, freezer, timedelta(hours=1, minutes=1))
    await settle(hass, simulator)
    await travel(hass, freezer, REVERT_RETRY_DELAY * 3)
    assert simulator.request_counts().get(PUT_FEATURE) == 1
    assert cfu(simulator) == (status, original)
    assert entry.runtime_data.manager.store.reverts == []


async def test_revert_in_flight_at_reload_is_written_by_one_manager(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """An undo in flight during a reload: only the new entry retries it, once; later settings stay."""
    entry = init_integration
    status, original = cfu(simulator)
    await start_revert_in_flight(hass, simulator, freezer)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await pass_hold(freezer)  # the held GET is answered by now (its PUT refused)
    await settle(hass, simulator)
    assert entry.state is ConfigEntryState.LOADED
    simulator.clear_faults()
    simulator.reset_request_counts()

    await travel(hass, freezer, REVERT_RETRY_DELAY + timedelta(minutes=1))
    await settle(hass, simulator)
    assert simulator.request_counts().get(PUT_FEATURE) == 1
    assert cfu(simulator) == (status, original)
    assert entry.runtime_data.manager.store.reverts == []

    # A permanent forward set now is not undone by anything left from before the reload.
    await set_forward(hass, destination=MOBILE)
    await settle(hass, simulator)
    await travel(hass, freezer, REVERT_RETRY_DELAY * 4)
    assert cfu(simulator) == ("ACTIVE", MOBILE)
