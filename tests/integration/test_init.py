"""Set-up, unload and removal of an entry; not-ready, auth failures, rate limits; devices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState, ConfigFlowResult
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from syrupy.assertion import SnapshotAssertion

from custom_components.vtx_voip.api import VtxRateLimitError
from custom_components.vtx_voip.const import DOMAIN
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, WEBHOOK_ID, setup_entry, with_entry_id

FEATURES = "GET /openapi/v1/users/{user_id}/feat"
PRESENCE = "GET /openapi/v1/users/{user_id}/presence"


def _reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[ConfigFlowResult]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["handler"] == DOMAIN
        and flow["context"]["source"] == SOURCE_REAUTH
        and flow["context"]["entry_id"] == entry.entry_id
    ]


async def test_setup_and_unload(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """Set-up reads the server and both resources of each line; unload leaves the subscriptions at the API."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    counts = simulator.request_counts()
    assert counts["GET /openapi/v1/system/server"] == 1
    assert counts[FEATURES] == 2
    assert counts[PRESENCE] == 2
    runtime = entry.runtime_data
    assert set(runtime.lines) == {ROOM_101, ROOM_102}
    assert runtime.server.build_version == "7.7.2.12"
    assert {sub["resourceType"] for sub in simulator.subscriptions()} == {"FEATURE", "CALL_LOG", "PRESENCE"}

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    # The subscriptions are the entry's: they stay; the entities stay registered but unavailable.
    assert {sub["resourceType"] for sub in simulator.subscriptions()} == {"FEATURE", "CALL_LOG", "PRESENCE"}
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.room_102_presence").state == STATE_UNAVAILABLE


