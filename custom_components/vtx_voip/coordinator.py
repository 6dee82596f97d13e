"""Coordinators of the VTX VoIP integration: features and presence of every line."""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
import math
import time
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import Feature, Presence, VtxAuthenticationError, VtxClient, VtxError, VtxNotFoundError, VtxRateLimitError
from .api.assumptions import RESOURCE_PRESENCE
from .const import DOMAIN, LOGGER
from .helpers import vtx_exception_handler
from .lines.config import LineConfig

type LineFeatures = dict[str, Feature]

# An HTTP Date header counts whole seconds.
DATE_RESOLUTION: Final = timedelta(seconds=1)
# An eventTime further ahead than this of the server's own time (its Date header) is
# taken as that time: a wrong date far in the future must not freeze a feature.
FUTURE_EVENT_TOLERANCE: Final = timedelta(minutes=5)
# How many of its own writes per feature the integration remembers (to know their echoes).
OWN_WRITES_KEPT: Final = 8
# Lines whose read failed while others worked are read again this long after (or after the
# API's Retry-After, if longer), then after twice as long at each failure in a row, not
# only at the next poll of every line.
FAILED_LINE_RETRY: Final = timedelta(seconds=60)
# A poll that failed as a whole is tried again after 30 s, then 1, 2, 4 minutes... (never
# later than the next poll), not only at the next poll, which may be 15 minutes away.
FAILED_POLL_RETRY: Final = timedelta(seconds=30)
# While polls fail, a line whose state a read or a push confirmed within the stale window
# stays available: two polling cycles, and at least this long.
STALE_WINDOW_MIN: Final = timedelta(minutes=5)
STALE_WINDOW_CYCLES: Final = 2
# The entities fed by a line's presence (domain, key): with all of them disabled it is not read.
PRESENCE_ENTITIES: Final = (("sensor", "presence"), ("binary_sensor", "on_call"), ("sensor", "line_status"))
# Up to this many lines are read at once; more are read in shares spread over the poll
# interval, at most one share per SPREAD_MIN_TICK.
SPREAD_MAX_LINES: Final = 16
SPREAD_MIN_TICK: Final = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class FeatureContext:
    """The listener context of an entity made of some features of one line only.

    Such a listener hears of its line when one of ``features`` changed, or when anything
    else about the line may have (its availability, a poll); not of the line's other
    features (a push changes one feature, and the line's other entities are not called).
    """

    user_id: int
    features: frozenset[str]


def signal_poll_found_changes(entry_id: str) -> str:
    """Dispatcher signal: a poll found changes that no push or write brought (argument: its resource, FEATURE when none)."""
    return f"{DOMAIN}_{entry_id}_poll_found_changes"


