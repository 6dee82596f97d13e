"""Coordinators of the VTX VoIP integration: features and presence of every line."""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    Feature,
    Presence,
    ServerInfo,
    VtxAuthenticationError,
    VtxClient,
    VtxError,
    VtxNotFoundError,
    VtxRateLimitError,
)
from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from .calls import CallTracker
    from .lines import LineManager
    from .push import PushManager


@dataclass(frozen=True, slots=True)
class LineConfig:
    """A phone line as configured by a sub-entry."""

    user_id: int
    name: str
    subentry_id: str


@dataclass(slots=True)
class VtxRuntimeData:
    """What a loaded entry holds (``entry.runtime_data``)."""

    client: VtxClient
    server: ServerInfo
    lines: dict[int, LineConfig]
    features: VtxFeatureCoordinator
    presence: VtxPresenceCoordinator
    account_device_id: str = ""
    calls: CallTracker | None = field(default=None)
    manager: LineManager | None = field(default=None)
    push: PushManager | None = field(default=None)


type VtxConfigEntry = ConfigEntry[VtxRuntimeData]
type LineFeatures = dict[str, Feature]


class VtxLinesCoordinator[T](DataUpdateCoordinator[dict[int, T]]):
    """Reads one resource of every line per cycle, with bounded concurrency.

    A line whose read fails keeps its last data but is listed in ``failed_lines`` (its
    entities are unavailable); only when every line fails is the whole update failed.
    Each line's unavailability is logged once, and once when it is back.
    """

    resource: str

    def __init__(
        self,
        hass: HomeAssistant,
        entry: VtxConfigEntry,
        client: VtxClient,
        lines: Mapping[int, LineConfig],
        semaphore: asyncio.Semaphore,
        update_interval: timedelta | None,
    ) -> None:
        """Initialise for the lines of an entry."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {self.resource}",
            update_interval=update_interval,
            always_update=False,
        )
        self.client = client
        self.lines = dict(lines)
        self._semaphore = semaphore
        self.failed_lines: set[int] = set()
        # When each line's data was last known to be true (poll start or push event time).
        self._stamps: dict[int, datetime] = {}
        self.last_poll: datetime | None = None
        # Told after each successful poll whether it found data that push did not bring.
        self.reconcile_listener: Callable[[bool], None] | None = None
        # Set by a poll after which the entities must be told although the base class sees
        # equal data (see ``_async_refresh_finished``).
        self._notify_anyway = False

    def _differs(self, old: T, new: T) -> bool:
        """Whether polled data differs from the data held."""
        return old != new

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
        return self.last_update_success and user_id not in self.failed_lines and user_id in (self.data or {})

    async def _async_update_data(self) -> dict[int, T]:
        previous = self.data
        started = dt_util.utcnow()
        user_ids = list(self.lines)
        results = await asyncio.gather(*(self._fetch_guarded(uid) for uid in user_ids), return_exceptions=True)
        data: dict[int, T] = dict(self.data or {})
        changed = False
        errors: dict[int, VtxError] = {}
        rate_limited: VtxRateLimitError | None = None
        forbidden = 0
        for user_id, result in zip(user_ids, results, strict=True):
            if isinstance(result, VtxAuthenticationError):
                if result.status == 401:
                    raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed") from result
                forbidden += 1
                errors[user_id] = result
            elif isinstance(result, VtxRateLimitError):
                rate_limited = result
                errors[user_id] = result
            elif isinstance(result, VtxError):
                errors[user_id] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                held = data.get(user_id)
                merged = self._merge(user_id, held, result, started)
                if held is not None and self._differs(held, merged):
                    changed = True
                data[user_id] = merged
                self._stamps[user_id] = max(self._stamps.get(user_id, started), started)
        if user_ids and forbidden == len(user_ids):
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
        if rate_limited is not None:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                retry_after=rate_limited.retry_after,
            ) from rate_limited
        if user_ids and len(errors) == len(user_ids):
            error = next(iter(errors.values()))
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(error)},
            ) from error
        for user_id, error in errors.items():
            if user_id not in self.failed_lines:
                LOGGER.warning("Line %s: reading its %s failed: %s", user_id, self.resource, error)
        for user_id in self.failed_lines - errors.keys():
            LOGGER.info("Line %s: reading its %s works again", user_id, self.resource)
        failed_changed = self.failed_lines != errors.keys()
        self.failed_lines = set(errors)
        self.last_poll = started
        if self.reconcile_listener is not None:
            self.reconcile_listener(changed)
        # Lines removed from the entry leave no data behind.
        kept = {user_id: value for user_id, value in data.items() if user_id in self.lines}
        # The base class tells the entities only when the data compare unequal (or success
        # changed). Features compare without their JSON (a new destination compares equal)
        # and which lines failed is not data: tell them here when it would not.
        self._notify_anyway = (changed or failed_changed) and self.last_update_success and kept == previous
        return kept

    @callback
    def _async_refresh_finished(self) -> None:
        """Tell the entities of changes the base class cannot see (see above)."""
        if self._notify_anyway:
            self._notify_anyway = False
            self.async_update_listeners()

    @callback
    def _async_store_line(self, user_id: int, value: T, stamp: datetime | None) -> None:
        """Store a line's data; ``stamp`` (None: leave it) is when it was known true."""
        if stamp is not None:
            self._stamps[user_id] = stamp
        self.data = {**(self.data or {}), user_id: value}
        self.failed_lines.discard(user_id)
        self.async_update_listeners()


