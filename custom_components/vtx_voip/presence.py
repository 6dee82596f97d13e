"""How the API's presence maps to the states the integration shows: the one place.

FOUND values: activity ``ONLINE``, ``UNKNOWN``; enhancedActivity ``IN_A_CALL``, ``NONE``.
INFERRED: both are open strings and other values exist (OFFLINE, BUSY, AWAY, RINGING...).

Rules, first match wins, on the effective block (``current``, else ``c5``):
1. enhancedActivity in ON_CALL_ACTIVITIES              -> ``on_call``
2. activity in OFFLINE_ACTIVITIES                      -> ``offline``
3. activity in AVAILABLE_ACTIVITIES                    -> ``available``
4. activity ``UNKNOWN`` or missing                     -> unknown (``None``)
5. anything else                                       -> unknown (``None``), logged once per value

Unknown is Home Assistant's own ``unknown`` state, not an option of the sensor: the API
saying it does not know is not "free" (*On a call* is unknown too, and so is *Line
status*). Earlier versions had an option ``unknown``; its state value was ``unknown`` as
HA's own is, so automations that compare with ``unknown`` keep working.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from .api import Presence, PresenceState
from .const import LOGGER


class PresenceStatus(StrEnum):
    """States of the ``presence`` sensor (unknown presence is ``None``: Home Assistant's unknown)."""

    AVAILABLE = "available"
    ON_CALL = "on_call"
    OFFLINE = "offline"


class LineStatus(StrEnum):
    """States of the ``line_status`` sensor."""

    AVAILABLE = "available"
    ON_CALL = "on_call"
    DO_NOT_DISTURB = "do_not_disturb"
    FORWARDED = "forwarded"
    OFFLINE = "offline"


ON_CALL_ACTIVITIES: Final = frozenset({"IN_A_CALL", "ON_THE_PHONE", "BUSY", "RINGING", "IN_A_CONFERENCE"})
NO_ENHANCED_ACTIVITIES: Final = frozenset({"NONE", ""})
OFFLINE_ACTIVITIES: Final = frozenset({"OFFLINE", "UNREGISTERED", "UNAVAILABLE"})
AVAILABLE_ACTIVITIES: Final = frozenset({"ONLINE", "AVAILABLE", "IDLE", "AWAY"})
UNKNOWN_ACTIVITIES: Final = frozenset({"UNKNOWN", ""})

_logged_unseen: set[str] = set()


def _log_unseen(kind: str, value: str) -> None:
    key = f"{kind}:{value}"
    if key not in _logged_unseen:
        _logged_unseen.add(key)
        LOGGER.info("Presence %s %r is not known to this integration; shown as unknown", kind, value)


def presence_status(presence: Presence | None) -> PresenceStatus | None:
    """Map a presence body to a ``PresenceStatus``, ``None`` when unknown (rules in the module docstring)."""
    state: PresenceState | None = presence.effective if presence is not None else None
    if state is None:
        return None
    enhanced = (state.enhanced_activity or "").upper()
    activity = (state.activity or "").upper()
    if enhanced in ON_CALL_ACTIVITIES:
        return PresenceStatus.ON_CALL
    if enhanced not in NO_ENHANCED_ACTIVITIES:
        _log_unseen("enhancedActivity", enhanced)
    if activity in OFFLINE_ACTIVITIES:
        return PresenceStatus.OFFLINE
    if activity in AVAILABLE_ACTIVITIES:
        return PresenceStatus.AVAILABLE
    if activity not in UNKNOWN_ACTIVITIES:
        _log_unseen("activity", activity)
    return None


def line_status(presence: PresenceStatus | None, *, dnd: bool, forwarded: bool) -> LineStatus | None:
    """Merge presence, DND and the unconditional forward into one state for a board.

    Order: offline, on a call, do not disturb, forwarded, available. An unknown presence
    (``None``) makes the status unknown: the line may be offline or on a call.
    """
    if presence is None:
        return None
    if presence is PresenceStatus.OFFLINE:
        return LineStatus.OFFLINE
    if presence is PresenceStatus.ON_CALL:
        return LineStatus.ON_CALL
    if dnd:
        return LineStatus.DO_NOT_DISTURB
    if forwarded:
        return LineStatus.FORWARDED
    return LineStatus.AVAILABLE
