"""Finished calls: each call log recorded in the ledger once, events fired, totals kept.

A call log reaches us by push (``callLogEvents``) or, after downtime or while push is
down, from the call history. Either way it is written to the entry's ledger (``ledger``,
SQLite) before anything else happens, and the ledger's primary key decides whether it is
new: neither a duplicate delivery, two deliveries at once, nor a restart counts a call
twice. Only a new call fires ``vtx_voip_call`` and moves the per-line totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..api import CallLog, VtxClient, VtxError, VtxUnsupportedError
from ..api.assumptions import DIRECTION_OUTGOING, is_missed_call
from ..const import DOMAIN, LOGGER
from ..lines.config import LineConfig
from .ledger import Ledger, LedgerCall, LedgerError, ledger_path, remove_ledger
from .tariffs import DEFAULT_RETENTION_DAYS

EVENT_CALL: Final = f"{DOMAIN}_call"
STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 5
# How far back the history is read after downtime, at most.
BACKFILL_MAX_AGE: Final = timedelta(days=7)
# Overlap of successive history reads. A call is logged when it ends but filed under its
# start (``callStart``): a call that began before the last read and ended after it is only
# found if the next read reaches back that far.
BACKFILL_OVERLAP: Final = timedelta(hours=2)
# Ids of the seen-id list of earlier versions are kept while a history read may return them.
SEEN_MAX_AGE: Final = BACKFILL_MAX_AGE + BACKFILL_OVERLAP + timedelta(days=1)
# Missed calls are kept per line (when they ended) for the front desk's count since
# check-in or today: a month at most, and at most this many per line.
MISSED_MAX_AGE: Final = timedelta(days=31)
MISSED_KEPT: Final = 500
# How often the ledger records that this run is up (the precision of the downtime windows)
# and how often calls older than the retention are deleted.
ALIVE_INTERVAL: Final = timedelta(minutes=1)
PRUNE_INTERVAL: Final = timedelta(hours=24)
SOURCE_PUSH: Final = "push"
SOURCE_HISTORY: Final = "history"


class CallEventType(StrEnum):
    """Event types of the ``call`` event entity."""

    INCOMING = "incoming_call"
    OUTGOING = "outgoing_call"
    MISSED = "missed_call"


def event_type_of(direction: str | None, duration: int) -> CallEventType:
    """Return the event type of a call by its direction and duration (as ``CallLog`` reads them)."""
    if is_missed_call(direction, duration):
        return CallEventType.MISSED
    if (direction or "").upper() == DIRECTION_OUTGOING:
        return CallEventType.OUTGOING
    return CallEventType.INCOMING


def call_end(call: CallLog, default: datetime) -> datetime:
    """When a call ended: its start plus its duration (``default`` when its start is unknown).

    The API gives no end time; a missed call (no duration) ends when it started ringing,
    as far as the call log can tell.
    """
    if call.call_start is None:
        return default
    return call.call_start + timedelta(seconds=call.duration)


def call_event_type(call: CallLog | LedgerCall) -> CallEventType:
    """Classify a call (the "missed" rule lives in ``api.assumptions.is_missed_call``)."""
    return event_type_of(call.direction, call.duration)


def signal_call(entry_id: str) -> str:
    """Dispatcher signal sent with (user_id, CallLog, CallEventType) for each new call."""
    return f"{DOMAIN}_{entry_id}_call"


class _Stored(TypedDict, total=False):
    # Earlier versions: [call id, when handled as a POSIX timestamp] or plain ids; moved
    # into the ledger (table legacy_seen) and dropped from this store.
    seen: list[Any]
    last_check: str | None
    outgoing_seconds: dict[str, int]
    last_call: dict[str, str]
    missed: dict[str, list[str]]


class CallTracker:
    """Records every call log once in the ledger and keeps per-line totals across restarts."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        lines: dict[int, LineConfig],
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        """Initialise for an entry's lines."""
        self.hass = hass
        self.entry_id = entry_id
        self.lines = lines
        self.retention = timedelta(days=retention_days)
        self._store: Store[_Stored] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.calls")
        self.ledger = Ledger(ledger_path(hass, entry_id))
        self._backfilling = False
        self._no_history_logged = False
        self._unsubs: list[CALLBACK_TYPE] = []
        self.last_check: datetime | None = None
        self.outgoing_seconds: dict[int, int] = {}
        self.last_call: dict[int, datetime] = {}
        self.missed: dict[int, list[datetime]] = {}

    async def async_load(self) -> None:
        """Open the ledger; load the totals earlier runs stored (raises ``LedgerError``)."""
        now = dt_util.utcnow()
        await self.hass.async_add_executor_job(self.ledger.open, int(now.timestamp()))
        stored = await self._store.async_load()
        if stored:
            self._load(stored, now)
            if stored.get("seen"):
                await self.hass.async_add_executor_job(self.ledger.import_legacy_seen, self._legacy(stored, now))
                self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        await self.async_prune()

    @staticmethod
    def _legacy(stored: _Stored, now: datetime) -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []
        for item in stored.get("seen", []):
            if isinstance(item, list) and len(item) == 2 and isinstance(item[1], (int, float)):
                seen.append((str(item[0]), int(item[1])))
            elif isinstance(item, (str, int)):
                seen.append((str(item), int(now.timestamp())))
        return seen

    def _load(self, stored: _Stored, now: datetime) -> None:
        self.last_check = dt_util.parse_datetime(stored.get("last_check") or "")
        self.outgoing_seconds = {
            int(user_id): int(seconds) for user_id, seconds in stored.get("outgoing_seconds", {}).items()
        }
        self.last_call = {
            int(user_id): parsed
            for user_id, value in stored.get("last_call", {}).items()
            if (parsed := dt_util.parse_datetime(value)) is not None
        }
        self.missed = {
            int(user_id): sorted(parsed for value in values if (parsed := dt_util.parse_datetime(str(value))))
            for user_id, values in (stored.get("missed") or {}).items()
            if isinstance(values, list)
        }

    @callback
    def async_start(self) -> None:
        """Record this run's sign of life each minute and apply the retention each day."""
        self._unsubs.append(async_track_time_interval(self.hass, self._async_alive, ALIVE_INTERVAL))
        self._unsubs.append(async_track_time_interval(self.hass, self._async_prune_timer, PRUNE_INTERVAL))

    async def _async_alive(self, now: datetime) -> None:
        try:
            await self.hass.async_add_executor_job(self.ledger.alive, int(now.timestamp()))
        except LedgerError as err:
            LOGGER.debug("The ledger could not record this run: %s", err)

    async def _async_prune_timer(self, _now: datetime) -> None:
        await self.async_prune()

    async def async_prune(self) -> int:
        """Delete what is older than the retention; return how many calls went."""
        now = dt_util.utcnow()
        try:
            deleted = await self.hass.async_add_executor_job(
                self.ledger.prune, int((now - self.retention).timestamp()), int((now - SEEN_MAX_AGE).timestamp())
            )
        except LedgerError as err:
            LOGGER.warning("The call ledger could not be pruned: %s", err)
            return 0
        if deleted:
            LOGGER.debug("Ledger: %s call(s) older than %s deleted", deleted, self.retention)
        return deleted

    def _data_to_save(self) -> _Stored:
        return {
            "last_check": self.last_check.isoformat() if self.last_check else None,
            "outgoing_seconds": {str(k): v for k, v in self.outgoing_seconds.items()},
            "last_call": {str(k): v.isoformat() for k, v in self.last_call.items()},
            "missed": {str(k): [item.isoformat() for item in v] for k, v in self.missed.items() if v},
        }

    async def async_record(self, calls: Iterable[CallLog], *, source: str = SOURCE_PUSH, notify: bool = True) -> int:
        """Write calls of this entry's lines to the ledger; handle those that are new.

        Returns once the ledger's transaction is on disk (raises ``LedgerError`` when it
        is not: the caller must not acknowledge). New calls are handled oldest first; with
        ``notify`` False they are only recorded (no event, no totals).
        """
        received = int(dt_util.utcnow().timestamp())
        ours = [call for call in calls if call.user_id in self.lines]
        if not ours:
            return 0
        rows = [(LedgerCall.from_call_log(call, received=received, source=source), call.raw) for call in ours]
        new_ids = set(await self.hass.async_add_executor_job(self.ledger.add_calls, rows))
        new: dict[str, CallLog] = {}
        for call in ours:
            if call.id in new_ids:
                new.setdefault(call.id, call)
        if notify:
            ordered = sorted(new.values(), key=lambda call: call.call_start or dt_util.utc_from_timestamp(received))
            for call in ordered:
                self._async_handle_new(call)
        return len(new)

    async def async_handle(self, call: CallLog) -> bool:
        """Record and handle one call log; return False when it was held before or is not ours."""
        return await self.async_record([call]) == 1

    async def async_handle_many(self, calls: Iterable[CallLog], *, source: str = SOURCE_PUSH) -> int:
        """Record and handle calls, oldest first; return how many were new."""
        return await self.async_record(calls, source=source)

    @callback
    def _async_handle_new(self, call: CallLog) -> None:
        line = self.lines.get(call.user_id)
        if line is None:  # removed while the ledger was written
            return
        now = dt_util.utcnow()
        start = call.call_start or now
        event_type = call_event_type(call)
        if event_type is CallEventType.OUTGOING:
            self.outgoing_seconds[call.user_id] = self.outgoing_seconds.get(call.user_id, 0) + call.duration
        # The last call is when it ended: a 95-second call that just ended is "now".
        end = call_end(call, now)
        if call.user_id not in self.last_call or end >= self.last_call[call.user_id]:
            self.last_call[call.user_id] = end
        if event_type is CallEventType.MISSED:
            self._add_missed(call.user_id, end)
        self.hass.bus.async_fire(
            EVENT_CALL,
            {
                "config_entry_id": self.entry_id,
                "user_id": call.user_id,
                "line": line.name,
                "type": event_type.value,
                "call_id": call.id,
                "number": call.call_party_number,
                "dialled_number": call.call_party_dial_number,
                "direction": call.direction,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "duration": call.duration,
                "call_log": call.raw,
            },
        )
        async_dispatcher_send(self.hass, signal_call(self.entry_id), call.user_id, call, event_type)
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    def _add_missed(self, user_id: int, end: datetime) -> None:
        oldest = dt_util.utcnow() - MISSED_MAX_AGE
        kept = [item for item in self.missed.get(user_id, []) if item >= oldest]
        kept.append(end)
        kept.sort()
        self.missed[user_id] = kept[-MISSED_KEPT:]

    def missed_since(self, user_id: int, since: datetime) -> list[datetime]:
        """When the line's missed calls since ``since`` ended, oldest first."""
        return [item for item in self.missed.get(user_id, []) if item >= since]

    @callback
    def async_forget_line(self, user_id: int) -> None:
        """Forget a removed line's totals (its calls stay in the ledger until the retention)."""
        self.outgoing_seconds.pop(user_id, None)
        self.last_call.pop(user_id, None)
        self.missed.pop(user_id, None)
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    async def async_restore_line(self, user_id: int) -> None:
        """Bring back what a line added again had: its last call and missed calls, from the ledger.

        A removed line's totals are forgotten but its calls stay in the ledger (until the
        retention): a line removed and added again finds its calls of the day there.
        """
        now = dt_util.utcnow()
        try:
            calls = await self.hass.async_add_executor_job(
                self.ledger.calls, user_id, int((now - MISSED_MAX_AGE).timestamp()), int(now.timestamp())
            )
        except LedgerError as err:
            LOGGER.debug("The calls of line %s could not be read from the ledger: %s", user_id, err)
            return
        if user_id not in self.lines or not calls:
            return
        ends = [(dt_util.utc_from_timestamp(call.start + call.duration), call_event_type(call)) for call in calls]
        last = max(end for end, _type in ends)
        if user_id not in self.last_call or last > self.last_call[user_id]:
            self.last_call[user_id] = last
        missed = {end for end, event_type in ends if event_type is CallEventType.MISSED}
        self.missed[user_id] = sorted(missed | set(self.missed.get(user_id, [])))[-MISSED_KEPT:]
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    async def async_backfill(self, client: VtxClient) -> int:
        """Read each line's history since the last check and handle calls not seen yet.

        A read already running makes this one a no-op.
        """
        if self._backfilling:
            return 0
        self._backfilling = True
        try:
            return await self._async_backfill(client)
        finally:
            self._backfilling = False

    async def _async_backfill(self, client: VtxClient) -> int:
        now = dt_util.utcnow()
        if self.last_check is None:
            # First run: calls from before the integration existed are not news.
            self.last_check = now
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
            return 0
        since = max(self.last_check, now - BACKFILL_MAX_AGE) - BACKFILL_OVERLAP
        found: list[CallLog] = []
        complete = True
        for user_id in list(self.lines):
            try:
                found.extend(await client.get_all_call_history(user_id, start=since, end=now))
            except VtxUnsupportedError as err:
                # The platform has no call history (it is an assumption): push only.
                if err.asked and not self._no_history_logged:
                    self._no_history_logged = True
                    LOGGER.info("The VTX API has no call history here (%s); calls are known from push only", err)
                complete = False
                break
            except VtxError as err:
                complete = False
                LOGGER.debug("Reading the call history of line %s failed: %s", user_id, err)
        try:
            new = await self.async_record(found, source=SOURCE_HISTORY)
        except LedgerError as err:
            LOGGER.warning("The call ledger could not be written: %s", err)
            return 0
        if complete:
            self.last_check = now
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        if new:
            LOGGER.debug("Call history gave %s call(s) not seen by push", new)
        return new

    async def async_save(self) -> None:
        """Stop the timers, save the totals and close the ledger (on unload)."""
        while self._unsubs:
            self._unsubs.pop()()
        await self._store.async_save(self._data_to_save())
        await self.hass.async_add_executor_job(self.ledger.close, int(dt_util.utcnow().timestamp()))

    async def async_remove(self) -> None:
        """Delete the stored totals and the ledger file (entry removed)."""
        await self._store.async_remove()
        await self.hass.async_add_executor_job(remove_ledger, self.ledger.path)

    def totals(self) -> dict[str, Any]:
        """Totals for diagnostics."""
        return {
            "last_check": self.last_check.isoformat() if self.last_check else None,
            "outgoing_seconds": dict(self.outgoing_seconds),
        }
