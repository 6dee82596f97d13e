"""The VTX VoIP integration: phone lines of a VTX virtual PBX in Home Assistant."""

from __future__ import annotations

import asyncio

from homeassistant.components import webhook
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import VtxAuthenticationError, VtxClient, VtxError
from .calls import CallTracker
from .const import (
    CONF_APPLICATION_ID,
    CONF_LINE_NAME,
    CONF_USER_ID,
    CONF_WEBHOOK_ID,
    DOMAIN,
    FEATURE_POLL_INTERVAL,
    MAX_CONCURRENT_REQUESTS,
    PRESENCE_POLL_INTERVAL,
    REQUEST_TIMEOUT,
    SUBENTRY_TYPE_LINE,
)
from .coordinator import LineConfig, VtxConfigEntry, VtxFeatureCoordinator, VtxPresenceCoordinator, VtxRuntimeData
from .entity import account_device_info
from .lines import LineManager
from .linestore import LineStore
from .push import PushManager, async_remove_subscriptions
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TEXT,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions."""
    async_setup_services(hass)
    return True


def _lines(entry: VtxConfigEntry) -> dict[int, LineConfig]:
    return {
        int(subentry.data[CONF_USER_ID]): LineConfig(
            user_id=int(subentry.data[CONF_USER_ID]),
            name=subentry.data.get(CONF_LINE_NAME) or subentry.title,
            subentry_id=subentry.subentry_id,
        )
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_TYPE_LINE
    }


def _client(hass: HomeAssistant, entry: VtxConfigEntry) -> VtxClient:
    return VtxClient(
        async_get_clientsession(hass),
        username=entry.data[CONF_USERNAME],
        password=entry.data[CONF_PASSWORD],
        application_id=entry.data[CONF_APPLICATION_ID],
        base_url=entry.data[CONF_URL],
        request_timeout=REQUEST_TIMEOUT,
    )


async def async_setup_entry(hass: HomeAssistant, entry: VtxConfigEntry) -> bool:
    """Set up an API account and its lines."""
    if CONF_WEBHOOK_ID not in entry.data:
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_WEBHOOK_ID: webhook.async_generate_id()})
    client = _client(hass, entry)
    try:
        server = await client.get_server_info()
    except VtxAuthenticationError as err:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed") from err
    except VtxError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err

    lines = _lines(entry)
    semaphore = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
    features = VtxFeatureCoordinator(hass, entry, client, lines, semaphore, FEATURE_POLL_INTERVAL)
    presence = VtxPresenceCoordinator(hass, entry, client, lines, semaphore, PRESENCE_POLL_INTERVAL)
    entry.runtime_data = VtxRuntimeData(client=client, server=server, lines=lines, features=features, presence=presence)
    await features.async_config_entry_first_refresh()
    await presence.async_config_entry_first_refresh()
    calls = CallTracker(hass, entry.entry_id, lines)
    await calls.async_load()
    entry.runtime_data.calls = calls
    store = LineStore(hass, entry.entry_id)
    await store.async_load()
    manager = LineManager(hass, features, store)
    entry.runtime_data.manager = manager
    await manager.async_start()
    entry.async_on_unload(manager.async_stop)

    account = dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, **account_device_info(entry))
    entry.runtime_data.account_device_id = account.id
    _async_remove_stale_devices(hass, entry, lines)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)

    push = PushManager(hass, entry, client, features, presence, calls)
    entry.runtime_data.push = push
    await push.async_start()
    # Calls finished while Home Assistant was down, handled once each.
    entry.async_create_background_task(hass, calls.async_backfill(client), f"{DOMAIN} call backfill")
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    return True


def _async_remove_stale_devices(hass: HomeAssistant, entry: VtxConfigEntry, lines: dict[int, LineConfig]) -> None:
    """Remove the devices (and so the entities) of lines the entry no longer has.

    A removed sub-entry takes its devices along, but a line given another userId keeps its
    sub-entry: its old device would stay behind.
    """
    registry = dr.async_get(hass)
    wanted = {(DOMAIN, entry.entry_id)} | {(DOMAIN, str(user_id)) for user_id in lines}
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not device.identifiers & wanted:
            registry.async_remove_device(device.id)


async def _async_entry_updated(hass: HomeAssistant, entry: VtxConfigEntry) -> None:
    """Reload when lines are added, renamed or removed, or options change."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: VtxConfigEntry) -> bool:
    """Unload an entry: stop push (timers, webhook, subscriptions) and the platforms."""
    runtime = entry.runtime_data
    if runtime.push is not None:
        await runtime.push.async_stop()
    if runtime.calls is not None:
        await runtime.calls.async_save()
    if runtime.manager is not None:
        await runtime.manager.store.async_save()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: VtxConfigEntry) -> None:
    """Delete what the entry left at the API (subscriptions, cloudhook) and stored."""
    if webhook_id := entry.data.get(CONF_WEBHOOK_ID):
        await async_remove_subscriptions(hass, _client(hass, entry), webhook_id)
    await CallTracker(hass, entry.entry_id, {}).async_remove()
    await LineStore(hass, entry.entry_id).async_remove()
