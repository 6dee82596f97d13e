"""Where the API pushes to: the notification URL, its changes, push's repair issues, the clean-up of a removed entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.storage import Store

from ..api import VtxClient, VtxError, VtxNotFoundError
from ..const import CONF_PUSH_BASE_URL, DOMAIN, LOGGER
from .const import STORAGE_VERSION, URL_SOURCE_CLOUDHOOK, URL_SOURCE_EXTERNAL, URL_SOURCE_OPTION, issue_id
from .gate import async_remove_gate


def url_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where the notification URL last given to the API is kept (to clean up on removal)."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.push")


async def async_notification_url(
    hass: HomeAssistant, entry: ConfigEntry, webhook_id: str
) -> tuple[str | None, str | None]:
    """Pick the URL the API pushes to: option, cloudhook, external URL, or none.

    A source that fails (a cloudhook that cannot be made, for whatever reason) falls
    through to the next one.
    """
    if base := (entry.options.get(CONF_PUSH_BASE_URL) or "").strip():
        return base.rstrip("/") + webhook.async_generate_path(webhook_id), URL_SOURCE_OPTION
    if "cloud" in hass.config.components:
        # Imported only once loaded: the cloud component pulls heavy dependencies.
        from homeassistant.components import cloud  # noqa: PLC0415

        if cloud.async_active_subscription(hass):
            try:
                return await cloud.async_get_or_create_cloudhook(hass, webhook_id), URL_SOURCE_CLOUDHOOK
            except Exception as err:  # noqa: BLE001 - any cloud failure falls back to the external URL
                LOGGER.info("No cloudhook for push notifications (%s); trying the external URL", err)
    try:
        url = webhook.async_generate_url(hass, webhook_id, allow_internal=False, allow_ip=True, prefer_external=True)
    except NoURLAvailableError:
        return None, None
    return url, URL_SOURCE_EXTERNAL


async def async_remove_subscriptions(hass: HomeAssistant, client: VtxClient, entry_id: str, webhook_id: str) -> None:
    """Delete every subscription pointing at a removed entry's webhook, the webhook, and its cloudhook.

    A subscription matches when its URL holds the webhook id or is the URL the entry last
    gave the API (a cloudhook URL does not hold the webhook id); no cloudhook is created
    to learn its URL.
    """
    async_remove_gate(hass, entry_id)
    store = url_store(hass, entry_id)
    stored = await store.async_load()
    known = stored.get("notification_url") if isinstance(stored, dict) else None
    try:
        for subscription in await client.get_subscriptions():
            url = subscription.notification_url or ""
            if webhook_id in url or (known and url == known):
                try:
                    await client.delete_subscription(subscription.id)
                except VtxNotFoundError:
                    continue
    except VtxError as err:
        LOGGER.warning("Could not delete the push subscriptions of a removed entry: %s", err)
    await store.async_remove()
    if "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        try:
            await cloud.async_delete_cloudhook(hass, webhook_id)
        except (cloud.CloudNotAvailable, ValueError) as err:
            LOGGER.debug("No cloudhook to delete: %s", err)


def async_listen_url_changes(hass: HomeAssistant, check: Callable[[], Awaitable[None]]) -> list[Callable[[], None]]:
    """Call ``check`` when the URL may have changed: the external URL set, or the cloud connected."""

    async def core_config_updated(_event: Event[Any]) -> None:
        await check()

    unsubs = [hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, core_config_updated)]
    if "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        async def cloud_connection(state: cloud.CloudConnectionState) -> None:
            if state is cloud.CloudConnectionState.CLOUD_CONNECTED:
                await check()

        unsubs.append(cloud.async_listen_connection_change(hass, cloud_connection))
    return unsubs


def async_raise_issue(hass: HomeAssistant, entry: ConfigEntry, issue: str, **placeholders: str) -> None:
    """Raise one of an entry's push repair issues (a warning, not fixable)."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry.entry_id, issue),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=issue,
        translation_placeholders={"title": entry.title, **placeholders},
    )


def async_clear_issue(hass: HomeAssistant, entry_id: str, issue: str) -> None:
    """Delete one of an entry's push repair issues (nothing when there is none)."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id, issue))
