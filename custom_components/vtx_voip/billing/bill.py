"""Bills: a line's calls from the ledger (and the API's history), classified and priced.

One place builds the rows and totals that ``get_call_history``, ``check_out`` and the CSV
export show, so the three always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
import csv
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import io
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..api import VtxClient, VtxError, VtxUnsupportedError
from ..const import LOGGER
from .calls import SOURCE_HISTORY, CallEventType, CallTracker, call_event_type
from .ledger import LedgerCall
from .numbering import DestinationClass, classify
from .tariffs import Tariffs

CSV_COLUMNS: Final = (
    "line",
    "user_id",
    "id",
    "type",
    "start",
    "end",
    "direction",
    "number",
    "dialled_number",
    "duration",
    "destination_class",
    "cost",
    "currency",
)


@dataclass(frozen=True, slots=True)
class BillRow:
    """One priced call."""

    call: LedgerCall
    event_type: CallEventType
    destination_class: DestinationClass
    cost: Decimal

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
        }


def price(calls: Iterable[LedgerCall], tariffs: Tariffs) -> list[BillRow]:
    """Classify and price calls, oldest first."""
    rows: list[BillRow] = []
    for call in sorted(calls, key=lambda item: (item.start, item.call_id)):
        event_type = call_event_type(call)
        incoming = event_type is not CallEventType.OUTGOING
        destination = classify(call.number, None if incoming else call.dialled)
        rows.append(
            BillRow(
                call=call,
                event_type=event_type,
                destination_class=destination.destination_class,
                cost=tariffs.cost(destination, call.duration, incoming=incoming),
            )
        )
    return rows


def totals(rows: list[BillRow]) -> dict[str, Any]:
    """Count calls and durations by kind (as before costs existed); add the cost, in all and per class."""
    kinds = [row.event_type for row in rows]
    per_class: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = per_class.setdefault(row.destination_class.value, {"calls": 0, "duration": 0, "cost": Decimal(0)})
        item["calls"] += 1
        item["duration"] += row.call.duration
        item["cost"] += row.cost
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
            held = per_class.setdefault(name, {"calls": 0, "duration": 0, "cost": Decimal(0)})
            held["calls"] += value["calls"]
            held["duration"] += value["duration"]
            held["cost"] += Decimal(str(value["cost"]))
    result["per_class"] = {
        cls_.value: {**per_class[cls_.value], "cost": float(per_class[cls_.value]["cost"])}
        for cls_ in DestinationClass
        if cls_.value in per_class
    }
    return result


def to_csv(lines: Iterable[tuple[str, int, list[BillRow]]], currency: str) -> str:
    """Write the rows of one or more lines as CSV (the same rows the actions return)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for name, user_id, rows in lines:
        for row in rows:
            item = row.as_dict()
            writer.writerow(
                [
                    _safe(name),
                    user_id,
                    _safe(item["id"]),
                    item["type"],
                    item["start"],
                    item["end"],
                    _safe(item["direction"] or ""),
                    _safe(item["number"] or ""),
                    _safe(item["dialled_number"] or ""),
                    item["duration"],
                    item["destination_class"],
                    f"{row.cost:.2f}",
                    currency,
                ]
            )
    return out.getvalue()


def _safe(value: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value) else value


def _is_number(value: str) -> bool:
    return value[:1] == "+" and value[1:].isdigit()


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
    return LineBill(rows=price(calls, tariffs), history=history, downtime=downtime)
