"""Coordinators of the VTX VoIP integration: features and presence of every line."""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import Feature, Presence, VtxAuthenticationError, VtxClient, VtxError, VtxNotFoundError, VtxRateLimitError
from .const import DOMAIN, LOGGER
from .data import LineConfig, VtxConfigEntry

type LineFeatures = dict[str, Feature]

# Lines whose read failed while others worked are read again this long after (or after the
# API's Retry-After, if longer), not only at the next poll of every line.
FAILED_LINE_RETRY: Final = timedelta(seconds=60)


def signal_poll_found_changes(entry_id: str) -> str:
    """Dispatcher signal: a feature poll found changes that no push or write brought."""
    return f"{DOMAIN}_{entry_id}_poll_found_changes"


class VtxLinesCoordinator[T](DataUpdateCoordinator[dict[int, T]]):
    """Reads one resource of every line per cycle, with bounded concurrency.

    ``data`` holds the lines whose data is current: a line whose read fails leaves it (its
    entities become unavailable) while the others keep theirs; only when every line fails
    is the whole update failed. A read the client did not send because the API asked it
    to wait (``Retry-After``) keeps that line's data as it was. Each line's loss is logged
    once, at info, and once when it is back.
    """

    resource: str

    def __init__(
        self,
        hass: HomeAssistant,
        entry: VtxConfigEntry,
        client: VtxClient,
        lines: dict[int, LineConfig],
        semaphore: asyncio.Semaphore,
        update_interval: timedelta | None,
    ) -> None:
        """Initialise for the lines of an entry (``lines`` is shared, not copied)."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {self.resource}",
            update_interval=update_interval,
            always_update=False,
        )
        self.client = client
        self.lines = lines
        self._semaphore = semaphore
        # Lines whose last read failed (for logging their loss and return once each).
        self._failing: set[int] = set()
        # When each line's data was last known to be true (poll start or push event time).
        self._stamps: dict[int, datetime] = {}
        # The last data of lines whose read failed: a push about them brings them back.
        self._last_known: dict[int, T] = {}
        self._cancel_retry: Callable[[], None] | None = None

    def _merge(self, user_id: int, held: T | None, polled: T, started: datetime) -> T:
        """Combine a line's polled data with what is held: what arrived during the poll wins."""
        if held is not None and self._stamps.get(user_id, started) > started:
            return held
        return polled

    @abstractmethod
    async def _fetch_line(self, user_id: int) -> T:
        """Read one line's resource."""

    async def _fetch_guarded(self, user_id: int) -> T:
        async with self._semaphore:
            return await self._fetch_line(user_id)

    def line_available(self, user_id: int) -> bool:
        """Whether a line's data is current."""
        return self.last_update_success and user_id in (self.data or {})

    def line_data(self, user_id: int) -> T | None:
        """Return a line's current data, if any."""
        return (self.data or {}).get(user_id)

    def last_known(self, user_id: int) -> T | None:
        """Return a line's data, current or (when its read failed) the last known."""
        return (self.data or {}).get(user_id) or self._last_known.get(user_id)

    def _log_line_health(self, errors: dict[int, VtxError], recovered: set[int]) -> None:
        for user_id, error in errors.items():
            if user_id not in self._failing:
                LOGGER.info("Line %s: reading its %s failed: %s", user_id, self.resource, error)
        for user_id in recovered & self._failing:
            LOGGER.info("Line %s: reading its %s works again", user_id, self.resource)
        self._failing = (self._failing - recovered) | errors.keys()

    async def _async_update_data(self) -> dict[int, T]:
        previous = self.data or {}
        started = dt_util.utcnow()
        user_ids = list(self.lines)
        results = await asyncio.gather(*(self._fetch_guarded(uid) for uid in user_ids), return_exceptions=True)
        data: dict[int, T] = {}
        errors: dict[int, VtxError] = {}
        rate_limited: VtxRateLimitError | None = None
        forbidden = 0
        for user_id, result in zip(user_ids, results, strict=True):
            if isinstance(result, VtxRateLimitError) and result.paused:
                # Not asked: the API wants us to wait. What is held stays as it is.
                if user_id in previous:
                    data[user_id] = previous[user_id]
                continue
            if isinstance(result, VtxAuthenticationError):
                if result.status == 401:
                    raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed") from result
                forbidden += 1
            if isinstance(result, VtxRateLimitError):
                rate_limited = result
            if isinstance(result, VtxError):
                errors[user_id] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                data[user_id] = self._merge(user_id, previous.get(user_id), result, started)
                self._stamps[user_id] = max(self._stamps.get(user_id, started), started)
        if user_ids and forbidden == len(user_ids):
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
        if user_ids and len(errors) == len(user_ids):
            error = rate_limited or next(iter(errors.values()))
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited" if rate_limited else "update_failed",
                translation_placeholders=None if rate_limited else {"error": str(error)},
                retry_after=rate_limited.retry_after if rate_limited else None,
            ) from error
        self._log_line_health(errors, set(data))
        self._last_known = {
            user_id: value
            for user_id in errors
            if (value := previous.get(user_id, self._last_known.get(user_id))) is not None
        }
        self._schedule_retry(set(errors), rate_limited.retry_after if rate_limited else None)
        if any(user_id in previous and previous[user_id] != value for user_id, value in data.items()):
            self._async_poll_found_changes()
        return data

    def _schedule_retry(self, user_ids: set[int], retry_after: float | None) -> None:
        """Read the lines that failed again soon (a poll of every line may be far off)."""
        if self._cancel_retry is not None:
            self._cancel_retry()
            self._cancel_retry = None
        if not user_ids:
            return
        delay = max(FAILED_LINE_RETRY.total_seconds(), retry_after or 0)
        if self.update_interval is not None and delay >= self.update_interval.total_seconds():
            return

        async def _retry(_now: datetime) -> None:
            self._cancel_retry = None
            for user_id in user_ids:
                if user_id in self.lines and user_id not in (self.data or {}):
                    await self.async_read_line(user_id)

        self._cancel_retry = async_call_later(self.hass, delay, _retry)

    async def async_shutdown(self) -> None:
        """Cancel the retry of failed lines too."""
        self._schedule_retry(set(), None)
        await super().async_shutdown()

    @callback
    def _async_poll_found_changes(self) -> None:
        """Tell that a poll changed data that was held (overridden where it matters)."""

    @callback
    def _async_store_line(self, user_id: int, value: T) -> None:
        """Store one line's data outside a poll and tell the entities."""
        self.data = {**(self.data or {}), user_id: value}
        self._last_known.pop(user_id, None)
        if user_id in self._failing:
            self._failing.discard(user_id)
            LOGGER.info("Line %s: its %s is known again", user_id, self.resource)
        self.async_update_listeners()

    async def async_read_line(self, user_id: int) -> bool:
        """Read one line now (a line just added, or one that failed); return whether it worked."""
        try:
            value = await self._fetch_guarded(user_id)
        except VtxError as err:
            self._log_line_health({user_id: err}, set())
            return False
        if user_id in self.lines:
            self._stamps[user_id] = dt_util.utcnow()
            self._async_store_line(user_id, value)
        return True

    @callback
    def async_forget_line(self, user_id: int) -> None:
        """Drop a removed line's data."""
        self._failing.discard(user_id)
        self._stamps.pop(user_id, None)
        self._last_known.pop(user_id, None)
        if self.data is not None and user_id in self.data:
            self.data = {uid: value for uid, value in self.data.items() if uid != user_id}
            self.async_update_listeners()


