"""The push manager: wires an entry's webhook gate, subscription lifecycle, router and health.

The API POSTs feature changes, finished calls (and, if it accepts the subscription,
presence changes) to a notification URL (see ``url``). ``gate`` keeps the webhook
registered across runs, ``lifecycle`` keeps the subscriptions alive, ``router`` applies
what arrives, ``health`` finds a resource whose push is silent. This module picks the
URL, sets the polling cadence from what push is trusted to bring, and reports.

With enterprise discovery on (the default), the FEATURE subscription covers every user of
the account's enterprise: a push about a line that no entry has starts that line's
discovery flow and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from ..api import Subscription, VtxClient
from ..api.assumptions import RESOURCE_CALL_LOG, RESOURCE_FEATURE, RESOURCE_PRESENCE, enterprise_of_login
from ..billing.calls import CallTracker
from ..const import DOMAIN, FEATURE_POLL_INTERVAL, FEATURE_RECONCILE_INTERVAL, LOGGER
from ..coordinator import VtxFeatureCoordinator, VtxPresenceCoordinator, signal_poll_found_changes
from ..lines.discovery import async_abort_line_discoveries, discovery_enabled
from .const import (
    CALL_FALLBACK_INTERVAL,
    CALL_RECONCILE_INTERVAL,
    ISSUE_NO_URL,
    ISSUE_STALLED,
    ISSUE_SUBSCRIBE_FAILED,
    URL_SOURCE_OPTION,
    signal_push,
)
from .health import PushHealth
from .lifecycle import SubscriptionLifecycle
from .logins import PushMemory
from .prepare import line_logins
from .router import NotificationRouter
from .url import async_clear_issue, async_listen_url_changes, async_notification_url, async_raise_issue


class PushManager:
    """Keeps push working for one entry, or polling for what it does not bring."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: VtxClient,
        features: VtxFeatureCoordinator,
        presence: VtxPresenceCoordinator,
        calls: CallTracker,
        lifecycle: SubscriptionLifecycle,
    ) -> None:
        """Initialise; nothing runs before ``async_start``."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.features = features
        self.presence = presence
        self.calls = calls
        self.lifecycle = lifecycle
        self.gate = lifecycle.gate
        self.webhook_id = self.gate.webhook_id
        self.url_source: str | None = None
        lifecycle.lines = lambda: line_logins(entry, features.lines, lifecycle.login_names)
        lifecycle.on_change = self._async_apply_cadence
        lifecycle.on_result = self._async_subscribe_result
        self.health = PushHealth(hass, self._trusted, self._async_silent, self._async_retry, self._async_cleared)
        self.router = NotificationRouter(hass, entry, self.gate, features, presence, calls, self.health)
        self.router.presence_pushed = lambda: self.presence_pushed
        self.router.discovery_on = lambda: self.feature_by_enterprise
        self.memory = PushMemory(hass, entry, lifecycle)
        self.router.learn_logins = self.memory.async_learn
        self._was_healthy = False
        self._was_presence_pushed = False
        self._unsubs: list[Callable[[], None]] = []
        self._stopped = False

    # --- state -----------------------------------------------------------------------
    @property
    def subscriptions(self) -> dict[str, Subscription]:
        """The subscriptions held, by resource type."""
        return self.lifecycle.subscriptions

    @property
    def notification_url(self) -> str | None:
        """The URL the API pushes to (None: none found)."""
        return self.lifecycle.notification_url

    @property
    def presence_refused(self) -> bool:
        """Whether the API refused a PRESENCE subscription."""
        return self.lifecycle.presence_refused

    @property
    def feature_by_enterprise(self) -> bool:
        """Whether the FEATURE subscription is (to be) the enterprise-wide one."""
        return self.lifecycle.feature_by_enterprise

    @property
    def stalled(self) -> bool:
        """Whether feature pushes proved silent."""
        return RESOURCE_FEATURE in self.health.silent

    @property
    def silent_resources(self) -> list[str]:
        """The resources whose push proved silent (polled meanwhile), lower case."""
        return sorted(resource.lower() for resource in self.health.silent)

    @property
    def pushes_received(self) -> int:
        """Pushes applied in this run."""
        return self.router.pushes_received

    @property
    def pushes_rejected(self) -> int:
        """Pushes refused since this run opened the webhook."""
        return self.gate.rejected

    @property
    def last_push(self) -> datetime | None:
        """When the last push was applied."""
        return self.router.last_push

    def _trusted(self, resource: str) -> bool:
        """Whether changes of a resource are expected to arrive by push."""
        return (
            not self._stopped
            and self.notification_url is not None
            and resource in self.subscriptions
            and resource not in self.health.silent
        )

    @property
    def healthy(self) -> bool:
        """Whether feature changes are expected to arrive by push."""
        return self._trusted(RESOURCE_FEATURE)

    @property
    def presence_pushed(self) -> bool:
        """Whether presence changes are expected to arrive by push."""
        return self.healthy and self._trusted(RESOURCE_PRESENCE)

    @property
    def calls_pushed(self) -> bool:
        """Whether finished calls are expected to arrive by push."""
        return self.healthy and self._trusted(RESOURCE_CALL_LOG)

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

    # --- lifecycle -------------------------------------------------------------------
    async def async_start(self, *, subscribe: bool = True) -> None:
        """Take the pushes (those held meanwhile first), then (unless told to wait for ``async_subscribe``) subscribe.

        Until subscribed the lines are polled as without push.
        """
        held = self.gate.async_open(self.router.async_receive)
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._async_call_fallback, CALL_FALLBACK_INTERVAL, cancel_on_shutdown=True
            )
        )
        self._unsubs.extend(async_listen_url_changes(self.hass, self._async_url_may_have_changed))
        self._unsubs.append(
            async_dispatcher_connect(
                self.hass, signal_poll_found_changes(self.entry.entry_id), self._async_poll_found_changes
            )
        )
        await self.router.async_replay(held)
        if subscribe:
            await self.async_subscribe()
        else:
            self._async_apply_cadence()

    async def async_subscribe(self) -> None:
        """Find the URL, subscribe and set the polling cadence."""
        if self._stopped:
            return
        url, self.url_source = await self._async_notification_url()
        if url is None:
            LOGGER.warning(
                "No URL for push notifications (no push base URL, cloud subscription or external URL); polling"
            )
            self._raise_issue(ISSUE_NO_URL)
        else:
            self._clear_issue(ISSUE_NO_URL)
            await self.memory.async_save(url)
            await self.lifecycle.async_subscribe(url)
        self._async_apply_cadence()

    async def async_stop(self) -> None:
        """Stop timers and hand the webhook back to the gate; the subscriptions stay (they are the entry's)."""
        self._stopped = True
        self.router.stopped = True
        await self.memory.async_stop()
        self.gate.async_close()
        self.health.async_stop()
        while self._unsubs:
            self._unsubs.pop()()
        await self.lifecycle.async_stop()

    async def async_lines_changed(self) -> None:
        """Give the subscriptions the entry's new lines (each affected one replaced, new before old)."""
        self.router.discovered -= set(self.features.lines)  # a line set up now and removed later is offered again
        async_abort_line_discoveries(self.hass, set(self.features.lines))
        await self.lifecycle.async_lines_changed()

    async def async_options_changed(self) -> None:
        """Apply the discovery and push base URL options in place (no reload).

        Only what they change is touched at the API: the FEATURE subscription when
        discovery was turned on or off, each subscription when the notification URL is
        another one (replaced new before old, as for a change of lines); else nothing.
        Left without any URL, the entry is reloaded (set up as without push).
        """
        if self._stopped:
            return
        lifecycle = self.lifecycle
        enterprise = (
            enterprise_of_login(str(self.entry.data.get(CONF_USERNAME, ""))) if discovery_enabled(self.entry) else None
        )
        scope_changed = enterprise != lifecycle.enterprise
        if scope_changed:
            lifecycle.enterprise, lifecycle.enterprise_refused = enterprise, False
        url, _source = await self._async_notification_url()
        if url is None and self.notification_url is not None:
            # No URL any more (the push base URL cleared, nothing else): set up afresh, as
            # without one (polled).
            LOGGER.info("No URL for push notifications any more; reloading %s", self.entry.title)
            self.hass.config_entries.async_schedule_reload(self.entry.entry_id)
        elif scope_changed or url != self.notification_url:
            await self.async_subscribe()

    async def async_renew(self) -> None:
        """Renew what is due (see ``lifecycle``)."""
        await self.lifecycle.async_renew()

    async def async_verify(self) -> None:
        """Check the subscriptions at the API (see ``lifecycle``)."""
        await self.lifecycle.async_verify()

    def _raise_issue(self, issue: str, **placeholders: str) -> None:
        async_raise_issue(self.hass, self.entry, issue, **placeholders)

    def _clear_issue(self, issue: str) -> None:
        async_clear_issue(self.hass, self.entry.entry_id, issue)

    @callback
    def _async_subscribe_result(self, failed: bool) -> None:
        """Raise the repair issue while creating a subscription fails; clear it once it works."""
        if failed:
            self._raise_issue(ISSUE_SUBSCRIBE_FAILED)
        else:
            self._clear_issue(ISSUE_SUBSCRIBE_FAILED)

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

    # --- fallback and silence --------------------------------------------------------
    async def _async_call_fallback(self, now: datetime) -> None:
        """Read call history: each minute without call push, each hour with it (new calls then: push missed them)."""
        last = self.calls.last_check
        pushed = self.calls_pushed
        if not pushed or last is None or now - last >= CALL_RECONCILE_INTERVAL:
            pushes_then = self.health.pushes[RESOURCE_CALL_LOG]
            if await self.calls.async_backfill(self.client) and pushed:
                self.health.async_found_change(RESOURCE_CALL_LOG, pushes_then)

    @callback
    def _async_poll_found_changes(self, resource: str = RESOURCE_FEATURE) -> None:
        """Give push a grace period: the changes a poll found may still be on their way."""
        self.health.async_found_change(resource)

    @callback
    def _async_silent(self, resource: str) -> None:
        """Poll a resource again: a reconciliation found what its push should have brought."""
        if resource == RESOURCE_FEATURE:
            LOGGER.warning("Feature changes did not arrive by push; polling until push works again")
            self._raise_issue(ISSUE_STALLED, url_source=self.url_source or "-")
            # The API may have dropped the subscriptions without telling: check them.
            self.entry.async_create_background_task(self.hass, self.async_verify(), f"{DOMAIN} verify subscriptions")
        else:
            LOGGER.warning("%s changes did not arrive by push; polling them, subscription retried later", resource)
        self._async_apply_cadence()

    @callback
    def _async_retry(self, resource: str) -> None:
        """Try a silent resource's push again: its subscription is replaced."""
        LOGGER.info("Trying %s push again", resource)
        if resource == RESOURCE_FEATURE:
            self._clear_issue(ISSUE_STALLED)
        self.entry.async_create_background_task(
            self.hass, self.lifecycle.async_replace(resource), f"{DOMAIN} retry {resource} push"
        )
        self._async_apply_cadence()

    @callback
    def _async_cleared(self, resource: str) -> None:
        """Go back to reconciling a resource: a push of it arrived."""
        LOGGER.info(
            "%s push notifications arrive again; back to reconciling every %s", resource, FEATURE_RECONCILE_INTERVAL
        )
        if resource == RESOURCE_FEATURE:
            self._clear_issue(ISSUE_STALLED)
        self._async_apply_cadence()

    def diagnostics(self) -> dict[str, Any]:
        """State for diagnostics (URLs are redacted by the caller)."""
        return {
            "healthy": self.healthy,
            "url_source": self.url_source,
            "presence_refused": self.presence_refused,
            "stalled": self.stalled,
            "silent": self.silent_resources,
            "last_push": self.last_push.isoformat() if self.last_push else None,
            "pushes_received": self.pushes_received,
            "pushes_rejected": self.pushes_rejected,
            "subscriptions": self.lifecycle.diagnostics(),
            "calls": self.calls.totals(),
            "unsupported_endpoints": self.client.unsupported_endpoints(),
            "pushes_by_resource": self.health.diagnostics(),
            "feature_pushes": self.health.pushes[RESOURCE_FEATURE],
            "enterprise_discovery": self.feature_by_enterprise,
            "enterprise_refused": self.lifecycle.enterprise_refused,
            "login_names_refused": self.lifecycle.login_names_refused,
            "discovery_pushes": self.router.discovery_pushes,
            "lines_discovered": len(self.router.discovered),
        }