async def test_remove_entry_deletes_subscriptions(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Removing the entry deletes its subscriptions at the API, also those of earlier runs."""
    assert len(simulator.subscriptions()) == 3
    # A leftover of an earlier run of this entry (same webhook).
    await init_integration.runtime_data.client.create_subscription(
        resource_type="FEATURE",
        notification_url=f"http://127.0.0.1:8123/api/webhook/{WEBHOOK_ID}",
        expires=dt_util.utcnow() + timedelta(days=1),
        user_ids=[ROOM_101],
    )
    assert len(simulator.subscriptions()) == 4
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert simulator.subscriptions() == []


async def test_webhook_id_generated(hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry) -> None:
    """An entry without a webhook id gets one at set-up."""
    data = dict(config_entry.data)
    del data["webhook_id"]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=config_entry.title,
        unique_id=config_entry.unique_id,
        data=data,
        options=dict(config_entry.options),
    )
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    webhook_id = entry.data["webhook_id"]
    assert len(webhook_id) >= 32
    assert webhook_id != WEBHOOK_ID


async def test_not_ready_when_api_down(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """API down: set-up is retried, and works once the API is back."""
    simulator.fail_next(503, count=None)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "503" in (config_entry.reason or "")
    assert not _reauth_flows(hass, config_entry)

    simulator.clear_faults()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("switch.room_101_do_not_disturb").state == "off"


async def test_not_ready_when_lines_cannot_be_read(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The server answers but no line's features can be read: set-up is retried."""
    simulator.add_fault("status", status=503, count=None, path="/feat")
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert simulator.request_counts()["GET /openapi/v1/system/server"] == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failed_at_setup(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, status: int
) -> None:
    """Refused credentials (401) or application id (403) at set-up start a reauth flow."""
    simulator.fail_next(status)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    assert len(_reauth_flows(hass, config_entry)) == 1


async def test_auth_failed_during_refresh(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A 401 while polling starts a reauth flow and makes the entities unavailable."""
    assert not _reauth_flows(hass, init_integration)
    simulator.add_fault("status", status=401, count=None, path="/feat")
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert len(_reauth_flows(hass, init_integration)) == 1
    assert not init_integration.runtime_data.features.last_update_success
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_UNAVAILABLE


async def test_forbidden_on_every_line_is_an_auth_failure(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """403 on every line during a poll: the application id was revoked, reauth."""
    simulator.add_fault("status", status=403, count=None, path="/presence")
    await init_integration.runtime_data.presence.async_refresh()
    await hass.async_block_till_done()
    assert len(_reauth_flows(hass, init_integration)) == 1


async def test_forbidden_on_one_line_is_a_line_failure(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """403 on one line only (e.g. a line outside the account): that line is unavailable, no reauth."""
    simulator.add_fault("status", status=403, count=None, path=f"/users/{ROOM_102}/")
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert not _reauth_flows(hass, init_integration)
    assert hass.states.get("switch.room_102_do_not_disturb").state == STATE_UNAVAILABLE
    assert hass.states.get("switch.room_101_do_not_disturb").state == "off"


@pytest.mark.parametrize("coordinator", ["features", "presence"])
async def test_rate_limited_line_stays_alone(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    coordinator: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """429 with Retry-After on one line: only that line is stale (shown as confirmed at set-up, within its
    stale window), the client waits, then reads it alone."""
    runtime = init_integration.runtime_data
    target = getattr(runtime, coordinator)
    path = FEATURES if coordinator == "features" else PRESENCE
    # With push working, the usual interval is 15 minutes.
    assert target.update_interval == timedelta(minutes=15)
    kept = target.line_data(ROOM_102)
    simulator.add_fault("status", status=429, retry_after=120, count=1, path=f"/users/{ROOM_101}/")
    await target.async_refresh()
    assert target.last_update_success
    assert target.line_available(ROOM_101)
    assert target.line_available(ROOM_102)
    assert target.line_data(ROOM_102) == kept
    assert runtime.client.pause_remaining() > 100
    simulator.reset_request_counts()

    freezer.tick(timedelta(seconds=118))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.request_counts().get(path, 0) == 0

    freezer.tick(timedelta(seconds=3))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    # Only the stale line was read again, and it is back.
    assert simulator.request_counts()[path] == 1
    assert target.line_available(ROOM_101)


async def test_rate_limited_client_sends_nothing_until_retry_after(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """While the API's Retry-After runs, polls send no request and every line keeps its data."""
    runtime = init_integration.runtime_data
    simulator.add_fault("status", status=429, retry_after=300, count=1, path="/system/server")
    with pytest.raises(VtxRateLimitError):
        await runtime.client.get_server_info()
    before = {state.entity_id: state.state for state in hass.states.async_all("switch")}
    simulator.reset_request_counts()
    await runtime.features.async_refresh()
    await runtime.presence.async_refresh()
    await hass.async_block_till_done()
    assert simulator.total_requests() == 0
    assert runtime.features.last_update_success
    assert {state.entity_id: state.state for state in hass.states.async_all("switch")} == before
    assert STATE_UNAVAILABLE not in before.values()


async def test_devices(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """One service device for the account, one device per line tied to its sub-entry."""
    entry = with_entry_id(config_entry)
    await setup_entry(hass, entry)
    account = device_registry.async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
    assert account is not None
    assert account.entry_type is dr.DeviceEntryType.SERVICE
    assert account.sw_version == "7.7.2.12"
    assert account.config_subentry_id is None
    assert account == snapshot(name="account")
    subentries = {int(sub.data["user_id"]): sub.subentry_id for sub in entry.subentries.values()}
    for user_id in (ROOM_101, ROOM_102):
        line = device_registry.async_get_device_by_identifier((DOMAIN, str(user_id)), entry.entry_id)
        assert line is not None
        assert line.config_entry_id == entry.entry_id
        assert line.config_subentry_id == subentries[user_id]
        assert line.via_device_id == account.id
        assert line.serial_number == str(user_id)
        assert line == snapshot(name=f"line_{user_id}")
        # Every entity of the line sits on its device and in its sub-entry.
        entities = er.async_entries_for_device(entity_registry, line.id, include_disabled_entities=True)
        assert entities
        assert {entity.config_subentry_id for entity in entities} == {subentries[user_id]}
    account_entities = er.async_entries_for_device(entity_registry, account.id)
    assert {entity.unique_id for entity in account_entities} == {
        f"{entry.entry_id}_api_version",
        f"{entry.entry_id}_last_push",
        f"{entry.entry_id}_push",
    }


async def _count_setups(hass: HomeAssistant, entry: MockConfigEntry, flow: Any) -> int:
    """Run ``flow`` and return how many times the entry was set up meanwhile."""
    from custom_components import vtx_voip

    with patch.object(vtx_voip, "async_setup_entry", wraps=vtx_voip.async_setup_entry) as setup:
        await flow()
        await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    return setup.call_count


async def test_reauth_reloads_exactly_once(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A completed reauth reloads the entry once, and Home Assistant reports nothing about it."""
    simulator.password = "new-password"

    async def flow() -> None:
        result = await init_integration.start_reauth_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"password": "new-password", "application_id": init_integration.data["application_id"]}
        )
        assert result["reason"] == "reauth_successful"

    assert await _count_setups(hass, init_integration, flow) == 1
    assert "update listener" not in caplog.text


async def test_reconfigure_reloads_exactly_once(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A completed reconfigure (another URL form) reloads the entry once."""

    async def flow() -> None:
        result = await init_integration.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                "url": simulator.base_url.rstrip("/") + "/",
                "username": init_integration.data["username"],
                "password": "other-password",
                "application_id": init_integration.data["application_id"],
            },
        )
        assert result["reason"] == "reconfigure_successful"

    simulator.password = "other-password"
    assert await _count_setups(hass, init_integration, flow) == 1
    assert "update listener" not in caplog.text


async def test_options_change_reloads_nothing(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A new push base URL applies in place: no reload (tests/integration/test_options.py has the rest)."""

    async def flow() -> None:
        result = await hass.config_entries.options.async_init(init_integration.entry_id)
        result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "settings"})
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"push_base_url": "http://127.0.0.1:8124"}
        )
        assert result["type"] == "create_entry"

    assert await _count_setups(hass, init_integration, flow) == 0
