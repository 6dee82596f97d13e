"""The push manager: webhook, subscriptions that renew and repair themselves, health.

The API POSTs feature changes, finished calls (and, if it accepts the subscription,
presence changes) to a notification URL (see ``url``). The manager keeps one subscription
per resource type alive for the entry's lines, applies what arrives, and falls back to
polling whenever push is not known to work.

With enterprise discovery on (the default), the FEATURE subscription covers every user of
the account's enterprise: a push about a line that no entry has starts that line's
discovery flow and changes nothing else.

Health: push is *healthy* while a FEATURE subscription is held and no reconciliation poll
has found a change that push should have brought. A poll that does find one, with no push
on the FEATURE subscription during a grace period, declares push *stalled* (polling
resumes, a repair issue is raised, and the subscriptions are checked at the API); the next
push on the FEATURE subscription clears it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.hdrs import METH_POST
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_USERNAME, EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util
import probatio as vol

from ..api import (
    Notification,
    Subscription,
    VtxAuthenticationError,
    VtxClient,
    VtxError,
    VtxNotFoundError,
    VtxRequestError,
    VtxResponseError,
    VtxUnsupportedError,
    parse_notification,
)
from ..api.assumptions import RESOURCE_CALL_LOG, RESOURCE_FEATURE, RESOURCE_PRESENCE, enterprise_of_login
from ..billing.calls import CallTracker
from ..billing.ledger import LedgerError
from ..const import CONF_WEBHOOK_ID, DOMAIN, FEATURE_POLL_INTERVAL, FEATURE_RECONCILE_INTERVAL, LOGGER
from ..coordinator import VtxFeatureCoordinator, VtxPresenceCoordinator, signal_poll_found_changes
from ..lines.discovery import (
    async_abort_line_discoveries,
    async_discover_line,
    async_learn_sip_domain,
    configured_user_ids,
    discovery_enabled,
)
from .const import (
    CALL_FALLBACK_INTERVAL,
    CALL_RECONCILE_INTERVAL,
    ISSUE_NO_URL,
    ISSUE_STALLED,
    ISSUE_SUBSCRIBE_FAILED,
    MIN_RENEW_DELAY,
    RENEW_BEFORE,
    RETRY_DELAY,
    STALL_GRACE,
    SUBSCRIPTION_LIFETIME,
    URL_SOURCE_OPTION,
    issue_id,
    signal_push,
)
from .url import async_notification_url, url_store
from .webhook import MAX_BODY_BYTES, NOTIFICATION_SCHEMA, BodyTooLarge, read_body

if TYPE_CHECKING:
    from homeassistant.components.cloud import CloudConnectionState


def _issue_id(entry: ConfigEntry, issue: str) -> str:
    return issue_id(entry.entry_id, issue)


class PushManager:
    """Keeps push working for one entry, or polling when it cannot."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
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
        # When each subscription was created or last renewed (to pace renewals).
        self._granted: dict[str, datetime] = {}
        # Every id this entry created in this run: pushes carrying them are accepted.
        self._known_ids: set[str] = set()
        self.presence_refused = False
        # With enterprise discovery on, the FEATURE subscription covers the whole enterprise
        # (the part of the login after "openapi@"); refused by the API, the lines only.
        self.enterprise: str | None = (
            enterprise_of_login(str(entry.data.get(CONF_USERNAME, ""))) if discovery_enabled(entry) else None
        )
        self.enterprise_refused = False
        # userIds whose discovery this run started; pushes about other lines seen.
        self._discovered: set[int] = set()
        self.discovery_pushes = 0
        self.stalled = False
        self.last_push: datetime | None = None
        self.pushes_received = 0
        self.pushes_rejected = 0
        self._subscribe_failure_logged = False
        self._renewal_refused_logged = False
        # Pushes received on the FEATURE subscription (a stall needs none during its grace).
        self.feature_pushes = 0
        self._cancel_grace: CALLBACK_TYPE | None = None
        self._was_healthy = False
        self._was_presence_pushed = False
        self._renew_refused_at: float | None = None
        self._timer: CALLBACK_TYPE | None = None
        self._unsubs: list[Callable[[], None]] = []
        # Subscription work (create, renew, verify, delete) never interleaves.
        self._lock = asyncio.Lock()
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

    @property
    def calls_pushed(self) -> bool:
        """Whether finished calls are expected to arrive by push."""
        return self.healthy and RESOURCE_CALL_LOG in self.subscriptions

    @callback
    def _async_apply_cadence(self) -> None:
        """Poll hard only for what push does not bring; poll at once when push is lost."""
        healthy, presence_pushed = self.healthy, self.presence_pushed
        self.features.update_interval = FEATURE_RECONCILE_INTERVAL if healthy else FEATURE_POLL_INTERVAL
        self.presence.set_poll_interval(
            FEATURE_RECONCILE_INTERVAL if presence_pushed else self.presence.configured_interval
        )
        if not self._stopped:
            # What push no longer brings is read now, not at a poll up to 15 minutes away.
            if self._was_healthy and not healthy:
                self.entry.async_create_background_task(
                    self.hass, self.features.async_request_refresh(), f"{DOMAIN} poll features"
                )
            if self._was_presence_pushed and not presence_pushed:
                self.entry.async_create_background_task(
                    self.hass, self.presence.async_request_refresh_all(), f"{DOMAIN} poll presence"
                )
        self._was_healthy, self._was_presence_pushed = healthy, presence_pushed
        async_dispatcher_send(self.hass, signal_push(self.entry.entry_id))

    # --- repair issues ---------------------------------------------------------------
    def _raise_issue(self, issue: str, **placeholders: str) -> None:
        """Raise one of this entry's push repair issues (a warning, not fixable)."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            _issue_id(self.entry, issue),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=issue,
            translation_placeholders={"title": self.entry.title, **placeholders},
        )

    def _clear_issue(self, issue: str) -> None:
        """Delete one of this entry's push repair issues (nothing when there is none)."""
        ir.async_delete_issue(self.hass, DOMAIN, _issue_id(self.entry, issue))

    # --- lifecycle -------------------------------------------------------------------
    async def async_start(self, *, subscribe: bool = True) -> None:
        """Register the webhook, then (unless told to wait for ``async_subscribe``) subscribe.

        Until subscribed the lines are polled as without push.
        """
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
        self._unsubs.append(self.hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._async_core_config_updated))
        if "cloud" in self.hass.config.components:
            from homeassistant.components import cloud  # noqa: PLC0415

            self._unsubs.append(cloud.async_listen_connection_change(self.hass, self._async_cloud_connection))
        self._unsubs.append(
            async_dispatcher_connect(
                self.hass, signal_poll_found_changes(self.entry.entry_id), self._async_poll_found_changes
            )
        )
        if subscribe:
            await self.async_subscribe()
        else:
            self._async_apply_cadence()

    async def async_subscribe(self) -> None:
        """Find the URL, subscribe and set the polling cadence."""
        if self._stopped:
            return
        self.notification_url, self.url_source = await self._async_notification_url()
        if self.notification_url is not None:
            await url_store(self.hass, self.entry.entry_id).async_save({"notification_url": self.notification_url})
        if self.notification_url is None:
            LOGGER.warning(
                "No URL for push notifications (no push base URL, cloud subscription or external URL); polling"
            )
            self._raise_issue(ISSUE_NO_URL)
        else:
            self._clear_issue(ISSUE_NO_URL)
            async with self._lock:
                failed = await self._async_ensure_subscriptions()
                self._schedule_next(failed)
        self._async_apply_cadence()

    async def async_stop(self) -> None:
        """Cancel timers, unregister the webhook and delete this run's subscriptions."""
        self._stopped = True
        self._cancel_timer()
        if self._cancel_grace is not None:
            self._cancel_grace()
            self._cancel_grace = None
        while self._unsubs:
            self._unsubs.pop()()
        webhook.async_unregister(self.hass, self.webhook_id)
        # Waits for subscription work in flight, so nothing is created after this.
        async with self._lock:
            subscriptions = list(self.subscriptions.values())
            self.subscriptions.clear()
            await asyncio.gather(*(self._async_delete(subscription.id) for subscription in subscriptions))

    async def _async_delete(self, subscription_id: str) -> None:
        try:
            await self.client.delete_subscription(subscription_id)
        except VtxNotFoundError:
            pass
        except VtxError as err:
            LOGGER.debug("Deleting subscription %s failed: %s", subscription_id, err)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    # --- notification URL ------------------------------------------------------------
    async def _async_notification_url(self) -> tuple[str | None, str | None]:
        """Pick the URL the API pushes to (see ``url.async_notification_url``)."""
        return await async_notification_url(self.hass, self.entry, self.webhook_id)

    async def _async_url_may_have_changed(self) -> None:
        """Reload the entry when the notification URL it would pick now is another one."""
        if self._stopped or self.url_source == URL_SOURCE_OPTION:
            return
        url, _source = await self._async_notification_url()
        if url != self.notification_url and not self._stopped:
            LOGGER.info("The URL for push notifications changed; reloading %s", self.entry.title)
            self.hass.config_entries.async_schedule_reload(self.entry.entry_id)

    async def _async_core_config_updated(self, _event: Event[Any]) -> None:
        """Re-check the URL: the external URL may have been set or changed."""
        await self._async_url_may_have_changed()

    async def _async_cloud_connection(self, state: CloudConnectionState) -> None:
        """Re-check the URL: a cloudhook may be possible now that the cloud is connected."""
        from homeassistant.components import cloud  # noqa: PLC0415

        if state is cloud.CloudConnectionState.CLOUD_CONNECTED:
            await self._async_url_may_have_changed()

    def _is_ours(self, subscription: Subscription) -> bool:
        url = subscription.notification_url or ""
        return url == self.notification_url or self.webhook_id in url

    # --- subscriptions (called with the lock held) -----------------------------------
    async def _async_adopt_unknown(self, missing: list[str], user_ids: list[int]) -> None:
        """Take over or delete the subscriptions of ours at the API that this run does not know.

        Called before creating: one made by a create whose answer was lost, or left by an
        earlier run, is taken over when it covers the wanted userIds and deleted otherwise,
        so that none is ever duplicated.
        """
        try:
            unknown = [
                subscription
                for subscription in await self.client.get_subscriptions()
                if self._is_ours(subscription) and subscription.id not in self._known_ids
            ]
        except VtxError as err:
            LOGGER.debug("Listing subscriptions failed: %s", err)
            return
        now = dt_util.utcnow()
        for subscription in unknown:
            resource = subscription.resource_type
            if (
                resource in missing
                and resource not in self.subscriptions
                and self._covers(resource, subscription, user_ids)
                and subscription.expires is not None
                and subscription.expires - now > RENEW_BEFORE / 3
            ):
                LOGGER.debug("Taking over subscription %s (%s) found at the API", subscription.id, resource)
                self.subscriptions[resource] = subscription
                self._granted[resource] = now - (SUBSCRIPTION_LIFETIME - (subscription.expires - now))
                self._known_ids.add(subscription.id)
            else:
                LOGGER.debug("Deleting subscription %s (%s) found at the API", subscription.id, resource)
                await self._async_delete(subscription.id)

    @property
    def feature_by_enterprise(self) -> bool:
        """Whether the FEATURE subscription is (to be) the enterprise-wide one."""
        return self.enterprise is not None and not self.enterprise_refused

    def _enterprise_scoped(self, resource: str) -> bool:
        return resource == RESOURCE_FEATURE and self.feature_by_enterprise

    def _covers(self, resource: str, subscription: Subscription, user_ids: list[int]) -> bool:
        """Whether a subscription found at the API covers what this entry wants of its type."""
        if self._enterprise_scoped(resource):
            return subscription.enterprise_names == (self.enterprise,) and not subscription.user_ids
        return sorted(subscription.user_ids) == user_ids and not subscription.enterprise_names

    async def _async_create(self, resource: str, user_ids: list[int]) -> Subscription:
        """Create one subscription: FEATURE for the enterprise when discovery is on, else for the lines.

        An enterprise-wide FEATURE subscription the API refuses (4xx) is not asked again in
        this run: the lines' own one is created instead (no discovery then).
        """
        assert self.notification_url is not None
        expires = self.client.server_now() + SUBSCRIPTION_LIFETIME
        if self._enterprise_scoped(resource):
            assert self.enterprise is not None
            try:
                return await self.client.create_subscription(
                    resource_type=resource,
                    notification_url=self.notification_url,
                    expires=expires,
                    enterprise_names=[self.enterprise],
                )
            except (VtxRequestError, VtxAuthenticationError) as err:
                if isinstance(err, VtxAuthenticationError) and err.status == 401:
                    raise
                LOGGER.info(
                    "The API refused a FEATURE subscription for the whole enterprise (%s); "
                    "only the configured lines are subscribed and no line is discovered",
                    err,
                )
                self.enterprise_refused = True
                if not user_ids:
                    raise
        return await self.client.create_subscription(
            resource_type=resource, notification_url=self.notification_url, expires=expires, user_ids=user_ids
        )

    def _wanted(self) -> list[str]:
        wanted = [RESOURCE_FEATURE, RESOURCE_CALL_LOG]
        if not self.presence_refused:
            wanted.append(RESOURCE_PRESENCE)
        return wanted

    async def _async_ensure_subscriptions(self) -> bool:
        """Create what is missing; return whether something failed."""
        user_ids = sorted(self.features.lines)
        if self.notification_url is None or self._stopped:
            return False
        failed = False
        # Without lines, only an enterprise-wide FEATURE subscription (discovery) is kept.
        missing = [
            resource
            for resource in self._wanted()
            if resource not in self.subscriptions and (user_ids or self._enterprise_scoped(resource))
        ]
        if missing:
            await self._async_adopt_unknown(missing, user_ids)
        for resource in missing:
            if resource in self.subscriptions:
                continue
            try:
                created = await self._async_create(resource, user_ids)
            except VtxRequestError as err:
                if resource == RESOURCE_PRESENCE:
                    LOGGER.info("The API refused a PRESENCE subscription (%s); presence stays polled", err)
                    self.presence_refused = True
                    continue
                self._log_subscribe_failure(resource, err)
                failed = True
            except VtxError as err:
                self._log_subscribe_failure(resource, err)
                failed = True
            else:
                self.subscriptions[resource] = created
                self._granted[resource] = dt_util.utcnow()
                self._known_ids.add(created.id)
        if failed:
            self._raise_issue(ISSUE_SUBSCRIBE_FAILED)
        else:
            if self._subscribe_failure_logged:
                LOGGER.info("Push subscriptions work again")
                self._subscribe_failure_logged = False
            self._clear_issue(ISSUE_SUBSCRIBE_FAILED)
        return failed

    def _log_subscribe_failure(self, resource: str, err: VtxError) -> None:
        """Warn once per streak of failures; the retries log at debug."""
        if self._subscribe_failure_logged:
            LOGGER.debug("Creating a %s subscription failed again: %s", resource, err)
            return
        self._subscribe_failure_logged = True
        LOGGER.warning("Creating a %s subscription failed (retrying every few minutes): %s", resource, err)

    def _renew_at(self, resource: str) -> datetime:
        """When a subscription is due for renewal."""
        subscription = self.subscriptions[resource]
        granted = self._granted.get(resource) or dt_util.utcnow()
        expires = subscription.expires or granted + SUBSCRIPTION_LIFETIME
        return expires - min(RENEW_BEFORE, max(expires - granted, timedelta()) / 3)

    def _schedule_next(self, failed: bool) -> None:
        """Set the timer: a retry after a failure, else the next renewal."""
        self._cancel_timer()
        if self._stopped or self.notification_url is None:
            return
        now = dt_util.utcnow()
        if failed:
            when = now + RETRY_DELAY
        elif self.subscriptions:
            when = max(min(self._renew_at(resource) for resource in self.subscriptions), now + MIN_RENEW_DELAY)
        else:
            return
        self._timer = async_track_point_in_utc_time(self.hass, self._async_timer_fired, when)

    async def _async_timer_fired(self, _now: datetime) -> None:
        self._timer = None
        await self.async_renew()

    async def async_renew(self) -> None:
        """Renew every subscription due; re-create those that are gone or missing."""
        async with self._lock:
            if self._stopped:
                return
            failed = False
            now = dt_util.utcnow()
            for resource, subscription in list(self.subscriptions.items()):
                if self._renew_at(resource) - now > MIN_RENEW_DELAY:
                    continue
                if self._renew_refused_at is not None and time.monotonic() - self._renew_refused_at < 3600:
                    # Refused within the hour: replace without asking again.
                    failed = not await self._async_replace(resource) or failed
                    continue
                try:
                    renewed = await self.client.renew_subscription(
                        subscription.id, self.client.server_now() + SUBSCRIPTION_LIFETIME
                    )
                except VtxNotFoundError:
                    LOGGER.info("Push subscription %s is gone; creating a new one", subscription.id)
                    del self.subscriptions[resource]
                except (VtxUnsupportedError, VtxRequestError) as err:
                    # The API refuses renewals: a new subscription replaces this one before
                    # it expires (new first, then the old one deleted: no gap).
                    if isinstance(err, VtxRequestError) or err.asked:
                        self._renew_refused_at = time.monotonic()
                    if not self._renewal_refused_logged:
                        self._renewal_refused_logged = True
                        LOGGER.info("The API does not renew subscriptions (%s); replacing them instead", err)
                    failed = not await self._async_replace(resource) or failed
                except VtxError as err:
                    LOGGER.debug("Renewing subscription %s failed: %s", subscription.id, err)
                    failed = True
                    if subscription.expires is not None and subscription.expires <= dt_util.utcnow():
                        del self.subscriptions[resource]
                else:
                    self.subscriptions[resource] = renewed or Subscription.from_json(
                        {**subscription.raw, "expires": (self.client.server_now() + SUBSCRIPTION_LIFETIME).isoformat()}
                    )
                    self._granted[resource] = now
            failed = await self._async_ensure_subscriptions() or failed
            self._schedule_next(failed)
        self._async_apply_cadence()

    async def _async_replace(self, resource: str) -> bool:
        """Replace one subscription, new before old; return whether it worked."""
        old = self.subscriptions.pop(resource)
        await self._async_ensure_subscriptions()
        if resource in self.subscriptions:
            await self._async_delete(old.id)
            return True
        self.subscriptions[resource] = old  # kept until it expires; retried before that
        return False

    async def async_lines_changed(self) -> None:
        """Give the subscriptions the entry's new userIds: each is replaced, new before old.

        The API cannot change a subscription's userIds, so a new one is created and only
        then the old one deleted: no push is missed in between.
        """
        async_abort_line_discoveries(self.hass, set(self.features.lines))
        # A line set up now and removed later is offered again.
        self._discovered -= set(self.features.lines)
        async with self._lock:
            if self._stopped or self.notification_url is None:
                return
            # The enterprise-wide FEATURE subscription covers every line already: kept.
            old = {
                resource: subscription
                for resource, subscription in self.subscriptions.items()
                if not self._enterprise_scoped(resource)
            }
            for resource in old:
                del self.subscriptions[resource]
            failed = await self._async_ensure_subscriptions()
            for resource, subscription in old.items():
                if resource in self.subscriptions or not self.features.lines:
                    await self._async_delete(subscription.id)
                else:  # the replacement failed: keep the old one rather than nothing
                    self.subscriptions[resource] = subscription
            self._schedule_next(failed)
        self._async_apply_cadence()

    async def async_verify(self) -> None:
        """Check that the API still holds this entry's subscriptions; re-create missing ones."""
        async with self._lock:
            if self._stopped:
                return
            try:
                held = {subscription.id for subscription in await self.client.get_subscriptions()}
            except VtxError as err:
                LOGGER.debug("Listing subscriptions failed: %s", err)
                return
            for resource, subscription in list(self.subscriptions.items()):
                if subscription.id not in held:
                    LOGGER.info("Push subscription %s is gone; creating a new one", subscription.id)
                    del self.subscriptions[resource]
            failed = await self._async_ensure_subscriptions()
            self._schedule_next(failed)
        self._async_apply_cadence()

    # --- fallback and stall detection ------------------------------------------------
    async def _async_call_fallback(self, now: datetime) -> None:
        """Read call history: each minute without call push, each hour with it."""
        last = self.calls.last_check
        if not self.calls_pushed or last is None or now - last >= CALL_RECONCILE_INTERVAL:
            await self.calls.async_backfill(self.client)

    @callback
    def _async_poll_found_changes(self) -> None:
        """Give push a grace period: the changes a poll found may still be on their way."""
        if not self.healthy or self._cancel_grace is not None:
            return
        pushes_then = self.feature_pushes

        @callback
        def _check(_now: datetime) -> None:
            self._cancel_grace = None
            if self.healthy and self.feature_pushes == pushes_then:
                self._async_declare_stalled()

        self._cancel_grace = async_call_later(self.hass, STALL_GRACE, _check)

    @callback
    def _async_declare_stalled(self) -> None:
        """Turn polling back on: a poll found what push should have brought, and no push came."""
        LOGGER.warning("Feature changes did not arrive by push; polling until push works again")
        self.stalled = True
        self._raise_issue(ISSUE_STALLED, url_source=self.url_source or "-")
        self._async_apply_cadence()
        # The API may have dropped the subscriptions without telling: check them.
        self.entry.async_create_background_task(self.hass, self.async_verify(), f"{DOMAIN} verify subscriptions")

    # --- webhook ---------------------------------------------------------------------
    async def _async_handle_webhook(self, hass: HomeAssistant, webhook_id: str, request: web.Request) -> web.Response:
        """Validate and apply a push; answer at once (nothing here waits on the network)."""
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            return self._reject(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Rejected a push body over %s bytes", MAX_BODY_BYTES
            )
        try:
            body = NOTIFICATION_SCHEMA(json.loads(raw))
        except (ValueError, RecursionError, vol.Invalid) as err:
            return self._reject(HTTPStatus.BAD_REQUEST, "Rejected a push body: %s", err)
        subscription_id: str = body["subscriptionId"]
        if subscription_id not in self._known_ids:
            return self._reject(HTTPStatus.FORBIDDEN, "Rejected a push for unknown subscription %s", subscription_id)
        try:
            notification = parse_notification(body)
        except (ValueError, TypeError, RecursionError, VtxResponseError) as err:
            return self._reject(HTTPStatus.BAD_REQUEST, "Rejected a push body: %s", err)
        if notification.skipped or notification.unknown_keys:
            LOGGER.debug(
                "Push %s: %s entries skipped, unknown keys %s",
                subscription_id,
                notification.skipped,
                notification.unknown_keys,
            )
        # Calls are on disk in the ledger before the API hears 2xx; when they cannot be,
        # a 503 lets the API deliver them again (nothing acknowledged is lost).
        try:
            await self.calls.async_record(event.call_log for event in notification.call_log_events)
        except LedgerError as err:
            LOGGER.warning("A call push could not be written to the call ledger: %s", err)
            self.pushes_rejected += 1
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        self._async_apply(notification)
        return web.Response(status=HTTPStatus.OK)

    def _reject(self, status: HTTPStatus, message: str, arg: object) -> web.Response:
        self.pushes_rejected += 1
        LOGGER.debug(message, arg)
        return web.Response(status=status)

    @callback
    def _async_discover(self, notification: Notification) -> bool:
        """Start discovery for the unknown lines a push names; return whether it named a known one.

        The SIP domain of the login names is learned from the push contexts too.
        """
        lines = self.features.lines
        contexts = [
            *(event.context for event in notification.feature_events),
            *(event.context for event in notification.call_log_events),
            *(event.context for event in notification.presence_events),
        ]
        if (login := next((context.user_name for context in contexts if context.user_name), None)) is not None:
            async_learn_sip_domain(self.hass, self.entry, login)
        named: dict[int, str | None] = {}
        for event in notification.feature_events:
            named.setdefault(event.feature.user_id, event.context.user_name)
        for call_event in notification.call_log_events:
            named.setdefault(call_event.call_log.user_id, call_event.context.user_name)
        for presence_event in notification.presence_events:
            if (user_id := presence_event.user_id) is not None:
                named.setdefault(user_id, presence_event.context.user_name)
        unknown = {user_id: login for user_id, login in named.items() if user_id not in lines}
        if unknown and self.feature_by_enterprise and not self._stopped:
            configured = configured_user_ids(self.hass)
            for user_id, user_login in unknown.items():
                if user_id not in self._discovered and user_id not in configured:
                    self._discovered.add(user_id)
                    LOGGER.debug("A push named line %s, which no entry has: offering it", user_id)
                    async_discover_line(self.hass, self.entry, user_id, user_login)
        return not named or len(unknown) < len(named)

    @callback
    def _async_apply(self, notification: Notification) -> None:
        if not self._async_discover(notification):
            # Only about lines this entry does not have: nothing else changes.
            self.discovery_pushes += 1
            return
        self.pushes_received += 1
        self.last_push = dt_util.utcnow()
        for event in notification.feature_events:
            self.features.async_apply_feature(event.feature, event.event_time, previous=event.previous_value)
        for presence_event in notification.presence_events:
            if (user_id := presence_event.user_id) is not None:
                self.presence.async_apply_presence(user_id, presence_event.presence, presence_event.event_time)
        if notification.call_log_events and not self.presence_pushed:
            # A call ended: the line's presence changed, and no push tells it; read it now.
            for user_id in {event.call_log.user_id for event in notification.call_log_events}:
                if self.presence.is_polled(user_id):
                    self.entry.async_create_background_task(
                        self.hass, self.presence.async_read_line(user_id), f"{DOMAIN} presence after a call"
                    )
        feature_subscription = self.subscriptions.get(RESOURCE_FEATURE)
        if feature_subscription is not None and notification.subscription_id == feature_subscription.id:
            self.feature_pushes += 1
        if (
            self.stalled
            and feature_subscription is not None
            and notification.subscription_id == feature_subscription.id
        ):
            LOGGER.info("Push notifications arrive again; back to reconciling every %s", FEATURE_RECONCILE_INTERVAL)
            self.stalled = False
            self._clear_issue(ISSUE_STALLED)
            self._async_apply_cadence()
        else:
            async_dispatcher_send(self.hass, signal_push(self.entry.entry_id))

    def diagnostics(self) -> dict[str, Any]:
        """State for diagnostics (URLs are redacted by the caller)."""
        return {
            "healthy": self.healthy,
            "url_source": self.url_source,
            "presence_refused": self.presence_refused,
            "stalled": self.stalled,
            "last_push": self.last_push.isoformat() if self.last_push else None,
            "pushes_received": self.pushes_received,
            "pushes_rejected": self.pushes_rejected,
            "subscriptions": {
                resource: {
                    "expires": sub.expires.isoformat() if sub.expires else None,
                    "renew_at": self._renew_at(resource).isoformat(),
                }
                for resource, sub in self.subscriptions.items()
            },
            "calls": self.calls.totals(),
            "unsupported_endpoints": self.client.unsupported_endpoints(),
            "feature_pushes": self.feature_pushes,
            "enterprise_discovery": self.feature_by_enterprise,
            "enterprise_refused": self.enterprise_refused,
            "discovery_pushes": self.discovery_pushes,
            "lines_discovered": len(self._discovered),
        }
