"""Renewals of an entry's subscriptions: when each is due, the timer, and what a refusal means.

Each subscription is renewed (``PATCH``, INFERRED) when a third of its lifetime is left
(``api.subscriptions.renew_at``); one gone is created anew; an API that refuses renewals
gets a new subscription before the old one expires (new first, then the old one deleted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
import time
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..api import Subscription, VtxClient, VtxError, VtxNotFoundError, VtxRequestError, VtxUnsupportedError
from ..api.subscriptions import renew_at
from ..const import LOGGER
from .const import MIN_RENEW_DELAY, RETRY_DELAY, SUBSCRIPTION_LIFETIME

# A renewal refused within this long (seconds) is not asked again: the subscription is replaced.
RENEW_REFUSED_MEMORY = 3600


class Renewals:
    """The renewal part of ``lifecycle.SubscriptionLifecycle`` (which provides what is declared here)."""

    hass: HomeAssistant
    client: VtxClient
    notification_url: str | None
    subscriptions: dict[str, Subscription]
    stopped: bool
    on_change: Callable[[], None]
    _lock: asyncio.Lock
    # When each held subscription was created or last renewed (to pace renewals).
    _granted: dict[str, datetime]
    _renewal_refused_logged: bool = False
    _renew_refused_at: float | None = None
    _timer: CALLBACK_TYPE | None = None

    if TYPE_CHECKING:
        # Provided by SubscriptionLifecycle: replace one resource's subscription, ensure all.
        async def _async_replace(self, resource: str) -> bool: ...

        async def _async_ensure(self, *, adopt: bool = True) -> bool: ...

    async def async_renew(self) -> None:
        """Renew every subscription due; re-create those that are gone or missing."""
        async with self._lock:
            if self.stopped:
                return
            failed = False
            now = dt_util.utcnow()
            for resource, subscription in list(self.subscriptions.items()):
                if self.renew_at(resource) - now > MIN_RENEW_DELAY:
                    continue
                if (
                    self._renew_refused_at is not None
                    and time.monotonic() - self._renew_refused_at < RENEW_REFUSED_MEMORY
                ):
                    failed = not await self._async_replace(resource) or failed
                    continue
                failed = await self._async_renew_one(resource, subscription, now) or failed
            failed = await self._async_ensure() or failed
            self._schedule_next(failed)
        self.on_change()

    async def _async_renew_one(self, resource: str, subscription: Subscription, now: datetime) -> bool:
        """Renew one subscription (replace it when the API refuses renewals); return whether it failed."""
        try:
            renewed = await self.client.renew_subscription(
                subscription.id, self.client.server_now() + SUBSCRIPTION_LIFETIME
            )
        except VtxNotFoundError:
            LOGGER.info("Push subscription %s is gone; creating a new one", subscription.id)
            del self.subscriptions[resource]
        except (VtxUnsupportedError, VtxRequestError) as err:
            # The API refuses renewals: a new subscription replaces this one before it
            # expires (new first, then the old one deleted: no gap).
            if isinstance(err, VtxRequestError) or err.asked:
                self._renew_refused_at = time.monotonic()
            if not self._renewal_refused_logged:
                self._renewal_refused_logged = True
                LOGGER.info("The API does not renew subscriptions (%s); replacing them instead", err)
            return not await self._async_replace(resource)
        except VtxError as err:
            LOGGER.debug("Renewing subscription %s failed: %s", subscription.id, err)
            if subscription.expires is not None and subscription.expires <= dt_util.utcnow():
                del self.subscriptions[resource]
            return True
        else:
            self.subscriptions[resource] = renewed or Subscription.from_json(
                {**subscription.raw, "expires": (self.client.server_now() + SUBSCRIPTION_LIFETIME).isoformat()}
            )
            self._granted[resource] = now
        return False

    # --- timer -----------------------------------------------------------------------
    def renew_at(self, resource: str) -> datetime:
        """When a held subscription is due for renewal."""
        return renew_at(self.subscriptions[resource].expires, self._granted.get(resource) or dt_util.utcnow())

    def _schedule_next(self, failed: bool) -> None:
        """Set the timer: a retry after a failure, else the next renewal."""
        self._cancel_timer()
        if self.stopped or self.notification_url is None:
            return
        now = dt_util.utcnow()
        if failed:
            when = now + RETRY_DELAY
        elif self.subscriptions:
            when = max(min(self.renew_at(resource) for resource in self.subscriptions), now + MIN_RENEW_DELAY)
        else:
            return
        self._timer = async_track_point_in_utc_time(self.hass, self._async_timer_fired, when)

    async def _async_timer_fired(self, _now: datetime) -> None:
        self._timer = None
        await self.async_renew()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None