class VtxFeatureCoordinator(VtxLinesCoordinator[LineFeatures]):
    """The features of every line, by featName."""

    resource = "features"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Initialise; see ``VtxLinesCoordinator``."""
        super().__init__(*args, **kwargs)
        self._locks: dict[int, asyncio.Lock] = {}
        self._feature_stamps: dict[int, datetime] = {}

    def _differs(self, old: LineFeatures, new: LineFeatures) -> bool:
        if old.keys() != new.keys():
            return True
        return any(old[name].raw != new[name].raw for name in new)

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

    async def _fetch_line(self, user_id: int) -> LineFeatures:
        features = await self.client.get_features(user_id)
        return {feature.name: feature for feature in features}

    def feature(self, user_id: int, feat_name: str) -> Feature | None:
        """Return a line's feature, if it has it."""
        return (self.data or {}).get(user_id, {}).get(feat_name)

    @callback
    def async_apply_feature(self, feature: Feature, event_time: datetime | None = None) -> bool:
        """Apply a feature pushed by the API or answered by a PUT; return whether it changed.

        Features of unknown lines, unknown features, events older than the state held and
        events that change nothing are ignored, so a duplicate changes nothing twice.
        """
        line = (self.data or {}).get(feature.user_id)
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
        if current.raw == feature.raw:
            return False
        self._async_store_line(feature.user_id, {**line, feature.name: feature}, None)
        return True

    async def async_write_feature(self, user_id: int, feat_name: str, change: Callable[[Feature], Feature]) -> Feature:
        """Read a feature, change it and PUT the whole of it back; state follows the answer.

        Two writes to one line never interleave. Raises a translated HomeAssistantError.
        """
        current = self.feature(user_id, feat_name)
        if current is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="feature_not_available",
                translation_placeholders={"feature": feat_name, "line": str(user_id)},
            )
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            try:
                fresh = await self.client.get_feature(current.id)
                updated = change(fresh)
                answer = fresh if updated.raw == fresh.raw else await self.client.put_feature(updated)
            except VtxAuthenticationError as err:
                if self.config_entry is not None:
                    self.config_entry.async_start_reauth(self.hass)
                raise HomeAssistantError(translation_domain=DOMAIN, translation_key="auth_failed") from err
            except VtxNotFoundError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="feature_not_available",
                    translation_placeholders={"feature": feat_name, "line": str(user_id)},
                ) from err
            except VtxError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="write_failed",
                    translation_placeholders={"feature": feat_name, "line": str(user_id), "error": str(err)},
                ) from err
            self._force_feature(answer)
            return answer

    @callback
    def _force_feature(self, feature: Feature) -> None:
        """Store what the API answered to our own write (newest by definition)."""
        line = (self.data or {}).get(feature.user_id)
        if line is None:
            return
        now = dt_util.utcnow()
        self._feature_stamps[feature.id] = now
        self._async_store_line(feature.user_id, {**line, feature.name: feature}, None)


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
        if (self.data or {}).get(user_id) == presence:
            self._stamps[user_id] = stamp
            return False
        self._async_store_line(user_id, presence, stamp)
        return True