class VtxLinesCoordinator[T](DataUpdateCoordinator[dict[int, T]]):
    """Reads one resource of every line per cycle (the client's gate bounds the requests in flight).

    ``data`` holds the lines whose data is current or confirmed recently: a line whose read
    fails keeps its data while it is confirmed within the stale window (below), then leaves
    it (its entities become unavailable) while the others keep theirs; only when every line
    fails is the whole update failed. A read the client did not send because the API asked it
    to wait (``Retry-After``) keeps that line's data as it was. Each line's loss is logged
    once, at info, and once when it is back.

    A poll that fails, as a whole or for one line, does not blank what is known: a line
    whose state a read or a push confirmed within the stale window (``stale_window``)
    stays available until the window ends. A poll failed as a whole is tried again with
    back-off (``FAILED_POLL_RETRY``, doubling), a line failing on its own too
    (``FAILED_LINE_RETRY``), until it works.
    """

    resource: str

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: VtxClient,
        lines: dict[int, LineConfig],
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
        # Lines whose last read failed (for logging their loss and return once each).
        self._failing: set[int] = set()
        # Reads failed in a row per line (the back-off of its retries).
        self._line_failures: dict[int, int] = {}
        # Counts what pushes and writes applied; a poll notes it when it starts, so that
        # "arrived while the poll ran" needs no clock at all.
        self._seq = 0
        # The last data of lines whose read failed: a push about them brings them back.
        self._last_known: dict[int, T] = {}
        self._cancel_retry: Callable[[], None] | None = None
        # The lines the pending retry reads again.
        self._retry_ids: set[int] = set()
        # Listeners by context: a line's entities (context = its userId, or a
        # ``FeatureContext``: the features they are made of, None for any) and the others
        # (context None), so that one line's change calls that line's entities only.
        self._line_listeners: dict[int, dict[object, tuple[frozenset[str] | None, CALLBACK_TYPE]]] = {}
        self._other_listeners: dict[object, CALLBACK_TYPE] = {}
        # Listeners told which line changed (None: every line may have, after a poll).
        self._change_listeners: dict[object, Callable[[int | None], None]] = {}
        # When a read or a push last confirmed each line's state (this machine's clock).
        self._confirmed: dict[int, datetime] = {}
        # Polls failed as a whole in a row (the back-off), and the timer that makes lines
        # unavailable once their stale window is over while polls still fail.
        self._failed_polls = 0
        self._cancel_expiry: Callable[[], None] | None = None
        # Lines whose entities were told that their stale window ended.
        self._stale: set[int] = set()
        # The API refused our credentials at the last poll: nothing held is trusted then.
        self._auth_failed = False

    @callback
    def async_add_listener(self, update_callback: CALLBACK_TYPE, context: Any = None) -> Callable[[], None]:
        """Listen for updates; a listener whose context is a userId (or a ``FeatureContext``) hears of that line only."""
        remove = super().async_add_listener(update_callback, context)
        token = object()
        user_id: int | None = None
        if isinstance(context, FeatureContext):
            user_id = context.user_id
            self._line_listeners.setdefault(user_id, {})[token] = (context.features, update_callback)
        elif isinstance(context, int):
            user_id = context
            self._line_listeners.setdefault(user_id, {})[token] = (None, update_callback)
        else:
            self._other_listeners[token] = update_callback

        @callback
        def remove_listener() -> None:
            if user_id is None:
                self._other_listeners.pop(token, None)
            elif (group := self._line_listeners.get(user_id)) is not None:
                group.pop(token, None)
                if not group:
                    self._line_listeners.pop(user_id, None)
            remove()

        return remove_listener

    @callback
    def async_add_line_change_listener(self, change_callback: Callable[[int | None], None]) -> Callable[[], None]:
        """Listen for changes, told which line changed: its userId, or None after a poll.

        For listeners that would otherwise walk every line at each line's change (a push
        storm at 500 lines made that the integration's largest cost). A change of one
        feature's value alone (a push, a write) does not tell them: which features a line
        has stays the same.
        """
        remove = super().async_add_listener(partial(change_callback, None))
        token = object()
        self._change_listeners[token] = change_callback

        @callback
        def remove_listener() -> None:
            self._change_listeners.pop(token, None)
            remove()

        return remove_listener

    @callback
    def async_update_line_listeners(self, user_id: int, changed: str | None = None) -> None:
        """Tell one line's entities and the listeners of every line (not the other lines).

        ``changed``: the only feature that changed (nothing else about the line did, its
        availability included); the line's entities made of other features are not told.
        """
        if group := self._line_listeners.get(user_id):
            for features, update_callback in tuple(group.values()):
                if changed is None or features is None or changed in features:
                    update_callback()
        for other in tuple(self._other_listeners.values()):
            other()
        if changed is None:
            for change_callback in tuple(self._change_listeners.values()):
                change_callback(user_id)

    @abstractmethod
    def _merge(self, user_id: int, held: T | None, polled: T, seq_at_start: int) -> T:
        """Combine a line's polled data with what is held (what a poll cannot know wins)."""

    @abstractmethod
    async def _fetch_line(self, user_id: int) -> T:
        """Read one line's resource."""

    def line_available(self, user_id: int) -> bool:
        """Whether a line's data is current: held, and the last poll worked or it is confirmed recently.

        Credentials the API refused make every line unavailable at once (re-authentication).
        """
        if user_id not in (self.data or {}):
            return False
        if self.last_update_success and user_id not in self._failing:
            return True
        return not self._auth_failed and self._fresh(user_id)

    @property
    def full_interval(self) -> timedelta | None:
        """How often every line is read (presence reads them in shares over its poll interval)."""
        return self.update_interval

    @property
    def stale_window(self) -> timedelta:
        """How long a confirmed state is trusted while polls fail."""
        interval = self.full_interval
        return max(STALE_WINDOW_MIN, interval * STALE_WINDOW_CYCLES) if interval else STALE_WINDOW_MIN

    def _fresh(self, user_id: int) -> bool:
        confirmed = self._confirmed.get(user_id)
        return confirmed is not None and dt_util.utcnow() - confirmed <= self.stale_window

    @callback
    def _confirm(self, user_id: int) -> bool:
        """Note that a read or a push just confirmed a line's state; return whether its window had ended."""
        self._confirmed[user_id] = dt_util.utcnow()
        if user_id in self._stale:
            self._stale.discard(user_id)
            return True
        return False

    @callback
    def _async_refresh_finished(self) -> None:
        """While reads fail, make lines unavailable when their stale window ends (no poll says so).

        Every line while polls fail as a whole; otherwise the lines whose own read failed.
        """
        self._cancel_expiry_timer()
        if not self.data:
            self._stale.clear()
            return
        unvouched = set(self.data) if not self.last_update_success else self._failing & set(self.data)
        # Lines a poll read again are current: no longer stale.
        self._stale &= unvouched
        if not unvouched:
            return
        if self._auth_failed and not self.last_update_success:
            # Nothing held is trusted: tell every line (a poll may have failed before this one).
            if self._stale != set(self.data):
                self._stale = set(self.data)
                self.async_update_listeners()
            return
        now = dt_util.utcnow()
        window = self.stale_window
        ends = {user_id: self._confirmed[user_id] + window for user_id in unvouched if user_id in self._confirmed}
        ended = {user_id for user_id in unvouched if user_id not in ends or ends[user_id] < now}
        if stale := ended - self._stale:
            # Their window ended (maybe just before this poll failed again): tell their entities.
            self._stale |= stale
            self.async_update_listeners()
        if not (pending := [end for end in ends.values() if end >= now]):
            return

        @callback
        def _expired(_now: datetime) -> None:
            self._cancel_expiry = None
            self._async_refresh_finished()

        self._cancel_expiry = async_call_later(self.hass, (min(pending) - now).total_seconds() + 1, _expired)

    def _cancel_expiry_timer(self) -> None:
        if self._cancel_expiry is not None:
            self._cancel_expiry()
            self._cancel_expiry = None

    def _poll_retry_delay(self) -> float | None:
        """Seconds until a poll that failed as a whole is tried again (None: at the next poll)."""
        delay: float = FAILED_POLL_RETRY.total_seconds() * 2 ** min(self._failed_polls - 1, 16)
        if self.update_interval is not None and delay >= self.update_interval.total_seconds():
            return None
        return delay

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
        for user_id in recovered:
            self._line_failures.pop(user_id, None)
        for user_id in errors:
            self._line_failures[user_id] = self._line_failures.get(user_id, 0) + 1

    def _lines_to_read(self) -> list[int]:
        """Return the lines this update reads (every line; presence reads a share of them)."""
        return list(self.lines)

    async def _async_update_data(self) -> dict[int, T]:
        seq_at_start = self._seq
        user_ids = self._lines_to_read()
        results = await asyncio.gather(*(self._fetch_line(uid) for uid in user_ids), return_exceptions=True)
        # What is held now, pushes and writes that arrived while the poll ran included.
        previous = self.data or {}
        # Lines this update did not read keep what they hold.
        read = set(user_ids)
        data: dict[int, T] = {
            user_id: value for user_id, value in previous.items() if user_id not in read and user_id in self.lines
        }
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
                    self._auth_failed = True
                    raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed") from result
                forbidden += 1
            if isinstance(result, VtxRateLimitError):
                rate_limited = result
            if isinstance(result, VtxError):
                errors[user_id] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                data[user_id] = self._merge(
                    user_id, previous.get(user_id, self._last_known.get(user_id)), result, seq_at_start
                )
        if user_ids and forbidden == len(user_ids):
            self._auth_failed = True
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
        if user_ids and len(errors) == len(user_ids):
            error = rate_limited or next(iter(errors.values()))
            self._failed_polls += 1
            backoff = self._poll_retry_delay()
            asked = rate_limited.retry_after if rate_limited else None
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited" if rate_limited else "update_failed",
                translation_placeholders=None if rate_limited else {"error": str(error)},
                retry_after=max(asked or 0, backoff) if backoff is not None else asked,
            ) from error
        self._failed_polls = 0
        self._auth_failed = False
        for user_id, result in zip(user_ids, results, strict=True):
            if not isinstance(result, BaseException):
                self._confirm(user_id)
        self._log_line_health(errors, set(data))
        # A line whose read failed for a passing reason (the network, 5xx, 429, a malformed
        # answer) keeps what it holds while a read or a push confirmed it within the stale
        # window (available until the window ends). Refused (403) or gone (404), or not
        # confirmed lately, it leaves at once.
        kept = {
            user_id
            for user_id, error in errors.items()
            if user_id in previous
            and self._fresh(user_id)
            and not isinstance(error, (VtxAuthenticationError, VtxNotFoundError))
        }
        data.update({user_id: previous[user_id] for user_id in kept})
        self._last_known = {
            user_id: value
            for user_id, value in self._last_known.items()
            if user_id not in read and user_id in self.lines
        } | {
            user_id: value
            for user_id in errors.keys() - kept
            if (value := previous.get(user_id, self._last_known.get(user_id))) is not None
        }
        self._schedule_retry(
            set(errors) | {user_id for user_id in self._retry_ids if user_id not in read},
            rate_limited.retry_after if rate_limited else None,
        )
        if any(user_id in previous and previous[user_id] != value for user_id, value in data.items()):
            self._async_poll_found_changes()
        return data

    def _schedule_retry(self, user_ids: set[int], retry_after: float | None) -> None:
        """Read the lines that failed again soon (a poll of every line may be far off)."""
        if self._cancel_retry is not None:
            self._cancel_retry()
            self._cancel_retry = None
        self._retry_ids = set(user_ids)
        if not user_ids:
            return
        # 1, 2, 4 minutes... after as many failures in a row (never later than the next poll).
        failures = min(self._line_failures.get(user_id, 1) for user_id in user_ids)
        delay = max(FAILED_LINE_RETRY.total_seconds() * 2 ** min(max(failures, 1) - 1, 16), retry_after or 0)
        if self.update_interval is not None and delay >= self.update_interval.total_seconds():
            return

        async def _retry(_now: datetime) -> None:
            self._cancel_retry = None
            self._retry_ids = set()
            for user_id in user_ids:
                if user_id in self.lines and (user_id not in (self.data or {}) or user_id in self._failing):
                    await self.async_read_line(user_id)

        self._cancel_retry = async_call_later(self.hass, delay, _retry)

    async def async_shutdown(self) -> None:
        """Cancel the retry of failed lines and the stale window's timer too."""
        self._schedule_retry(set(), None)
        self._cancel_expiry_timer()
        await super().async_shutdown()

    @callback
    def _async_poll_found_changes(self) -> None:
        """Tell that a poll changed data that was held (overridden where it matters)."""

    @callback
    def _async_store_line(self, user_id: int, value: T, changed: str | None = None) -> None:
        """Store one line's data outside a poll and tell the entities.

        ``changed``: the one feature the new data changes. Only while the line's
        availability cannot change by this (it was current, the last poll worked) are the
        entities of its other features left out.
        """
        was_current = self.last_update_success and user_id in (self.data or {}) and user_id not in self._failing
        held: dict[int, T] | None = self.data  # None before the first poll
        if held is None:
            self.data = {user_id: value}
        else:
            # In place: copying every line's data at each push grew with the lines. A poll
            # builds its own dict from what is held once its reads are back (no await between).
            held[user_id] = value
        self._last_known.pop(user_id, None)
        back = self._confirm(user_id)
        self._line_failures.pop(user_id, None)
        if user_id in self._failing:
            self._failing.discard(user_id)
            LOGGER.info("Line %s: its %s is known again", user_id, self.resource)
        self.async_update_line_listeners(user_id, changed if was_current and not back else None)

    async def async_read_line(self, user_id: int) -> bool:
        """Read one line now (a line just added, or one that failed); return whether it worked."""
        try:
            value = await self._fetch_line(user_id)
        except VtxError as err:
            self._log_line_health({user_id: err}, set())
            # Read again soon, not at a poll that may be 15 minutes away.
            self._schedule_retry({user_id} | self._retry_ids, None)
            # What it holds stays available until its stale window ends.
            self._async_refresh_finished()
            return False
        if user_id in self.lines:
            self._async_store_line(user_id, self._merge(user_id, self.last_known(user_id), value, self._seq))
        return True

    @callback
    def async_forget_line(self, user_id: int) -> None:
        """Drop a removed line's data.

        Listeners are not told: the other lines did not change, and the removed line's
        entities go with its device (telling them would write "unavailable" first).
        """
        self._failing.discard(user_id)
        self._line_failures.pop(user_id, None)
        self._last_known.pop(user_id, None)
        self._confirmed.pop(user_id, None)
        if self.data is not None and user_id in self.data:
            self.data = {uid: value for uid, value in self.data.items() if uid != user_id}


