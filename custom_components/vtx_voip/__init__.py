"""The VTX VoIP integration: phone lines of a VTX virtual PBX in Home Assistant.

Set-up builds every part first (coordinators, call tracker, line store and manager, push
manager), registering each part's teardown with ``entry.async_on_unload`` as soon as it
exists, then assigns the one runtime data object. Home Assistant runs those teardowns
(last first) when set-up fails at any step and after the platforms unload, so a retry or
a reload always starts clean.

Line sub-entries and options change in place (``_async_entry_updated``): a line added,
renamed or removed adds, renames or removes that line's device, entities and push
userIds, without touching the other lines; options apply to the running parts. A change
of the account's data (reauth, reconfigure) reloads once, keeping the subscriptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

from homeassistant.components import webhook
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, Platform
from homeassistant.core import CoreState, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.translation import async_get_translations
from homeassistant.helpers.typing import ConfigType

from .api import VtxAuthenticationError, VtxClient, VtxError
from .billing.calls import CallTracker
from .billing.export import VtxRangeBillView, VtxStayBillView
from .billing.ledger import LedgerError
from .billing.stays import StayManager
from .billing.tariffs import Tariffs, retention_days
from .const import (
    CONF_APPLICATION_ID,
    CONF_ENTERPRISE_DISCOVERY,
    CONF_LINE_NAME,
    CONF_PRESENCE_INTERVAL,
    CONF_PUSH_BASE_URL,
    CONF_WEBHOOK_ID,
    DEFAULT_PRESENCE_INTERVAL,
    DOMAIN,
    FEATURE_POLL_INTERVAL,
    INITIAL_REQUESTS_IN_FLIGHT,
    LOGGER,
    MAX_REQUESTS_IN_FLIGHT,
    REQUEST_TIMEOUT,
    SUBENTRY_TYPE_LINE,
)
from .coordinator import VtxFeatureCoordinator, VtxPresenceCoordinator
from .data import LineConfig, VtxConfigEntry, VtxRuntimeData, configured_lines, reload_key
from .entity import account_device_info, signal_line_added
from .frontend import async_register_frontend
from .frontend.websocket import async_setup_websocket
from .lines.manager import LineManager
from .lines.store import LineStore
from .push import PushManager, async_prepare_push, async_remove_subscriptions
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
    """Register the actions, the CSV export, the front desk board (websocket, frontend module), logbook texts."""
    async_setup_services(hass)
    hass.http.register_view(VtxStayBillView())
    hass.http.register_view(VtxRangeBillView())
    async_setup_websocket(hass)
    await async_register_frontend(hass)
    # The logbook describes calls from the cache (it cannot wait): load its texts.
    await async_get_translations(hass, hass.config.language, "selector", [DOMAIN])
    return True


def _client(hass: HomeAssistant, entry: VtxConfigEntry) -> VtxClient:
    return VtxClient(
        async_get_clientsession(hass),
        username=entry.data[CONF_USERNAME],
        password=entry.data[CONF_PASSWORD],
        application_id=entry.data[CONF_APPLICATION_ID],
        base_url=entry.data[CONF_URL],
        request_timeout=REQUEST_TIMEOUT,
        max_in_flight=MAX_REQUESTS_IN_FLIGHT,
        initial_in_flight=INITIAL_REQUESTS_IN_FLIGHT,
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

    # Push first, before anything slow: the webhook takes (holds) pushes and the live
    # subscriptions of ours are adopted, so that no push of theirs is refused or lost.
    push_lifecycle = await async_prepare_push(hass, entry, client)

    lines = configured_lines(entry)
    presence_interval = timedelta(seconds=int(entry.options.get(CONF_PRESENCE_INTERVAL, DEFAULT_PRESENCE_INTERVAL)))
    features = VtxFeatureCoordinator(hass, entry, client, lines, FEATURE_POLL_INTERVAL)
    presence = VtxPresenceCoordinator(hass, entry, client, lines, presence_interval)
    # Features make the entities: they are read before set-up ends. While Home Assistant
    # starts, what can wait (the first presence read, the push subscriptions) runs in
    # background tasks of the entry, so that the start is not held up by it.
    starting = hass.state is not CoreState.running
    await features.async_config_entry_first_refresh()
    if not starting:
        await presence.async_config_entry_first_refresh()

    calls = CallTracker(hass, entry.entry_id, lines, retention_days(entry.options))
    try:
        await calls.async_load()
    except LedgerError as err:
        await hass.async_add_executor_job(calls.ledger.close)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="ledger_failed", translation_placeholders={"error": str(err)}
        ) from err
    entry.async_on_unload(calls.async_save)
    calls.async_start()

    store = LineStore(hass, entry.entry_id)
    await store.async_load()
    manager = LineManager(hass, features, store, lines)
    entry.async_on_unload(manager.async_stop)
    manager.async_start()

    stays = StayManager(hass, entry.entry_id, calls, client, manager, Tariffs.from_options(entry.options))
    entry.async_on_unload(stays.async_stop)
    await stays.async_load()

    push = PushManager(hass, entry, client, features, presence, calls, push_lifecycle)
    entry.async_on_unload(push.async_stop)
    await push.async_start(subscribe=not starting)

    account = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry, server.build_version)
    )
    entry.runtime_data = VtxRuntimeData(
        client=client,
        server=server,
        lines=lines,
        features=features,
        presence=presence,
        calls=calls,
        manager=manager,
        push=push,
        stays=stays,
        account_device_id=account.id,
        built_from=reload_key(entry),
    )
    _async_remove_stale_devices(hass, entry, lines)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if starting:
        entry.async_create_background_task(hass, presence.async_refresh_all(), f"{DOMAIN} first presence read")
        entry.async_create_background_task(hass, push.async_subscribe(), f"{DOMAIN} push subscriptions")
    # Calls finished while Home Assistant was down, handled once each.
    entry.async_create_background_task(hass, calls.async_backfill(client), f"{DOMAIN} call backfill")
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    return True


async def _async_apply_options(hass: HomeAssistant, entry: VtxConfigEntry, old: Mapping[str, object]) -> None:
    """Apply changed options to the running entry: no entity goes unavailable, no reload.

    Tariffs and bill-incoming price the next bill, the retention applies at once, the
    presence interval takes effect when presence is polled (not pushed); discovery and the
    push base URL touch only the subscriptions they change. The SIP domain is read where
    it is used.
    """
    runtime = entry.runtime_data
    options = entry.options
    retention = timedelta(days=retention_days(options))
    prune = retention != runtime.calls.retention
    # Tariffs, internal extensions and retention: the open stays' totals are priced again.
    await runtime.stays.async_apply_options(options)
    if prune:
        entry.async_create_background_task(hass, runtime.calls.async_prune(), f"{DOMAIN} apply retention")
    interval = timedelta(seconds=int(options.get(CONF_PRESENCE_INTERVAL, DEFAULT_PRESENCE_INTERVAL)))
    if interval != runtime.presence.configured_interval:
        runtime.presence.set_configured_interval(interval, in_force=not runtime.push.presence_pushed)
    if any(old.get(key) != options.get(key) for key in (CONF_ENTERPRISE_DISCOVERY, CONF_PUSH_BASE_URL)):
        await runtime.push.async_options_changed()
    LOGGER.debug("Options of %s applied in place", entry.title)


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
    """Apply options and line sub-entry changes in place; reload when the account itself changed.

    Only a change of the account's data (a reauth, a reconfigure: URL, credentials)
    reloads; the subscriptions stay across it (they are the account's).
    """
    runtime = entry.runtime_data
    data, options = reload_key(entry)
    built_data, built_options = runtime.built_from
    if data != built_data:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    if options != built_options:
        runtime.built_from = (built_data, options)
        await _async_apply_options(hass, entry, built_options)
    wanted = configured_lines(entry)
    current = runtime.lines
    registry = dr.async_get(hass)
    removed = [user_id for user_id in current if user_id not in wanted]
    added = [line for user_id, line in wanted.items() if user_id not in current]
    for user_id in removed:
        LOGGER.info("Line %s removed from %s", user_id, entry.title)
        del current[user_id]
        runtime.features.async_forget_line(user_id)
        runtime.presence.async_forget_line(user_id)
        runtime.calls.async_forget_line(user_id)
        runtime.manager.async_line_removed(user_id)
        await runtime.stays.async_line_removed(user_id)
    for user_id, line in wanted.items():
        held = current.get(user_id)
        if held is not None and (held.name != line.name or held.subentry_id != line.subentry_id):
            held.name, held.subentry_id = line.name, line.subentry_id
            if device := registry.async_get_device_by_identifier((DOMAIN, str(user_id)), entry.entry_id):
                registry.async_update_device(device.id, name=line.name)
    _async_sync_line_names(hass, entry)
    # Devices of removed lines go with their sub-entry; a line given another userId in
    # the same sub-entry leaves its old device behind: remove it.
    _async_remove_stale_devices(hass, entry, wanted)
    for line in added:
        LOGGER.info("Line %s (%s) added to %s", line.user_id, line.name, entry.title)
        current[line.user_id] = line
    if added:
        await asyncio.gather(
            *(
                coordinator.async_read_line(line.user_id)
                for line in added
                for coordinator in (runtime.features, runtime.presence)
            ),
            # A line added again finds its calls in the ledger (last call, missed calls).
            *(runtime.calls.async_restore_line(line.user_id) for line in added),
        )
        for line in added:
            if line.user_id in current:  # not removed again meanwhile
                runtime.manager.async_line_added(line)
                async_dispatcher_send(hass, signal_line_added(entry.entry_id), line)
    if added or removed:
        await runtime.push.async_lines_changed()


@callback
def _async_sync_line_names(hass: HomeAssistant, entry: VtxConfigEntry) -> None:
    """Give a line sub-entry renamed with ⋮ > Rename (its title only) the same name in its data.

    The title is the line's name (``LineConfig.from_subentry``); the data's copy is what
    the sub-entry's reconfigure form suggests, so it follows.
    """
    for subentry in list(entry.subentries.values()):
        if (
            subentry.subentry_type == SUBENTRY_TYPE_LINE
            and subentry.title
            and subentry.data.get(CONF_LINE_NAME) != subentry.title
        ):
            hass.config_entries.async_update_subentry(
                entry, subentry, data={**subentry.data, CONF_LINE_NAME: subentry.title}
            )


async def async_unload_entry(hass: HomeAssistant, entry: VtxConfigEntry) -> bool:
    """Unload the platforms; the teardowns registered at set-up then run (push, timers, stores)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: VtxConfigEntry) -> None:
    """Delete what the entry left at the API (subscriptions, cloudhook) and stored."""
    if webhook_id := entry.data.get(CONF_WEBHOOK_ID):
        await async_remove_subscriptions(hass, _client(hass, entry), entry.entry_id, webhook_id)
    await CallTracker(hass, entry.entry_id, {}).async_remove()  # and its ledger file
    await LineStore(hass, entry.entry_id).async_remove()