class VtxFeatureCoordinator(VtxLinesCoordinator[LineFeatures]):
    """The features of every line, by featName."""

    resource = "features"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Initialise; see ``VtxLinesCoordinator``."""
        super().__init__(*args, **kwargs)
        self._locks: dict[int, asyncio.Lock] = {}
        self._feature_stamps: dict[int, datetime] = {}

    def _merge(self, user_id: int, held: LineFeatures | None, polled: LineFeatures, started: datetime) -> LineFeatures:
        """Merge per feature: a feature pushed or written while the poll ran is kept.

        Pushes stamp features, not lines, so an event about one feature never makes an
        older event about another feature of the same line look out of date.
        """
        if held is None:
            return polled
        merged = dict(polled)
        for name, feature in polled.items():
            kept = held.get(name)
            if kept is not None and kept.id == feature.id and self._feature_stamps.get(kept.id, started) > started:
                merged[name] = kept
        return merged

    @callback
    def _async_poll_found_changes(self) -> None:
        if self.config_entry is not None:
            async_dispatcher_send(self.hass, signal_poll_found_changes(self.config_entry.entry_id))

    async def _fetch_line(self, user_id: int) -> LineFeatures:
        features = await self.client.get_features(user_id)
        return {feature.name: feature for feature in features}

    def feature(self, user_id: int, feat_name: str) -> Feature | None:
        """Return a line's feature, if it has it."""
        return (self.data or {}).get(user_id, {}).get(feat_name)

    @callback
    def async_apply_feature(self, feature: Feature, event_time: datetime | None = None) -> bool:
        """Apply a feature pushed by the API or read by an action; return whether it changed.

        Features of unknown lines, unknown features, events older than the state held and
        events that change nothing are ignored, so a duplicate changes nothing twice.
        """
        line = (self.data or {}).get(feature.user_id) or self._last_known.get(feature.user_id)
        if line is None or feature.user_id not in self.lines:
            return False
        current = line.get(feature.name)
        if current is None or current.id != feature.id:
            return False
        stamp = event_time or dt_util.utcnow()
        held = max(self._feature_stamps.get(feature.id, stamp), self._stamps.get(feature.user_id, stamp))
        if stamp < held:
            LOGGER.debug("Ignoring an out-of-order event for feature %s", feature.id)
            return False
        self._feature_stamps[feature.id] = stamp
        if current == feature:
            return False
        self._async_store_line(feature.user_id, {**line, feature.name: feature})
        return True

    async def async_write_feature(
        self, line: LineConfig, feat_name: str, change: Callable[[Feature], Feature]
    ) -> Feature:
        """Read a feature, change it and PUT the whole of it back; state follows the answer.

        Two writes to one line never interleave. ``change`` may raise a translated
        ``HomeAssistantError``; API failures are raised as translated ones too: 401 starts
        re-authentication, 403 means the API does not allow this change.
        """
        user_id = line.user_id
        placeholders = {"feature": feat_name, "line": line.name}
        current = self.feature(user_id, feat_name)
        if current is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="feature_not_available",
                translation_placeholders=placeholders,
            )
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            try:
                fresh = await self.client.get_feature(current.id)
                updated = change(fresh)
                answer = fresh if updated == fresh else await self.client.put_feature(updated)
            except VtxAuthenticationError as err:
                if err.status != 401:
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="write_forbidden",
                        translation_placeholders=placeholders,
                    ) from err
                if self.config_entry is not None:
                    self.config_entry.async_start_reauth(self.hass)
                raise HomeAssistantError(translation_domain=DOMAIN, translation_key="auth_failed") from err
            except VtxNotFoundError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="feature_not_available",
                    translation_placeholders=placeholders,
                ) from err
            except VtxError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="write_failed",
                    translation_placeholders={**placeholders, "error": str(err)},
                ) from err
            self._force_feature(answer)
            return answer

    @callback
    def _force_feature(self, feature: Feature) -> None:
        """Store what the API answered to our own write (newest by definition)."""
        line = (self.data or {}).get(feature.user_id)
        if line is None or feature.user_id not in self.lines:
            return
        self._feature_stamps[feature.id] = dt_util.utcnow()
        self._async_store_line(feature.user_id, {**line, feature.name: feature})


class VtxPresenceCoordinator(VtxLinesCoordinator[Presence]):
    """The presence of every line."""

    resource = "presence"

    async def _fetch_line(self, user_id: int) -> Presence:
        return await self.client.get_presence(user_id)

    @callback
    def async_apply_presence(self, user_id: int, presence: Presence, event_time: datetime | None = None) -> bool:
        """Apply a pushed presence; older or unchanged ones are ignored."""
        if user_id not in self.lines:
            return False
        stamp = event_time or dt_util.utcnow()
        if stamp < self._stamps.get(user_id, stamp):
            return False
        self._stamps[user_id] = stamp
        if (self.data or {}).get(user_id) == presence:
            return False
        self._async_store_line(user_id, presence)
        return True
