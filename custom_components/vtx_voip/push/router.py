"""The notification router: a push taken by the webhook goes to the ledger, the coordinators, discovery.

Calls are on disk in the ledger before the API hears 2xx; when they cannot be, a 503 lets
the API deliver them again (nothing acknowledged is lost). A push about lines no entry
has starts their discovery flows and changes nothing else. After a finished call the
line's presence is read (always: a PRESENCE push may be silent); a change that read finds
and no PRESENCE push brought counts against presence push (see ``health``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from http import HTTPStatus

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from ..api import Notification
from ..api.assumptions import RESOURCE_PRESENCE
from ..billing.calls import CallTracker
from ..billing.ledger import LedgerError
from ..const import DOMAIN, LOGGER
from ..coordinator import VtxFeatureCoordinator, VtxPresenceCoordinator
from ..lines.discovery import async_discover_line, async_learn_sip_domain, configured_user_ids
from .const import signal_push
from .gate import WebhookGate
from .health import PushHealth


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


class NotificationRouter:
    """Applies the pushes the webhook gate hands over."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        gate: WebhookGate,
        features: VtxFeatureCoordinator,
        presence: VtxPresenceCoordinator,
        calls: CallTracker,
        health: PushHealth,
    ) -> None:
        """Initialise; the push manager wires the callbacks below."""
        self.hass = hass
        self.entry = entry
        self.gate = gate
        self.features = features
        self.presence = presence
        self.calls = calls
        self.health = health
        self.presence_pushed: Callable[[], bool] = lambda: False
        self.discovery_on: Callable[[], bool] = lambda: False
        self.learn_logins: Callable[[Mapping[int, str]], None] = lambda logins: None
        self.stopped = False
        # userIds whose discovery this run started; pushes about other lines seen.
        self.discovered: set[int] = set()
        self.discovery_pushes = 0
        self.pushes_received = 0
        self.last_push: datetime | None = None
        # The login the SIP domain was last learned from (the same one again teaches nothing).
        self._domain_login: str | None = None

    async def async_receive(self, notification: Notification) -> HTTPStatus:
        """Apply one push; return the status to answer."""
        if not self.gate.is_ours(notification, self.features.lines):
            self.gate.reject(
                HTTPStatus.FORBIDDEN, "Rejected a push for unknown subscription %s", notification.subscription_id
            )
            return HTTPStatus.FORBIDDEN
        if notification.skipped or notification.unknown_keys:
            LOGGER.debug(
                "Push %s: %s entries skipped, unknown keys %s",
                notification.subscription_id,
                notification.skipped,
                notification.unknown_keys,
            )
        try:
            if notification.call_log_events:
                await self.calls.async_record(event.call_log for event in notification.call_log_events)
        except LedgerError as err:
            LOGGER.warning("A call push could not be written to the call ledger: %s", err)
            self.gate.rejected += 1
            return HTTPStatus.SERVICE_UNAVAILABLE
        self._async_apply(notification)
        return HTTPStatus.OK

    async def async_replay(self, held: Iterable[Notification]) -> None:
        """Apply the pushes held while no run was open, oldest first."""
        for notification in held:
            await self.async_receive(notification)

    @callback
    def _async_discover(self, notification: Notification) -> bool:
        """Start discovery for the unknown lines a push names; return whether it named a known one.

        The SIP domain of the login names is learned from the push contexts too.
        """
        lines = self.features.lines
        logins = notification.login_names()
        if logins:
            if (login := next(iter(logins.values()))) != self._domain_login:
                self._domain_login = login
                async_learn_sip_domain(self.hass, self.entry, login)
            self.learn_logins({user_id: login for user_id, login in logins.items() if user_id in lines})
        named = notification.lines()
        unknown = {user_id: login for user_id, login in named.items() if user_id not in lines}
        if unknown and self.discovery_on() and not self.stopped:
            configured = configured_user_ids(self.hass)
            for user_id, user_login in unknown.items():
                if user_id not in self.discovered and user_id not in configured:
                    self.discovered.add(user_id)
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
        previous, self.last_push = self.last_push, dt_util.utcnow()
        for event in notification.feature_events:
            self.features.async_apply_feature(event.feature, event.event_time, previous=event.previous_value)
        for presence_event in notification.presence_events:
            if (user_id := presence_event.user_id) is not None:
                self.presence.async_apply_presence(user_id, presence_event.presence, presence_event.event_time)
        # A call ended: the line's presence changed. It is read now, whether or not presence
        # is pushed (a silent PRESENCE push is found this way).
        for user_id in {event.call_log.user_id for event in notification.call_log_events}:
            if self.presence.is_polled(user_id) and not self.stopped:
                self.entry.async_create_background_task(
                    self.hass, self._async_presence_after_call(user_id), f"{DOMAIN} presence after a call"
                )
        self.health.async_pushed(notification.resources())
        if previous is None or _minute(previous) != _minute(self.last_push):
            # Its listeners show the last push to the minute (push health changes are
            # signalled by the manager): one signal a minute, not one per push.
            async_dispatcher_send(self.hass, signal_push(self.entry.entry_id))

    async def _async_presence_after_call(self, user_id: int) -> None:
        pushes_then = self.health.pushes[RESOURCE_PRESENCE]
        before = (self.presence.data or {}).get(user_id)
        read = await self.presence.async_read_line(user_id)
        if read and self.presence_pushed() and not self.stopped and (self.presence.data or {}).get(user_id) != before:
            self.health.async_found_change(RESOURCE_PRESENCE, pushes_then)
