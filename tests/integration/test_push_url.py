"""The notification URL: push base URL option, Home Assistant Cloud cloudhook, external URL, none.

The entry here has no push base URL option unless a test gives one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.const import FEATURE_POLL_INTERVAL, PRESENCE_POLL_INTERVAL
from custom_components.vtx_voip.push import CALL_FALLBACK_INTERVAL
from vtx_simulator import Simulator

from .conftest import CLOUDHOOK_URL, ROOM_101, WEBHOOK_ID
from .test_push import issue, push_entity, settle, travel

EXTERNAL = "https://ha.example.com"
EXTERNAL_URL = f"{EXTERNAL}/api/webhook/{WEBHOOK_ID}"


@pytest.fixture
def push_options() -> dict[str, Any]:
    """No push base URL."""
    return {}


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def urls(simulator: Simulator) -> set[str]:
    """The notification URLs of the live subscriptions."""
    return {sub["notificationUrl"] for sub in simulator.subscriptions()}


async def test_no_url_repair_issue_and_polling(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Without any URL: a repair issue, no subscription, features every 60 s, presence every 30 s."""
    await _setup(hass, config_entry)
    assert simulator.subscriptions() == []
    found = issue(hass, config_entry, "no_push_url")
    assert found is not None
    assert found.translation_key == "no_push_url"
    runtime = config_entry.runtime_data
    assert runtime.features.update_interval == FEATURE_POLL_INTERVAL
    assert runtime.presence.update_interval == PRESENCE_POLL_INTERVAL
    assert hass.states.get(push_entity(hass, config_entry)).state == STATE_OFF

    # Changes arrive by polling.
    simulator.set_dnd(ROOM_101, True)
    simulator.start_call(ROOM_101, number="+41791112233")
    await travel(hass, freezer, PRESENCE_POLL_INTERVAL)
    assert hass.states.get("sensor.room_101_presence").state == "on_call"
    await travel(hass, freezer, FEATURE_POLL_INTERVAL - PRESENCE_POLL_INTERVAL)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    # And so do calls, from the call history.
    events: list[Event] = []
    hass.bus.async_listen("vtx_voip_call", events.append)
    simulator.end_call(ROOM_101)
    await travel(hass, freezer, CALL_FALLBACK_INTERVAL)
    assert [event.data["type"] for event in events] == ["incoming_call"]
    await travel(hass, freezer, CALL_FALLBACK_INTERVAL)
    assert len(events) == 1


async def test_external_url(hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry) -> None:
    """With an external URL (and no cloud) the API pushes there."""
    await hass.config.async_update(external_url=EXTERNAL)
    await _setup(hass, config_entry)
    assert urls(simulator) == {EXTERNAL_URL}
    assert len(simulator.subscriptions()) == 3
    assert issue(hass, config_entry, "no_push_url") is None
    push = config_entry.runtime_data.push
    assert push is not None
    assert push.url_source == "external_url"
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON


async def test_option_wins_over_cloud_and_external(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, cloud: dict[str, Any]
) -> None:
    """The push base URL option is used even with a cloud subscription and an external URL."""
    await hass.config.async_update(external_url=EXTERNAL)
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"push_base_url": "https://proxy.example.com/"})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert urls(simulator) == {f"https://proxy.example.com/api/webhook/{WEBHOOK_ID}"}
    cloud["create"].assert_not_called()