class VtxFeatureCoordinator(VtxLinesCoordinator[LineFeatures]):
    """The features of every line, by featName.

    Ordering never compares two clocks. A push is stale when its ``eventTime`` is older
    than the server time (the ``Date`` header) of the read or write that produced the
    state held, even if its ``previousValue`` is that state; within that second (a
    ``Date`` header counts whole seconds) its ``previousValue`` decides. After it, a
    pushed feature whose ``previousValue`` is the feature held is applied (causality);
    otherwise pushes are ordered among themselves by ``eventTime``. A push or write
    applied while a poll ran wins over it unless the poll's answer is known to be the
    newer. An ``eventTime`` far ahead of the server's own time is taken as the server's
    time, so that it cannot freeze a feature; every poll starts each feature's ordering
    afresh.
    """

    resource = "features"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Initialise; see ``VtxLinesCoordinator``."""
        super().__init__(*args, **kwargs)
        self._locks: dict[int, asyncio.Lock] = {}
        # Per feature id: the sequence number of the last push or write applied, the
        # newest eventTime applied since the last poll, and the server time of that poll.
        self._applied_seq: dict[int, int] = {}
        self._event_time: dict[int, datetime] = {}
        self._read_at: dict[int, datetime] = {}
        # Per line: what the last read of it said besides the features.
        self._read_meta: dict[int, tuple[datetime | None, frozenset[str]]] = {}
        # The server's clock, as last seen in a Date header, and this machine's monotonic
        # time then: the server's "now" is estimated without comparing the two clocks.
        self._server_clock: tuple[datetime, float] | None = None
        self._invalid_logged: set[tuple[int, str]] = set()
        # The last states this integration wrote per feature: a push repeating one that a
        # later write replaced is the late echo of our own older write (causality, no clock).
        self._own_writes: dict[int, deque[Feature]] = {}

    def _server_now(self) -> datetime | None:
        if self._server_clock is None:
            return None
        seen, at = self._server_clock
        return seen + timedelta(seconds=time.monotonic() - at)

    def _event_key(self, event_time: datetime | None) -> datetime | None:
        """Return the eventTime to order by: one far ahead of the server's own time counts as now."""
        if event_time is None:
            return None
        now = self._server_now()
        if now is not None and event_time > now + FUTURE_EVENT_TOLERANCE:
            LOGGER.debug("An event dated %s is ahead of the server's time; taken as now", event_time.isoformat())
            return now
        return event_time

    def _merge(self, user_id: int, held: LineFeatures | None, polled: LineFeatures, seq_at_start: int) -> LineFeatures:
        """Merge per feature: what a push or write brought while the poll ran is kept.

        Features the answer listed in an invalid form keep what was held (never guessed).
        """
        server_time, invalid = self._read_meta.pop(user_id, (None, frozenset()))
        if server_time is not None:
            self._server_clock = (server_time, time.monotonic())
        for name in invalid:
            if (user_id, name) not in self._invalid_logged:
                self._invalid_logged.add((user_id, name))
                LOGGER.info("Line %s: the API sent %s without a valid status or data; kept as it was", user_id, name)
        merged = dict(polled)
        held = held or {}
        for name in invalid:
            if name in held and name not in merged:
                merged[name] = held[name]
        for name, feature in polled.items():
            kept = held.get(name)
            if (
                kept is not None
                and kept.id == feature.id
                and self._arrived_during_poll(kept.id, seq_at_start, server_time)
            ):
                merged[name] = kept
                continue
            # The poll is the new starting point of this feature's ordering.
            self._event_time.pop(feature.id, None)
            if server_time is not None:
                self._read_at[feature.id] = server_time
            else:
                self._read_at.pop(feature.id, None)
        return merged

    def _arrived_during_poll(self, feature_id: int, seq_at_start: int, server_time: datetime | None) -> bool:
        """Whether a push or write applied while the poll ran is to be kept over the poll's answer."""
        if self._applied_seq.get(feature_id, -1) <= seq_at_start:
            return False
        event = self._event_time.get(feature_id)
        # Kept unless the poll's answer is known to be the newer (server clock to server
        # clock: an event before the second of the poll's Date header is older).
        return server_time is None or event is None or event >= server_time

    @callback
    def _async_poll_found_changes(self) -> None:
        if self.config_entry is not None:
            async_dispatcher_send(self.hass, signal_poll_found_changes(self.config_entry.entry_id))

    async def _fetch_line(self, user_id: int) -> LineFeatures:
        read = await self.client.read_features(user_id)
        self._read_meta[user_id] = (read.server_time, read.invalid)
        return {feature.name: feature for feature in read.features}

    def feature(self, user_id: int, feat_name: str) -> Feature | None:
        """Return a line's feature, if it has it."""
        return (self.data or {}).get(user_id, {}).get(feat_name)

    def _is_newer(self, feature_id: int, event_time: datetime | None) -> bool:
        """Whether a push (not following on from what is held) is newer than the pushes applied since the last read."""
        if event_time is None:
            return True
        last = self._event_time.get(feature_id)
        return last is None or event_time >= last

    def _read_order(self, feature_id: int, event_time: datetime | None) -> int:
        """Where an event falls against the read or write that produced the state held (its ``Date``).

        -1: before it (stale, whatever its previousValue); 0: within that second (the
        ``Date`` header counts whole seconds: the previousValue decides); 1: after it, or
        unknown.
        """
        held_at = self._read_at.get(feature_id)
        if event_time is None or held_at is None:
            return 1
        if event_time < held_at:
            return -1
        return 0 if event_time < held_at + DATE_RESOLUTION else 1

    @callback
    def async_apply_feature(
        self, feature: Feature, event_time: datetime | None = None, previous: Feature | None = None
    ) -> bool:
        """Apply a pushed feature (or one read by an action); return whether it changed.

        Features of unknown lines, unknown features, events older than the state held and
        events that change nothing are ignored, so a duplicate changes nothing twice.
        """
        line = (self.data or {}).get(feature.user_id) or self._last_known.get(feature.user_id)
        if line is None or feature.user_id not in self.lines:
            return False
        current = line.get(feature.name)
        if current is None or current.id != feature.id:
            return False
        key = self._event_key(event_time)
        last = self._event_time.get(feature.id)
        if current == feature:
            # Nothing to change (the state held is confirmed), but older events arriving
            # after this one are now stale.
            if self._confirm(feature.user_id):
                self.async_update_line_listeners(feature.user_id)  # available again
            if key is not None and (last is None or key > last):
                self._event_time[feature.id] = key
            return False
        # An event older than the read or write that produced the state held (server clock
        # to server clock: eventTime against its Date header) is stale even if its
        # previousValue is what is held: the state held is newer than the event.
        order = self._read_order(feature.id, key)
        if order < 0:
            LOGGER.debug("Ignoring an event for feature %s older than the read or write of the state held", feature.id)
            return False
        # Causality: an event following on from what is held is applied, but never when an
        # event applied since is newer (pushes among themselves by eventTime).
        follows_on = previous is not None and previous == current and not (key and last and key < last)
        if order == 0 and previous is not None and not follows_on:
            # Within the second of that read or write, the previousValue decides.
            LOGGER.debug("Ignoring an event for feature %s not following on from the state read", feature.id)
            return False
        if not follows_on and feature in self._own_writes.get(feature.id, ()):
            LOGGER.debug("Ignoring the late echo of an earlier write of feature %s", feature.id)
            return False
        if not follows_on and not self._is_newer(feature.id, key):
            LOGGER.debug("Ignoring an out-of-order event for feature %s", feature.id)
            return False
        self._seq += 1
        self._applied_seq[feature.id] = self._seq
        if key is not None:
            self._event_time[feature.id] = max(key, self._event_time.get(feature.id, key))
        self._async_store_line(feature.user_id, {**line, feature.name: feature}, feature.name)
        return True

    @vtx_exception_handler("write_failed", forbidden="write_forbidden", not_found="feature_not_available")
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
            fresh = await self.client.get_feature(current.id)
            updated = change(fresh)
            answer = fresh if updated == fresh else await self.client.put_feature(updated)
            self._force_feature(answer)
            return answer

    @callback
    def _force_feature(self, feature: Feature) -> None:
        """Store what the API answered to our own write (newest by definition)."""
        line = (self.data or {}).get(feature.user_id)
        if line is None or feature.user_id not in self.lines:
            return
        self._seq += 1
        self._applied_seq[feature.id] = self._seq
        self._own_writes.setdefault(feature.id, deque(maxlen=OWN_WRITES_KEPT)).append(feature)
        # Our own write is the newest state, as of the server's time of its answer (its
        # Date header, whole seconds): events from before it are older.
        self._read_at[feature.id] = self.client.server_now().replace(microsecond=0)
        self._event_time.pop(feature.id, None)
        self._async_store_line(feature.user_id, {**line, feature.name: feature}, feature.name)


