"""Real-time push: webhook, subscriptions that renew and repair themselves, health.

The API POSTs feature changes, finished calls (and, if it accepts the subscription,
presence changes) to a notification URL. This module picks that URL (an explicit base URL
from the options, a Home Assistant Cloud cloudhook, or the external URL), keeps one
subscription per resource type alive for the entry's lines, applies what arrives, and
falls back to polling whenever push is not known to work.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from http import HTTPStatus
import json
from typing import Any, Final

from aiohttp import web
from aiohttp.hdrs import METH_POST
from homeassistant.components import webhook
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util import dt as dt_util
import probatio as vol

from .api import (
    Notification,
    Subscription,
    VtxClient,
    VtxError,
    VtxNotFoundError,
    VtxRequestError,
    VtxResponseError,
    parse_notification,
)
from .api.assumptions import (
    PUSH_CALL_LOG_EVENTS_KEY,
    PUSH_FEATURE_EVENTS_KEY,
    PUSH_PRESENCE_EVENTS_KEY,
    RESOURCE_CALL_LOG,
    RESOURCE_FEATURE,
    RESOURCE_PRESENCE,
    SUBSCRIPTION_MAX_LIFETIME,
)
from .calls import CallTracker
from .const import (
    CONF_PUSH_BASE_URL,
    CONF_WEBHOOK_ID,
    DOMAIN,
    FEATURE_POLL_INTERVAL,
    FEATURE_RECONCILE_INTERVAL,
    LOGGER,
    PRESENCE_POLL_INTERVAL,
)
from .coordinator import VtxConfigEntry, VtxFeatureCoordinator, VtxPresenceCoordinator

# Ask for a little less than the maximum, so clock skew never makes a request invalid.
SUBSCRIPTION_LIFETIME: Final = SUBSCRIPTION_MAX_LIFETIME - timedelta(minutes=5)
# Renew when a third of the lifetime is left (about a day): time for many retries.
RENEW_BEFORE: Final = SUBSCRIPTION_MAX_LIFETIME / 3
RETRY_DELAY: Final = timedelta(minutes=5)
CALL_FALLBACK_INTERVAL: Final = FEATURE_POLL_INTERVAL
MAX_BODY_BYTES: Final = 1024 * 1024
ISSUE_NO_URL: Final = "no_push_url"
ISSUE_STALLED: Final = "push_stalled"
ISSUE_SUBSCRIBE_FAILED: Final = "subscribe_failed"

# The envelope of a push body; entries are parsed tolerantly by the client's parser.
NOTIFICATION_SCHEMA: Final = vol.Schema(
    {
        vol.Required("subscriptionId"): vol.All(str, vol.Length(min=1, max=200)),
        vol.Optional(PUSH_FEATURE_EVENTS_KEY): vol.All(list, vol.Length(max=1000)),
        vol.Optional(PUSH_CALL_LOG_EVENTS_KEY): vol.All(list, vol.Length(max=1000)),
        vol.Optional(PUSH_PRESENCE_EVENTS_KEY): vol.All(list, vol.Length(max=1000)),
    },
    extra=vol.ALLOW_EXTRA,
)


def signal_push(entry_id: str) -> str:
    """Dispatcher signal sent when push health or the last push time changes."""
    return f"{DOMAIN}_{entry_id}_push"


def _issue_id(entry: VtxConfigEntry, issue: str) -> str:
    return f"{issue}_{entry.entry_id}"


class PushManager:
    """Keeps push working for one entry, or polling when it cannot."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: VtxConfigEntry,
        client: VtxClient,
        features: VtxFeatureCoordinator,
        presence: VtxPresenceCoordinator,
        calls: CallTracker,
    ) -> None:
        """Initialise; nothing runs before ``async_start``."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.features = features
        self.presence = presence
        self.calls = calls
        self.webhook_id: str = entry.data[CONF_WEBHOOK_ID]
        self.notification_url: str | None = None
        self.url_source: str | None = None
        self.subscriptions: dict[str, Subscription] = {}
        # Every id this entry created in this run: pushes carrying them are accepted.
        self._known_ids: set[str] = set()
        self.presence_refused = False
        self.stalled = False
        self.last_push: datetime | None = None
        self.pushes_received = 0
        self.pushes_rejected = 0
        self._timer: CALLBACK_TYPE | None = None
        self._unsubs: list[Callable[[], None]] = []
        self._stopped = False

    # --- state -----------------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        """Whether feature changes are expected to arrive by push."""
        return (
            self.notification_url is not None
            and RESOURCE_FEATURE in self.subscriptions
            and not self.stalled
            and not self._stopped
        )

    @property
    def presence_pushed(self) -> bool:
        """Whether presence changes are expected to arrive by push."""
        return self.healthy and RESOURCE_PRESENCE in self.subscriptions

    @callback
    def _async_apply_cadence(self) -> None:
        """Poll hard only for what push does not bring."""
        self.features.update_interval = FEATURE_RECONCILE_INTERVAL if self.healthy else FEATURE_POLL_INTERVAL
        self.presence.update_interval = FEATURE_RECONCILE_INTERVAL if self.presence_pushed else PRESENCE_POLL_INTERVAL
        async_dispatcher_send(self.hass, signal_push(self.entry.entry_id))

    # --- lifecycle -------------------------------------------------------------------
    async def async_start(self) -> None:
        """Register the webhook, find the URL, subscribe and set the polling cadence."""
        webhook.async_register(
            self.hass,
            DOMAIN,
            f"VTX VoIP ({self.entry.title})",
            self.webhook_id,
            self._async_handle_webhook,
            allowed_methods=[METH_POST],
        )
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._async_call_fallback, CALL_FALLBACK_INTERVAL, cancel_on_shutdown=True
            )
        )
        self.features.reconcile_listener = self._async_reconciled
        self.notification_url, self.url_source = await self._async_notification_url()
        if self.notification_url is None:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                _issue_id(self.entry, ISSUE_NO_URL),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_NO_URL,
                translation_placeholders={"title": self.entry.title},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, _issue_id(self.entry, ISSUE_NO_URL))
            await self._async_subscribe_all()
        self._async_apply_cadence()

    async def async_stop(self) -> None:
        """Cancel timers, unregister the webhook and delete this run's subscriptions."""
        self._stopped = True
        self.features.reconcile_listener = None
        self._cancel_timer()
        while self._unsubs:
            self._unsubs.pop()()
        webhook.async_unregister(self.hass, self.webhook_id)
        for subscription in list(self.subscriptions.values()):
            try:
                await self.client.delete_subscription(subscription.id)
            except VtxError as err:
                LOGGER.debug("Deleting subscription %s failed: %s", subscription.id, err)
        self.subscriptions.clear()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    # --- notification URL ------------------------------------------------------------
    async def _async_notification_url(self) -> tuple[str | None, str | None]:
        """Pick the URL the API pushes to: option, cloudhook, external URL, or none."""
        path = webhook.async_generate_path(self.webhook_id)
        if base := (self.entry.options.get(CONF_PUSH_BASE_URL) or "").strip():
            return base.rstrip("/") + path, "option"
        if "cloud" in self.hass.config.components:
            # Imported only once loaded: the cloud component pulls heavy dependencies.
            from homeassistant.components import cloud  # noqa: PLC0415

            if cloud.async_active_subscription(self.hass):
                try:
                    return await cloud.async_get_or_create_cloudhook(self.hass, self.webhook_id), "cloudhook"
                except cloud.CloudNotAvailable as err:
                    LOGGER.debug("No cloudhook: %s", err)
        try:
            base = get_url(self.hass, allow_internal=False, allow_cloud=False, prefer_external=True)
        except NoURLAvailableError:
            return None, None
        return base.rstrip("/") + path, "external_url"

    def _is_ours(self, subscription: Subscription) -> bool:
        url = subscription.notification_url or ""
        return url == self.notification_url or self.webhook_id in url

    # --- subscriptions ---------------------------------------------------------------
    async def _async_subscribe_all(self) -> None:
        """Delete this entry's leftovers, then subscribe each resource type."""
        try:
            for subscription in await self.client.get_subscriptions():
                if self._is_ours(subscription) and subscription.id not in self._known_ids:
                    LOGGER.debug("Deleting subscription %s left from an earlier run", subscription.id)
                    with suppress(VtxNotFoundError):
                        await self.client.delete_subscription(subscription.id)
        except VtxError as err:
            LOGGER.debug("Listing subscriptions failed: %s", err)
        await self._async_ensure_subscriptions()

    async def _async_ensure_subscriptions(self) -> None:
        """Create what is missing; schedule the next renewal (or a retry)."""
        user_ids = sorted(self.features.lines)
        failed = False
        if user_ids and self.notification_url is not None:
            wanted = [RESOURCE_FEATURE, RESOURCE_CALL_LOG]
            if not self.presence_refused:
                wanted.append(RESOURCE_PRESENCE)
            for resource in wanted:
                if resource in self.subscriptions:
                    continue
                try:
                    created = await self.client.create_subscription(
                        resource_type=resource,
                        notification_url=self.notification_url,
                        expires=dt_util.utcnow() + SUBSCRIPTION_LIFETIME,
                        user_ids=user_ids,
                    )
                except VtxRequestError as err:
                    if resource == RESOURCE_PRESENCE:
                        LOGGER.info("The API refused a PRESENCE subscription (%s); presence stays polled", err)
                        self.presence_refused = True
                        continue
                    LOGGER.warning("The API refused a %s subscription: %s", resource, err)
                    failed = True
                except VtxError as err:
                    LOGGER.debug("Creating a %s subscription failed: %s", resource, err)
                    failed = True
                else:
                    self.subscriptions[resource] = created
                    self._known_ids.add(created.id)
        if failed:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                _issue_id(self.entry, ISSUE_SUBSCRIBE_FAILED),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_SUBSCRIBE_FAILED,
                translation_placeholders={"title": self.entry.title},
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, _issue_id(self.entry, ISSUE_SUBSCRIBE_FAILED))
        self._schedule(dt_util.utcnow() + RETRY_DELAY if failed else self._next_renewal())

    def _next_renewal(self) -> datetime | None:
        expiries = [
            subscription.expires or dt_util.utcnow() + SUBSCRIPTION_LIFETIME
            for subscription in self.subscriptions.values()
        ]
        return min(expiries) - RENEW_BEFORE if expiries else None

    def _schedule(self, when: datetime | None) -> None:
        self._cancel_timer()
        if when is None or self._stopped:
            return
        self._timer = async_track_point_in_utc_time(self.hass, self._async_timer_fired, max(when, dt_util.utcnow()))

    async def _async_timer_fired(self, _now: datetime) -> None:
        self._timer = None
        await self.async_renew()

    async def async_renew(self) -> None:
        """Renew every subscription due; re-create those that are gone."""
        now = dt_util.utcnow()
        for resource, subscription in list(self.subscriptions.items()):
            if subscription.expires is not None and subscription.expires - now > RENEW_BEFORE:
                continue
            try:
                renewed = await self.client.renew_subscription(subscription.id, now + SUBSCRIPTION_LIFETIME)
            except VtxNotFoundError:
                LOGGER.info("Subscription %s is gone; creating a new one", subscription.id)
                del self.subscriptions[resource]
            except VtxError as err:
                LOGGER.debug("Renewing subscription %s failed: %s", subscription.id, err)
                if subscription.expires is not None and subscription.expires <= now:
                    del self.subscriptions[resource]
            else:
                self.subscriptions[resource] = renewed or Subscription.from_json(
                    {**subscription.raw, "expires": (now + SUBSCRIPTION_LIFETIME).isoformat()}
                )
        await self._async_ensure_subscriptions()
        self._async_apply_cadence()

    # --- fallback and stall detection ------------------------------------------------
    async def _async_call_fallback(self, _now: datetime) -> None:
        """Read call history while calls are not known to arrive by push."""
        if not self.healthy or RESOURCE_CALL_LOG not in self.subscriptions:
            await self.calls.async_backfill(self.client)

    @callback
    def _async_reconciled(self, changed: bool) -> None:
        """Turn polling back on when a poll found what push should have brought."""
        if changed and self.healthy:
            LOGGER.warning("Feature changes did not arrive by push; polling until push works again")
            self.stalled = True
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                _issue_id(self.entry, ISSUE_STALLED),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_STALLED,
                translation_placeholders={"title": self.entry.title, "url_source": self.url_source or "-"},
            )
            self._async_apply_cadence()

    # --- webhook ---------------------------------------------------------------------
    async def _async_handle_webhook(self, hass: HomeAssistant, webhook_id: str, request: web.Request) -> web.Response:
        """Validate and apply a push; answer at once."""
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return web.Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            body = NOTIFICATION_SCHEMA(json.loads(raw))
            notification = parse_notification(body)
        except (ValueError, vol.Invalid, VtxResponseError) as err:
            self.pushes_rejected += 1
            LOGGER.debug("Rejected a push body: %s", err)
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        if notification.subscription_id not in self._known_ids:
            self.pushes_rejected += 1
            LOGGER.debug("Rejected a push for unknown subscription %s", notification.subscription_id)
            return web.Response(status=HTTPStatus.FORBIDDEN)
        self._async_apply(notification)
        return web.Response(status=HTTPStatus.OK)

    @callback
    def _async_apply(self, notification: Notification) -> None:
        self.pushes_received += 1
        self.last_push = dt_util.utcnow()
        for event in notification.feature_events:
            self.features.async_apply_feature(event.feature, event.event_time)
        for presence_event in notification.presence_events:
            if (user_id := presence_event.user_id) is not None:
                self.presence.async_apply_presence(user_id, presence_event.presence, presence_event.event_time)
        self.calls.async_handle_many(event.call_log for event in notification.call_log_events)
        if self.stalled and notification.feature_events:
            LOGGER.info("Push works again")
            self.stalled = False
            ir.async_delete_issue(self.hass, DOMAIN, _issue_id(self.entry, ISSUE_STALLED))
            self._async_apply_cadence()
        else:
            async_dispatcher_send(self.hass, signal_push(self.entry.entry_id))

    def diagnostics(self) -> dict[str, Any]:
        """State for diagnostics (URLs are redacted by the caller)."""
        return {
            "healthy": self.healthy,
            "url_source": self.url_source,
            "notificationUrl": self.notification_url,
            "presence_refused": self.presence_refused,
            "stalled": self.stalled,
            "last_push": self.last_push.isoformat() if self.last_push else None,
            "pushes_received": self.pushes_received,
            "pushes_rejected": self.pushes_rejected,
            "subscriptions": {
                resource: {"expires": sub.expires.isoformat() if sub.expires else None}
                for resource, sub in self.subscriptions.items()
            },
            "calls": self.calls.totals(),
        }


async def async_remove_subscriptions(hass: HomeAssistant, client: VtxClient, webhook_id: str) -> None:
    """Delete every subscription pointing at an entry's webhook, and its cloudhook."""
    try:
        for subscription in await client.get_subscriptions():
            if webhook_id in (subscription.notification_url or ""):
                with suppress(VtxNotFoundError):
                    await client.delete_subscription(subscription.id)
    except VtxError as err:
        LOGGER.warning("Could not delete the push subscriptions of a removed entry: %s", err)
    if "cloud" in hass.config.components:
        from homeassistant.components import cloud  # noqa: PLC0415

        try:
            await cloud.async_delete_cloudhook(hass, webhook_id)
        except (cloud.CloudNotAvailable, ValueError) as err:
            LOGGER.debug("No cloudhook to delete: %s", err)
