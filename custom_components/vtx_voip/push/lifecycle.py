"""The subscription lifecycle of an entry: adopt, create, renew, replace, delete.

Subscriptions belong to the entry, not to a run: a run adopts those of ours it finds at
the API (``GET v1/subscriptions``, our notification URL or webhook id), keeps them alive
and replaces one only new before old. Stopping a run (unload, reload, shutdown) leaves
them at the API; only removing the entry (``url.async_remove_subscriptions``) or a line
(the replacement then covers fewer lines) deletes what they covered. The rules (what to
subscribe, which are ours, when to renew) are ``api.subscriptions``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..api import Subscription, VtxAuthenticationError, VtxClient, VtxError, VtxNotFoundError, VtxRequestError
from ..api.assumptions import RESOURCE_PRESENCE, enterprise_of_login
from ..api.subscriptions import Scope, adoptable, covers, granted_at, is_ours, line_scope, wanted
from ..const import LOGGER
from ..lines.discovery import discovery_enabled
from .const import SUBSCRIPTION_LIFETIME
from .gate import WebhookGate
from .renewal import Renewals


class SubscriptionLifecycle(Renewals):
    """Keeps one subscription per resource type alive for an entry's lines."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, client: VtxClient, gate: WebhookGate) -> None:
        """Initialise; ``lines`` and ``on_change`` are wired by the push manager."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.gate = gate
        self.webhook_id = gate.webhook_id
        self.notification_url: str | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self._granted = {}
        # Ours at the API but not wanted (an earlier run's, one replaced): deleted once
        # their replacement is live.
        self._unwanted: dict[str, Subscription] = {}
        self.presence_refused = False
        # With enterprise discovery on, FEATURE covers the whole enterprise (the part of the
        # login after "openapi@"); refused by the API, the lines only.
        self.enterprise: str | None = (
            enterprise_of_login(str(entry.data.get(CONF_USERNAME, ""))) if discovery_enabled(entry) else None
        )
        self.enterprise_refused = False
        self.login_names_refused = False
        # Login names of the lines, as far as known (a per-line FEATURE subscription uses them).
        self.login_names: dict[int, str] = {}
        # The entry's lines, userId -> login name when known.
        self.lines: Callable[[], Mapping[int, str | None]] = dict
        self.on_change: Callable[[], None] = lambda: None
        # Told after each attempt whether creating a subscription failed (a repair issue).
        self.on_result: Callable[[bool], None] = lambda failed: None
        self._subscribe_failure_logged = False
        # Subscription work (create, renew, verify, delete) never interleaves.
        self._lock = asyncio.Lock()
        self.stopped = False

    @property
    def feature_by_enterprise(self) -> bool:
        """Whether the FEATURE subscription is (to be) the enterprise-wide one."""
        return self.enterprise is not None and not self.enterprise_refused

    def _wanted(self) -> dict[str, Scope]:
        return wanted(
            self.lines(),
            enterprise=self.enterprise if self.feature_by_enterprise else None,
            presence=not self.presence_refused,
            feature_by_login=not self.login_names_refused,
        )

    # --- adopt -----------------------------------------------------------------------
    async def async_adopt(self, url: str | None) -> None:
        """Take over the live subscriptions of ours at the API (``url``: the one last given to it).

        Their ids are known from now on (their pushes are taken); one not wanted as it is is
        deleted later, once its replacement is live.
        """
        async with self._lock:
            await self._async_adopt(url)

    async def _async_adopt(self, url: str | None) -> None:
        try:
            listed = await self.client.get_subscriptions()
        except VtxError as err:
            LOGGER.debug("Listing subscriptions failed: %s", err)
            return
        now = dt_util.utcnow()
        want, lines = self._wanted(), self.lines()
        held = {subscription.id for subscription in self.subscriptions.values()}
        for subscription in listed:
            if not is_ours(subscription, url, self.webhook_id) or subscription.id in held:
                continue
            if subscription.id in self._unwanted:  # being replaced: not taken back
                continue
            self.gate.known_ids.add(subscription.id)
            resource, scope = subscription.resource_type, want.get(subscription.resource_type)
            if (
                resource not in self.subscriptions
                and scope is not None
                and covers(subscription, scope, lines)
                and adoptable(subscription, now)
                and subscription.expires is not None
            ):
                LOGGER.debug("Taking over subscription %s (%s) found at the API", subscription.id, resource)
                self.subscriptions[resource] = subscription
                self._granted[resource] = granted_at(subscription.expires, now)
            else:
                self._unwanted[subscription.id] = subscription

    # --- create and delete -----------------------------------------------------------
    async def _async_create(self, resource: str, scope: Scope) -> Subscription:
        """Create one subscription; a refused (4xx) enterprise or loginNames scope falls back to the lines' ids.

        A refusal is not asked again in this run.
        """
        if scope.by_enterprise:
            try:
                return await self._async_post(resource, scope)
            except (VtxRequestError, VtxAuthenticationError) as err:
                if isinstance(err, VtxAuthenticationError) and err.status == 401:
                    raise
                LOGGER.info(
                    "The API refused a FEATURE subscription for the whole enterprise (%s); "
                    "only the configured lines are subscribed and no line is discovered",
                    err,
                )
                self.enterprise_refused = True
                if (line_wanted := self._wanted().get(resource)) is None:
                    raise
                scope = line_wanted
        if scope.login_names:
            try:
                return await self._async_post(resource, scope)
            except VtxRequestError as err:
                LOGGER.info("The API refused a %s subscription by login names (%s); by userIds instead", resource, err)
                self.login_names_refused = True
                scope = line_scope(self.lines(), by_login=False)
        return await self._async_post(resource, scope)

    async def _async_post(self, resource: str, scope: Scope) -> Subscription:
        assert self.notification_url is not None
        return await self.client.create_subscription(
            resource_type=resource,
            notification_url=self.notification_url,
            expires=self.client.server_now() + SUBSCRIPTION_LIFETIME,
            user_ids=list(scope.user_ids),
            login_names=list(scope.login_names),
            enterprise_names=list(scope.enterprise_names),
        )

    async def _async_delete(self, subscription_id: str) -> None:
        try:
            await self.client.delete_subscription(subscription_id)
        except VtxNotFoundError:
            pass
        except VtxError as err:
            LOGGER.debug("Deleting subscription %s failed: %s", subscription_id, err)

    async def _async_ensure(self, *, adopt: bool = True) -> bool:
        """Create what is missing, then delete what it replaced; return whether something failed.

        A held subscription that no longer fits (other lines, another URL) is replaced, new
        before old: when its replacement fails, the old one is kept rather than nothing.
        """
        if self.notification_url is None or self.stopped:
            return False
        want, lines = self._wanted(), self.lines()
        if adopt and any(resource not in self.subscriptions for resource in want):
            # One made by a create whose answer was lost, or by an earlier run: taken over,
            # never duplicated.
            await self._async_adopt(self.notification_url)
        for resource, subscription in list(self.subscriptions.items()):
            scope = want.get(resource)
            if (
                scope is None
                or subscription.notification_url != self.notification_url
                or not covers(subscription, scope, lines)
            ):
                del self.subscriptions[resource]
                self._unwanted[subscription.id] = subscription
        failed = False
        for resource, scope in want.items():
            if resource in self.subscriptions or self.stopped:
                continue
            try:
                created = await self._async_create(resource, scope)
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
                self.gate.known_ids.add(created.id)
        await self._async_settle_unwanted()
        if not failed and self._subscribe_failure_logged:
            LOGGER.info("Push subscriptions work again")
            self._subscribe_failure_logged = False
        self.on_result(failed)
        return failed

    async def _async_settle_unwanted(self) -> None:
        """Delete the unwanted ones whose type is live again (or not wanted); keep one where it is not."""
        want, now = self._wanted(), dt_util.utcnow()
        for subscription_id, subscription in list(self._unwanted.items()):
            resource = subscription.resource_type
            if resource in self.subscriptions or resource not in want:
                del self._unwanted[subscription_id]
                await self._async_delete(subscription_id)
            elif (
                subscription.notification_url == self.notification_url
                and subscription.expires is not None
                and subscription.expires > now
            ):
                # Its replacement failed: it keeps bringing what it covers until retried.
                del self._unwanted[subscription_id]
                self.subscriptions[resource] = subscription
                self._granted.setdefault(resource, granted_at(subscription.expires, now))

    def _log_subscribe_failure(self, resource: str, err: VtxError) -> None:
        """Warn once per streak of failures; the retries log at debug."""
        if self._subscribe_failure_logged:
            LOGGER.debug("Creating a %s subscription failed again: %s", resource, err)
            return
        self._subscribe_failure_logged = True
        LOGGER.warning("Creating a %s subscription failed (retrying every few minutes): %s", resource, err)

    # --- the runs of work ------------------------------------------------------------
    async def _async_run(self, work: Callable[[], Awaitable[object]], *, need_url: bool = True) -> None:
        """Do some subscription work under the lock, then ensure what is missing and set the timer."""
        async with self._lock:
            if self.stopped or (need_url and self.notification_url is None):
                return
            if await work() is False:
                return
            self._schedule_next(await self._async_ensure())
        self.on_change()

    @staticmethod
    async def _async_nothing() -> None:
        """No work of its own (ensuring what is missing is all)."""

    async def async_subscribe(self, url: str) -> None:
        """Subscribe to ``url``: adopt what is ours, create what is missing, replace what points elsewhere."""
        self.notification_url = url
        await self._async_run(self._async_nothing)  # ensuring adopts first when one is missing

    async def async_lines_changed(self) -> None:
        """Give the subscriptions the entry's new lines: each affected one is replaced, new before old."""
        await self._async_run(self._async_nothing)

    async def async_replace(self, resource: str) -> None:
        """Replace one subscription now, new before old (a silent one, tried again)."""

        async def replace() -> None:
            if resource in self.subscriptions:
                await self._async_replace(resource)

        await self._async_run(replace)

    async def _async_replace(self, resource: str) -> bool:
        """Replace one held subscription, new before old; return whether it worked."""
        old = self.subscriptions.pop(resource)
        self._unwanted[old.id] = old
        await self._async_ensure()
        return self.subscriptions.get(resource, old) is not old

    async def async_verify(self) -> None:
        """Check that the API still holds this entry's subscriptions; re-create missing ones."""

        async def verify() -> bool:
            try:
                held = {subscription.id for subscription in await self.client.get_subscriptions()}
            except VtxError as err:
                LOGGER.debug("Listing subscriptions failed: %s", err)
                return False
            for resource, subscription in list(self.subscriptions.items()):
                if subscription.id not in held:
                    LOGGER.info("Push subscription %s is gone; creating a new one", subscription.id)
                    del self.subscriptions[resource]
            return True

        await self._async_run(verify, need_url=False)

    async def async_stop(self) -> None:
        """Stop renewing; the subscriptions stay at the API (they are the entry's)."""
        self.stopped = True
        self._cancel_timer()
        async with self._lock:  # waits for work in flight: nothing is created after this
            pass

    def diagnostics(self) -> dict[str, Any]:
        """Return the held subscriptions (ids and URLs left out)."""
        return {
            resource: {
                "expires": subscription.expires.isoformat() if subscription.expires else None,
                "renew_at": self.renew_at(resource).isoformat(),
                "scope": Scope.of(subscription).kind,
            }
            for resource, subscription in self.subscriptions.items()
        }