class VtxPresenceCoordinator(VtxLinesCoordinator[Presence]):
    """The presence of every line.

    Presence carries the server's own ``modifiedOn``: polls and pushes are ordered by it
    (server clock to server clock); without it, a push applied while a poll ran wins.
    """

    resource = "presence"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Initialise; see ``VtxLinesCoordinator`` (``update_interval`` is the poll interval)."""
        super().__init__(*args, **kwargs)
        self._applied_seq: dict[int, int] = {}
        # The newest eventTime applied per line since its last poll (pushes among themselves).
        self._event_time: dict[int, datetime] = {}
        # Every line is read once per poll interval; many lines in shares spread over it.
        # ``configured_interval`` is the one of the options (while presence is not pushed).
        self.configured_interval: timedelta | None = self.update_interval
        self.poll_interval: timedelta | None = self.update_interval
        self._share = 0
        self._read_all_next = True
        self.set_poll_interval(self.poll_interval)

    @property
    def full_interval(self) -> timedelta | None:
        """How often every line is read: the poll interval (a share of the lines per update)."""
        return self.poll_interval

    # --- which lines, and when -------------------------------------------------------
    def is_polled(self, user_id: int) -> bool:
        """Whether a line's presence is read: not when its presence, on-call and line-status entities are all disabled.

        An entity not in the registry yet (about to be added) counts as enabled.
        """
        if user_id not in self.lines:
            return False
        registry = er.async_get(self.hass)
        for domain, key in PRESENCE_ENTITIES:
            entity_id = registry.async_get_entity_id(domain, DOMAIN, f"{user_id}_{key}")
            if entity_id is None or ((entity := registry.async_get(entity_id)) is not None and not entity.disabled):
                return True
        return False

    def polled_lines(self) -> list[int]:
        """Return the lines whose presence is read."""
        return [user_id for user_id in self.lines if self.is_polled(user_id)]

    def _shares(self, count: int) -> int:
        """In how many shares ``count`` lines are read over one poll interval."""
        if self.poll_interval is None or count <= SPREAD_MAX_LINES:
            return 1
        ticks = max(1, math.floor(self.poll_interval / SPREAD_MIN_TICK))
        return max(1, min(math.ceil(count / SPREAD_MAX_LINES), ticks))

    @callback
    def set_poll_interval(self, interval: timedelta | None) -> None:
        """Read every polled line once per ``interval`` (``None``: not at all); many lines spread over it."""
        self.poll_interval = interval
        shares = self._shares(len(self.lines))
        self.update_interval = None if interval is None else interval / shares

    @callback
    def set_configured_interval(self, interval: timedelta, *, in_force: bool) -> None:
        """Take the option's new interval; with ``in_force`` (presence not pushed) poll at it from now on."""
        self.configured_interval = interval
        if in_force:
            self.set_poll_interval(interval)
            if self._listeners:
                self._schedule_refresh()

    def _lines_to_read(self) -> list[int]:
        """Every polled line on the first read and when asked; else the next share of them."""
        polled = self.polled_lines()
        self.set_poll_interval(self.poll_interval)
        if self._read_all_next or self.data is None:
            self._read_all_next = False
            return polled
        shares = self._shares(len(self.lines))
        self._share = (self._share + 1) % shares
        return polled[self._share :: shares] if shares > 1 else polled

    async def async_refresh_all(self) -> None:
        """Read every polled line now (not a share)."""
        self._read_all_next = True
        await self.async_refresh()

    async def async_request_refresh_all(self) -> None:
        """Read every polled line soon (debounced)."""
        self._read_all_next = True
        await self.async_request_refresh()

    async def async_read_line(self, user_id: int) -> bool:
        """Read one line now, if its presence is read at all; return whether it worked."""
        if not self.is_polled(user_id):
            return False
        return await super().async_read_line(user_id)

    @callback
    def _async_poll_found_changes(self) -> None:
        """Tell push health: a presence poll found changes that no push brought (silent PRESENCE push)."""
        if self.config_entry is not None:
            async_dispatcher_send(self.hass, signal_poll_found_changes(self.config_entry.entry_id), RESOURCE_PRESENCE)

    @staticmethod
    def _modified(presence: Presence | None) -> datetime | None:
        state = presence.effective if presence is not None else None
        return state.modified_on if state is not None else None

    def _merge(self, user_id: int, held: Presence | None, polled: Presence, seq_at_start: int) -> Presence:
        if held is not None:
            held_time, polled_time = self._modified(held), self._modified(polled)
            if held_time is not None and polled_time is not None and held_time != polled_time:
                if held_time > polled_time:
                    return held
            elif self._applied_seq.get(user_id, -1) > seq_at_start:
                return held
        self._event_time.pop(user_id, None)
        return polled

    async def _fetch_line(self, user_id: int) -> Presence:
        return await self.client.get_presence(user_id)

    @callback
    def async_apply_presence(self, user_id: int, presence: Presence, event_time: datetime | None = None) -> bool:
        """Apply a pushed presence; older (by the server's modifiedOn) or unchanged ones are ignored."""
        if user_id not in self.lines:
            return False
        held = (self.data or {}).get(user_id)
        if held == presence:
            if self._confirm(user_id):
                self.async_update_line_listeners(user_id)  # available again
            return False
        held_time, new_time = self._modified(held), self._modified(presence)
        if held_time is not None and new_time is not None and new_time != held_time:
            if new_time < held_time:
                return False
        elif event_time is not None and event_time < self._event_time.get(user_id, event_time):
            return False
        if event_time is not None:
            self._event_time[user_id] = max(event_time, self._event_time.get(user_id, event_time))
        self._seq += 1
        self._applied_seq[user_id] = self._seq
        self._async_store_line(user_id, presence)
        return True
