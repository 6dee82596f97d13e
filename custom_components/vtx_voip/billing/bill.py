"""Bills: a line's calls from the ledger (and the API's history), classified and priced.

One place builds the rows and totals that ``get_call_history``, ``check_out`` and the CSV
export show, so the three always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
import csv
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import io
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..api import VtxClient, VtxError, VtxUnsupportedError
from ..api.numbers import format_number
from ..const import LOGGER
from .calls import SOURCE_HISTORY, CallEventType, CallTracker, call_event_type
from .ledger import LedgerCall
from .numbering import DestinationClass, NumberingPlan, classify, to_e164
from .tariffs import Tariffs

# The CSV's columns (their headers are translated: selector ``bill_csv``).
CSV_COLUMNS: Final = (
    "date",
    "time",
    "line",
    "guest",
    "direction",
    "number",
    "duration",
    "destination_class",
    "cost",
    "late",
)
# English texts of the CSV (headers, directions, classes), as in strings.json.
CSV_TEXTS: Final[dict[str, str]] = {
    "date": "Date",
    "time": "Time",
    "line": "Line",
    "guest": "Guest",
    "direction": "Direction",
    "number": "Number",
    "duration": "Duration",
    "destination_class": "Class",
    "cost": "Cost ({currency})",
    "late": "Late charge",
    "total": "Total",
    "yes": "yes",
    "unknown_number": "unknown",
    CallEventType.INCOMING.value: "Incoming",
    CallEventType.OUTGOING.value: "Outgoing",
    CallEventType.MISSED.value: "Missed",
    DestinationClass.INTERNAL.value: "Internal",
    DestinationClass.NATIONAL_FIXED.value: "National fixed",
    DestinationClass.NATIONAL_MOBILE.value: "National mobile",
    DestinationClass.INTERNATIONAL.value: "International",
    DestinationClass.SPECIAL.value: "Special",
    DestinationClass.FREE.value: "Free",
    DestinationClass.EMERGENCY.value: "Emergency",
}
# Languages that write a date day first (any other: ISO 8601, 2026-12-06).
DAY_FIRST_LANGUAGES: Final = frozenset({"de", "fr", "it", "rm"})


@dataclass(frozen=True, slots=True)
class BillRow:
    """One priced call."""

    call: LedgerCall
    event_type: CallEventType
    destination_class: DestinationClass
    cost: Decimal
    # Recorded after the check-out of the stay the call started in (a late charge, not on
    # the bill given at check-out).
    late: bool = False

    @property
    def start(self) -> datetime:
        """When the call started."""
        return dt_util.utc_from_timestamp(self.call.start)

    @property
    def end(self) -> datetime:
        """When it ended (start + duration)."""
        return dt_util.utc_from_timestamp(self.call.start + self.call.duration)

    def as_dict(self) -> dict[str, Any]:
        """Return the row as an action response shows it."""
        return {
            "id": self.call.call_id,
            "type": self.event_type.value,
            "start": dt_util.as_local(self.start).isoformat(),
            "end": dt_util.as_local(self.end).isoformat(),
            "duration": self.call.duration,
            "number": self.call.number,
            "dialled_number": self.call.dialled,
            "direction": self.call.direction,
            "status": self.call.status,
            "destination_class": self.destination_class.value,
            "cost": float(self.cost),
            "late": self.late,
        }


def price(
    calls: Iterable[LedgerCall],
    tariffs: Tariffs,
    plan: NumberingPlan | None = None,
    late: Collection[str] = (),
) -> list[BillRow]:
    """Classify and price calls, oldest first.

    ``plan`` is what is internal (the tariffs' extension ranges when not given); the calls
    whose ids are in ``late`` are marked late charges.
    """
    plan = plan or tariffs.plan
    rows: list[BillRow] = []
    for call in sorted(calls, key=lambda item: (item.start, item.call_id)):
        event_type = call_event_type(call)
        incoming = event_type is not CallEventType.OUTGOING
        destination = classify(call.number, None if incoming else call.dialled, plan)
        rows.append(
            BillRow(
                call=call,
                event_type=event_type,
                destination_class=destination.destination_class,
                cost=tariffs.cost(destination, call.duration, incoming=incoming),
                late=call.call_id in late,
            )
        )
    return rows


def _class_totals(rows: Iterable[BillRow]) -> dict[str, dict[str, Any]]:
    """Per class: calls, outgoing and incoming seconds apart, cost (as Decimal)."""
    per_class: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = per_class.setdefault(row.destination_class.value, _empty_class())
        item["calls"] += 1
        if row.event_type is CallEventType.OUTGOING:
            item["outgoing_duration"] += row.call.duration
        elif row.event_type is CallEventType.INCOMING:
            item["incoming_duration"] += row.call.duration
        item["cost"] += row.cost
    return per_class


def _empty_class() -> dict[str, Any]:
    return {"calls": 0, "outgoing_duration": 0, "incoming_duration": 0, "cost": Decimal(0)}


def totals(rows: list[BillRow]) -> dict[str, Any]:
    """Count calls and durations by kind; add the cost, in all and per class (outgoing and incoming seconds apart)."""
    kinds = [row.event_type for row in rows]
    per_class = _class_totals(rows)
    return {
        "calls": len(rows),
        "incoming": kinds.count(CallEventType.INCOMING),
        "outgoing": kinds.count(CallEventType.OUTGOING),
        "missed": kinds.count(CallEventType.MISSED),
        "outgoing_duration": sum(row.call.duration for row in rows if row.event_type is CallEventType.OUTGOING),
        "incoming_duration": sum(row.call.duration for row in rows if row.event_type is CallEventType.INCOMING),
        "cost": float(sum((row.cost for row in rows), Decimal(0))),
        "per_class": {
            cls_.value: {**per_class[cls_.value], "cost": float(per_class[cls_.value]["cost"])}
            for cls_ in DestinationClass
            if cls_.value in per_class
        },
    }


def sum_totals(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Add the totals of several lines (costs added as decimals)."""
    result: dict[str, Any] = {
        key: sum(item[key] for item in items)
        for key in ("calls", "incoming", "outgoing", "missed", "outgoing_duration", "incoming_duration")
    }
    result["cost"] = float(sum((Decimal(str(item["cost"])) for item in items), Decimal(0)))
    per_class: dict[str, dict[str, Any]] = {}
    for item in items:
        for name, value in item["per_class"].items():
            held = per_class.setdefault(name, _empty_class())
            for key in ("calls", "outgoing_duration", "incoming_duration"):
                held[key] += value[key]
            held["cost"] += Decimal(str(value["cost"]))
    result["per_class"] = {
        cls_.value: {**per_class[cls_.value], "cost": float(per_class[cls_.value]["cost"])}
        for cls_ in DestinationClass
        if cls_.value in per_class
    }
    return result


def format_duration(seconds: int) -> str:
    """Return a call's duration as ``m:ss`` (``h:mm:ss`` from an hour on)."""
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def display_number(row: BillRow) -> str | None:
    """Return the other party's number as a guest reads it (grouped per its plan), or None when unknown."""
    raw = row.call.number or row.call.dialled
    if not raw:
        return None
    text = raw.strip()
    return format_number(to_e164(text) or text)


def to_csv(
    lines: Iterable[tuple[str, list[BillRow], Callable[[BillRow], str | None]]],
    currency: str,
    texts: Mapping[str, str] | None = None,
    language: str = "en",
) -> str:
    """Write the rows of one or more lines as a CSV a guest can read, with a total row.

    ``lines``: (line name, rows, the guest of a row). Local date and time, the number
    grouped, the duration as m:ss, direction and class in ``texts`` (the translations of
    selector ``bill_csv``, English for any missing).
    """
    words = {**CSV_TEXTS, **(texts or {})}
    date_format = "%d.%m.%Y" if language.split("-", maxsplit=1)[0].lower() in DAY_FIRST_LANGUAGES else "%Y-%m-%d"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([words[column].replace("{currency}", currency) for column in CSV_COLUMNS])
    count = 0
    seconds = 0
    cost = Decimal(0)
    for name, rows, guest_of in lines:
        for row in rows:
            start = dt_util.as_local(row.start)
            number = display_number(row)
            writer.writerow(
                [
                    start.strftime(date_format),
                    start.strftime("%H:%M:%S"),
                    _safe(name),
                    _safe(guest_of(row) or ""),
                    words[row.event_type.value],
                    _safe(number) if number else words["unknown_number"],
                    format_duration(row.call.duration),
                    words[row.destination_class.value],
                    f"{row.cost:.2f}",
                    words["yes"] if row.late else "",
                ]
            )
            count += 1
            seconds += row.call.duration
            cost += row.cost
    writer.writerow([words["total"], "", "", "", str(count), "", format_duration(seconds), "", f"{cost:.2f}", ""])
    return out.getvalue()


def _safe(value: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value) else value


def _is_number(value: str) -> bool:
    return value[:1] == "+" and value[1:].replace(" ", "").isdigit()


@dataclass(frozen=True, slots=True)
class LineBill:
    """A line's priced calls over a range, and how complete they are known to be."""

    rows: list[BillRow]
    # Whether the API's call history was merged in (False: the ledger alone).
    history: bool
    # Windows Home Assistant was down (only when the history could not fill them).
    downtime: list[tuple[datetime, datetime]]


async def async_line_bill(
    hass: HomeAssistant,
    tracker: CallTracker,
    client: VtxClient,
    tariffs: Tariffs,
    user_id: int,
    start: datetime,
    end: datetime,
    *,
    plan: NumberingPlan | None = None,
    late: Collection[str] = (),
) -> LineBill:
    """Return a line's calls that started in [start, end]: the ledger merged with the API's history.

    Calls the history has and the ledger lacks are recorded (without events: they are
    not news). Without a usable history the windows the ledger knows Home Assistant was
    down are returned: calls then may be missing. Raises ``LedgerError``.
    """
    history = True
    try:
        found = await client.get_all_call_history(user_id, start=start, end=end)
    except VtxUnsupportedError:
        history = False
    except VtxError as err:
        LOGGER.debug("Call history of line %s not read for a bill: %s", user_id, err)
        history = False
    else:
        await tracker.async_record(found, source=SOURCE_HISTORY, notify=False)
    first, last = int(start.timestamp()), int(end.timestamp())
    calls = await hass.async_add_executor_job(tracker.ledger.calls, user_id, first, last)
    downtime: list[tuple[datetime, datetime]] = []
    if not history:
        windows = await hass.async_add_executor_job(tracker.ledger.downtime, first, last)
        downtime = [(dt_util.utc_from_timestamp(a), dt_util.utc_from_timestamp(b)) for a, b in windows]
    return LineBill(rows=price(calls, tariffs, plan, late), history=history, downtime=downtime)