async def test_external_url_set_later_reloads(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Setting the external URL afterwards brings push without a manual reload."""
    await _setup(hass, config_entry)
    assert simulator.subscriptions() == []
    await hass.config.async_update(external_url=EXTERNAL)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert urls(simulator) == {EXTERNAL_URL}
    assert issue(hass, config_entry, "no_push_url") is None
    assert hass.states.get(push_entity(hass, config_entry)).state == STATE_ON
    # Another change of the core configuration does not reload again.
    ids = {sub["id"] for sub in simulator.subscriptions()}
    await hass.config.async_update(location_name="Hotel")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert {sub["id"] for sub in simulator.subscriptions()} == ids


async def test_cloudhook(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, cloud: dict[str, Any]
) -> None:
    """With an active cloud subscription the API pushes to a cloudhook, which reaches the entry."""
    await hass.config.async_update(external_url=EXTERNAL)
    await _setup(hass, config_entry)
    cloud["create"].assert_awaited_with(hass, WEBHOOK_ID)
    assert urls(simulator) == {CLOUDHOOK_URL}
    push = config_entry.runtime_data.push
    assert push is not None
    assert push.url_source == "cloudhook"
    # A push through the cloud (a request without a socket) is applied.
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert [delivery["status"] for delivery in simulator.deliveries()] == [200]
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert push.pushes_received == 1


async def test_cloud_without_subscription_uses_external_url(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, cloud: dict[str, Any]
) -> None:
    """Cloud loaded but not subscribed: no cloudhook, the external URL."""
    await hass.config.async_update(external_url=EXTERNAL)
    with patch.object(cloud["module"], "async_active_subscription", return_value=False):
        await _setup(hass, config_entry)
    cloud["create"].assert_not_called()
    assert urls(simulator) == {EXTERNAL_URL}


async def test_cloud_connected_later_reloads(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, cloud: dict[str, Any]
) -> None:
    """Cloud not connected at start-up: no URL; once connected, the entry moves to a cloudhook."""
    module = cloud["module"]
    cloud["create"].side_effect = module.CloudNotConnected
    await _setup(hass, config_entry)
    assert simulator.subscriptions() == []
    assert issue(hass, config_entry, "no_push_url") is not None
    # Disconnections change nothing.
    async_dispatcher_send(hass, module.SIGNAL_CLOUD_CONNECTION_STATE, module.CloudConnectionState.CLOUD_DISCONNECTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.subscriptions() == []
    cloud["create"].side_effect = None
    async_dispatcher_send(hass, module.SIGNAL_CLOUD_CONNECTION_STATE, module.CloudConnectionState.CLOUD_CONNECTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert urls(simulator) == {CLOUDHOOK_URL}
    assert issue(hass, config_entry, "no_push_url") is None


async def test_remove_entry_deletes_subscriptions_and_cloudhook(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, cloud: dict[str, Any]
) -> None:
    """Removing the entry deletes its subscriptions (also cloudhook ones left over) and cloudhook."""
    await _setup(hass, config_entry)
    assert len(simulator.subscriptions()) == 3
    # The API cannot be reached while unloading: the subscriptions stay behind.
    simulator.add_fault("status", count=None, status=503, method="DELETE")
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert len(simulator.subscriptions()) == 3
    simulator.clear_faults()
    cloud["delete"].assert_not_called()

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert simulator.subscriptions() == []
    cloud["delete"].assert_awaited_once_with(hass, WEBHOOK_ID)


async def test_remove_entry_api_down(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    cloud: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Removal with the API down still deletes the cloudhook and says what was left."""
    await _setup(hass, config_entry)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    simulator.add_fault("status", count=None, status=503)
    cloud["create"].side_effect = cloud["module"].CloudNotAvailable
    cloud["delete"].side_effect = cloud["module"].CloudNotAvailable
    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert "Could not delete the push subscriptions of a removed entry" in caplog.text
    cloud["delete"].assert_awaited_once_with(hass, WEBHOOK_ID)


async def test_remove_entry_without_cloud_subscription(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, cloud: dict[str, Any]
) -> None:
    """Removal with the cloud loaded but unsubscribed: subscriptions of others stay, 404s are fine."""
    await hass.config.async_update(external_url=EXTERNAL)
    with patch.object(cloud["module"], "async_active_subscription", return_value=False):
        await _setup(hass, config_entry)
        assert urls(simulator) == {EXTERNAL_URL}
        simulator.add_fault("status", count=None, status=503, method="DELETE")
        assert await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()
        foreign = simulator.state.create_subscription(
            {
                "resourceType": "FEATURE",
                "notificationUrl": "https://other.example.com/hook",
                "expires": (dt_util.utcnow() + timedelta(days=1)).isoformat(),
                "userIds": [ROOM_101],
            }
        ).id
        # The API says the leftovers are already gone when asked to delete them.
        simulator.clear_faults()
        simulator.add_fault("status", count=None, status=404, method="DELETE")
        await hass.config_entries.async_remove(config_entry.entry_id)
        await hass.async_block_till_done()
    cloud["create"].assert_not_called()
    cloud["delete"].assert_awaited_once_with(hass, WEBHOOK_ID)
    assert foreign in {sub["id"] for sub in simulator.subscriptions()}
