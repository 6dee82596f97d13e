"""Options apply in place: no reload, no entity unavailable, no subscription touched unless what it covers changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components import vtx_voip
from custom_components.vtx_voip.billing.tariffs import Tariffs
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102

PRESENCE_READS = "GET /openapi/v1/users/{user_id}/presence"
TARIFF_CLASSES = ("internal", "national_fixed", "national_mobile", "international", "special")


@pytest.fixture
def unavailable_writes(hass: HomeAssistant) -> Generator[list[str]]:
    """The entity ids of this integration written unavailable while the test runs."""
    written: list[str] = []

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and new.state == STATE_UNAVAILABLE and "room_10" in event.data["entity_id"]:
            written.append(event.data["entity_id"])

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
    yield written
    unsub()


async def _count_setups(hass: HomeAssistant, entry: MockConfigEntry, flow: Callable[[], Awaitable[None]]) -> int:
    """Run ``flow`` and return how many times the entry was set up meanwhile."""
    with patch.object(vtx_voip, "async_setup_entry", wraps=vtx_voip.async_setup_entry) as setup:
        await flow()
        await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    return setup.call_count


async def _settings(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> None:
    """Run the options' settings step with what is set now, changed by ``changes``."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "settings"})
    given = {
        "push_base_url": entry.options.get("push_base_url", ""),
        "enterprise_discovery": entry.options.get("enterprise_discovery", True),
        "presence_interval": entry.options.get("presence_interval", 30),
        **changes,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], given)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def _tariffs(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> None:
    """Run the options' tariffs step: national fixed at 0.50 a minute, and ``changes``."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "tariffs"})
    given: dict[str, Any] = {
        cls_: {"price_per_minute": 0, "billing": "per_minute", "minimum_seconds": 0, "setup_price": 0}
        for cls_ in TARIFF_CLASSES
    }
    given["national_fixed"]["price_per_minute"] = 0.5
    result = await hass.config_entries.options.async_configure(result["flow_id"], {**given, **changes})
    assert result["type"] is FlowResultType.CREATE_ENTRY


def _subscriptions(simulator: Simulator) -> dict[str, dict[str, Any]]:
    return {sub["resourceType"]: sub for sub in simulator.subscriptions()}


async def test_options_apply_in_place(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, unavailable_writes: list[str]
) -> None:
    """Tariffs, retention, presence interval and SIP domain: applied to the running entry, nothing reloaded."""
    entry = init_integration
    runtime = entry.runtime_data
    before = {sub["id"] for sub in simulator.subscriptions()}

    async def flow() -> None:
        await _settings(hass, entry, presence_interval=120, sip_domain="pbx.example.ch")
        await _tariffs(hass, entry, bill_incoming=True, retention_days=30)

    assert await _count_setups(hass, entry, flow) == 0
    assert entry.runtime_data is runtime
    assert unavailable_writes == []
    # What they cover did not change: the subscriptions are the same ones.
    assert {sub["id"] for sub in simulator.subscriptions()} == before
    assert entry.options["sip_domain"] == "pbx.example.ch"
    assert runtime.stays.tariffs == Tariffs.from_options(entry.options)
    assert runtime.stays.tariffs.bill_incoming
    assert runtime.calls.retention == timedelta(days=30)
    assert runtime.presence.configured_interval == timedelta(seconds=120)
    # Push still works as before.
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON


async def test_presence_interval_in_place(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Presence polled (not pushed): a new interval is the one the next read waits for."""
    simulator.presence_push_enabled = False
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    presence = config_entry.runtime_data.presence
    assert presence.update_interval == timedelta(seconds=30)

    await _settings(hass, config_entry, presence_interval=300)
    await hass.async_block_till_done()
    assert presence.update_interval == timedelta(seconds=300)
    simulator.reset_request_counts()
    now = dt_util.utcnow()
    async_fire_time_changed(hass, now + timedelta(seconds=90))
    await hass.async_block_till_done(wait_background_tasks=True)
    # At the old 30 s the lines would have been read three times by now.
    assert simulator.request_counts().get(PRESENCE_READS, 0) == 0
    async_fire_time_changed(hass, now + timedelta(seconds=301))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.request_counts().get(PRESENCE_READS, 0) == 2


async def test_discovery_off_in_place(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, unavailable_writes: list[str]
) -> None:
    """Discovery turned off: only the FEATURE subscription changes (enterprise-wide to the lines'), no reload."""
    entry = init_integration
    before = _subscriptions(simulator)
    assert before["FEATURE"].get("enterpriseNames")
    assert entry.runtime_data.push.feature_by_enterprise

    async def flow() -> None:
        await _settings(hass, entry, enterprise_discovery=False)

    assert await _count_setups(hass, entry, flow) == 0
    assert unavailable_writes == []
    after = _subscriptions(simulator)
    assert set(after) == set(before)
    assert after["FEATURE"]["id"] != before["FEATURE"]["id"]
    assert not after["FEATURE"].get("enterpriseNames")
    assert {key: sub["id"] for key, sub in after.items() if key != "FEATURE"} == {
        key: sub["id"] for key, sub in before.items() if key != "FEATURE"
    }
    assert not entry.runtime_data.push.feature_by_enterprise
    simulator.set_dnd(ROOM_102, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_102_do_not_disturb").state == STATE_ON


async def test_push_base_url_in_place(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, unavailable_writes: list[str]
) -> None:
    """A new push base URL: every subscription replaced by one to the new URL (new before old), no reload."""
    entry = init_integration
    before = _subscriptions(simulator)

    async def flow() -> None:
        await _settings(hass, entry, push_base_url="http://127.0.0.1:8124")

    assert await _count_setups(hass, entry, flow) == 0
    assert unavailable_writes == []
    after = _subscriptions(simulator)
    assert set(after) == set(before)
    assert {sub["notificationUrl"] for sub in after.values()} == {
        f"http://127.0.0.1:8124/api/webhook/{entry.data['webhook_id']}"
    }
    assert not {sub["id"] for sub in after.values()} & {sub["id"] for sub in before.values()}
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON


async def test_account_change_still_reloads(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The account's data (here the password) is what reloads; the subscriptions stay across it."""
    entry = init_integration
    before = {sub["id"] for sub in simulator.subscriptions()}
    simulator.password = "new-password"

    async def flow() -> None:
        hass.config_entries.async_update_entry(entry, data={**entry.data, "password": "new-password"})

    assert await _count_setups(hass, entry, flow) == 1
    assert {sub["id"] for sub in simulator.subscriptions()} == before
