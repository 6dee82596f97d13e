"""Finished calls: each call log handled once, events fired, billing totals kept.

A call log reaches us by push (``callLogEvents``) or, after downtime or while push is
down, from the call history. Either way each id is handled once: the ids seen are
persisted for as long as a history read can return them again (the read window is at
most ``BACKFILL_MAX_AGE`` plus ``BACKFILL_OVERLAP``), so neither a duplicate delivery nor
a restart counts a call twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypedDict

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import CallLog, VtxClient, VtxError, VtxUnsupportedError
from .const import DOMAIN, LOGGER
from .data import LineConfig

EVENT_CALL: Final = f"{DOMAIN}_call"
STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 5
# How far back the history is read after downtime, at most.
BACKFILL_MAX_AGE: Final = timedelta(days=7)
# Overlap of successive history reads. A call is logged when it ends but filed under its
# start (``callStart``): a call that began before the last read and ended after it is only
# found if the next read reaches back that far.
BACKFILL_OVERLAP: Final = timedelta(hours=2)
# Ids are kept while a history read may return them again (plus a day of margin).
SEEN_MAX_AGE: Final = BACKFILL_MAX_AGE + BACKFILL_OVERLAP + timedelta(days=1)
# A bound on memory and storage whatever the call volume (the oldest go first).
SEEN_IDS_KEPT: Final = 50_000
SEEN_PRUNE_SLACK: Final = 1000
# Missed calls are kept per line (when they ended) for the front desk's count since
# check-in or today: a month at most, and at most this many per line.
MISSED_MAX_AGE: Final = timedelta(days=31)
MISSED_KEPT: Final = 500


class CallEventType(StrEnum):
    """Event types of the ``call`` event entity."""

    INCOMING = "incoming_call"
    OUTGOING = "outgoing_call"
    MISSED = "missed_call"


def call_event_type(call: CallLog) -> CallEventType:
    """Classify a call (the "missed" rule lives in ``api.assumptions.is_missed_call``)."""
    if call.missed:
        return CallEventType.MISSED
    if call.outgoing:
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


def signal_call(entry_id: str) -> str:
    """Dispatcher signal sent with (user_id, CallLog, CallEventType) for each new call."""
    return f"{DOMAIN}_{entry_id}_call"


class _Stored(TypedDict):
    # [call id, when handled as a POSIX timestamp]; plain ids are read too (taken as now).
    seen: list[Any]
    last_check: str | None
    outgoing_seconds: dict[str, int]
    last_call: dict[str, str]
    missed: dict[str, list[str]]


class CallTracker:
    """Handles every call log once and keeps per-line totals across restarts."""

    def __init__(self, hass: HomeAssistant, entry_id: str, lines: dict[int, LineConfig]) -> None:
        """Initialise for an entry's lines."""
        self.hass = hass
        self.entry_id = entry_id
        self.lines = lines
        self._store: Store[_Stored] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.calls")
        # Call id -> when it was handled (POSIX timestamp).
        self._seen: dict[str, float] = {}
        self._backfilling = False
        self._no_history_logged = False
        self.last_check: datetime | None = None
        self.outgoing_seconds: dict[int, int] = {}
        self.last_call: dict[int, datetime] = {}
        self.missed: dict[int, list[datetime]] = {}

    async def async_load(self) -> None:
        """Load what earlier runs stored."""
        stored = await self._store.async_load()
        if not stored:
            return
        now = dt_util.utcnow().timestamp()
        for item in stored.get("seen", []):
            if isinstance(item, list) and len(item) == 2 and isinstance(item[1], (int, float)):
                self._seen[str(item[0])] = float(item[1])
            elif isinstance(item, (str, int)):
                self._seen[str(item)] = now
        self._prune()
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

    def _prune(self) -> None:
        """Forget ids no history read can return any more; keep at most SEEN_IDS_KEPT."""
        oldest = (dt_util.utcnow() - SEEN_MAX_AGE).timestamp()
        kept = sorted(((start, call_id) for call_id, start in self._seen.items() if start >= oldest))
        self._seen = {call_id: start for start, call_id in kept[-SEEN_IDS_KEPT:]}

    def _data_to_save(self) -> _Stored:
        self._prune()
        return {
            "seen": [[call_id, start] for call_id, start in self._seen.items()],
            "last_check": self.last_check.isoformat() if self.last_check else None,
            "outgoing_seconds": {str(k): v for k, v in self.outgoing_seconds.items()},
            "last_call": {str(k): v.isoformat() for k, v in self.last_call.items()},
            "missed": {str(k): [item.isoformat() for item in v] for k, v in self.missed.items() if v},
        }

    @callback
    def async_handle(self, call: CallLog) -> bool:
        """Handle one call log; return False when it was seen before or is not ours."""
        line = self.lines.get(call.user_id)
        if line is None or call.id in self._seen:
            return False
        now = dt_util.utcnow()
        start = call.call_start or now
        # Kept counting from when it was handled: a history read can only return it while
        # its window reaches back to the call's start, which is earlier.
        self._seen[call.id] = now.timestamp()
        if len(self._seen) > SEEN_IDS_KEPT + SEEN_PRUNE_SLACK:
            self._prune()
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
        return True

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
        """Forget a removed line's totals."""
        self.outgoing_seconds.pop(user_id, None)
        self.last_call.pop(user_id, None)
        self.missed.pop(user_id, None)
        self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    @callback
    def async_handle_many(self, calls: Iterable[CallLog]) -> int:
        """Handle calls oldest first; return how many were new."""
        ordered = sorted(calls, key=lambda call: call.call_start or dt_util.utc_from_timestamp(0))
        return sum(self.async_handle(call) for call in ordered)

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
        for user_id in self.lines:
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
        new = self.async_handle_many(found)
        if complete:
            self.last_check = now
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        if new:
            LOGGER.debug("Call history gave %s call(s) not seen by push", new)
        return new

    async def async_save(self) -> None:
        """Save now (on unload)."""
        await self._store.async_save(self._data_to_save())

    async def async_remove(self) -> None:
        """Delete the stored data (entry removed)."""
        await self._store.async_remove()

    def totals(self) -> dict[str, Any]:
        """Totals for diagnostics."""
        return {
            "seen_ids": len(self._seen),
            "last_check": self.last_check.isoformat() if self.last_check else None,
            "outgoing_seconds": dict(self.outgoing_seconds),
        }
