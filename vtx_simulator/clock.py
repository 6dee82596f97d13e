"""The simulator's injectable clock and the timestamp formats of the API's examples."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import format_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .const import SERVER_TIMEZONE


def _server_zone() -> tzinfo:
    try:
        return ZoneInfo(SERVER_TIMEZONE)
    except ZoneInfoNotFoundError:  # pragma: no cover - tzdata is a dependency of Home Assistant
        return UTC


SERVER_ZONE = _server_zone()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Clock:
    """Wall-clock time plus a skew and the advances tests make (``clock advance``).

    ``offset`` (seconds) is the skew: how far the server's clock runs ahead (+) or behind
    (-) its base, the host's clock. ``advance`` moves it further; ``reset`` forgets the
    advances but keeps the skew.
    """

    def __init__(self, base: Callable[[], datetime] = _utc_now, offset: float = 0.0) -> None:
        """Initialise with a source of aware instants and a skew in seconds."""
        self._base = base
        self._skew = timedelta(seconds=offset)
        self._advanced = timedelta()

    def now(self) -> datetime:
        """Return the simulated current instant (aware, UTC)."""
        return (self._base() + self._skew + self._advanced).astimezone(UTC)

    @property
    def offset(self) -> float:
        """Seconds the clock runs ahead of its base (skew plus advances)."""
        return (self._skew + self._advanced).total_seconds()

    @property
    def skew(self) -> float:
        """Seconds the clock runs ahead of its base, advances left aside."""
        return self._skew.total_seconds()

    @skew.setter
    def skew(self, seconds: float) -> None:
        self._skew = timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value)."""
        self._advanced += timedelta(seconds=seconds)

    def reset(self) -> None:
        """Forget every advance (the skew stays)."""
        self._advanced = timedelta()


def _fraction(value: datetime) -> str:
    """Java's ``Instant``/``OffsetDateTime`` fraction: none, 3 or 6 digits."""
    micros = value.microsecond
    if micros == 0:
        return ""
    if micros % 1000 == 0:
        return f".{micros // 1000:03d}"
    return f".{micros:06d}"


def format_instant(value: datetime) -> str:
    """``2024-11-06T00:00:00Z`` (a subscription's ``expires``): UTC, Java ``Instant`` style."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(utc) + "Z"


def format_seconds_z(value: datetime) -> str:
    """``2024-09-27T15:26:45Z`` (a call log's ``callStart``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_local_micros(value: datetime) -> str:
    """``2024-11-04T12:31:12.329907+01:00`` (a subscription's ``created``/``modified``)."""
    return value.astimezone(SERVER_ZONE).isoformat(timespec="microseconds")


def format_local_millis(value: datetime) -> str:
    """``2024-11-04T12:38:54.753+01:00`` (``eventTime``, presence ``modifiedOn``)."""
    return value.astimezone(SERVER_ZONE).isoformat(timespec="milliseconds")


def format_http_date(value: datetime) -> str:
    """Format an HTTP ``Date`` header: ``Mon, 04 Nov 2024 11:31:12 GMT`` (IMF-fixdate)."""
    return format_datetime(value.astimezone(UTC), usegmt=True)


def format_spring_timestamp(value: datetime) -> str:
    """Spring's error ``timestamp``: ``2024-11-04T11:31:12.329+00:00``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_instant(value: object) -> datetime | None:
    """Parse an ISO-8601 instant with a zone (``Z``, ``+01:00``, ``+0100``); else ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)
