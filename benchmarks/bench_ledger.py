"""Call ledger benchmarks: webhook answer time with the ledger write, ledger size, a bill's time.

Run with ``scripts/benchmark -k ledger``. Numbers are printed, never asserted against a threshold.

- Webhook answer time: a call push (one ``callLogEvents`` entry, the wiki's shape, a new
  call id each time) POSTed over loopback TCP to Home Assistant's HTTP server, timed from
  the request to its 200 answer, which comes only once the call is committed to the
  ledger (SQLite, WAL, ``synchronous=FULL``: an fsync per push).
- Ledger size: a ledger generated for 500 lines x 50 calls a day x 400 days (10 million
  calls with uuid4 ids and realistic numbers, written a day per transaction through
  ``Ledger.add_calls``), its size on disk after a checkpoint. ``VTX_BENCH_LEDGER_DAYS``
  makes it smaller for a quick run (the size is then also extrapolated to 400 days).
- Bill time: on that ledger, a 30-day bill of one line (1,500 calls): the ledger read
  plus classification, pricing and totals (``billing``), as ``get_call_history`` and
  ``check_out`` do it; and the ``get_call_history`` action through Home Assistant on a
  line with 30 days of calls in its entry's ledger (wiki server: no API history).
"""

from __future__ import annotations

from datetime import timedelta
import json
import os
from pathlib import Path
import random
import statistics
import time
from typing import Any
import uuid

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest

from custom_components.vtx_voip.api import CallLog
from custom_components.vtx_voip.api.assumptions import RESOURCE_CALL_LOG
from custom_components.vtx_voip.billing.bill import price, totals
from custom_components.vtx_voip.billing.ledger import Ledger, LedgerCall
from custom_components.vtx_voip.billing.tariffs import Tariffs
from tests.integration.conftest import WEBHOOK_ID

from .bench_push import Setup, push_setup
from .conftest import FIRST_USER_ID, record, sized

__all__ = ["push_setup"]

PUSHES = sized(500, 20)
LINES = sized(500, 10)
CALLS_PER_DAY = sized(50, 5)
DAYS = int(os.environ.get("VTX_BENCH_LEDGER_DAYS", sized("400", "2")))
BILL_DAYS = sized(30, 2)
BILL_RUNS = sized(20, 2)
TARIFFS: dict[str, Any] = {
    "tariffs": {
        "national_fixed": {"price_per_minute": "0.08", "billing": "per_minute", "setup_price": "0.10"},
        "national_mobile": {"price_per_minute": "0.35", "billing": "per_second", "minimum_seconds": 30},
        "international": {"price_per_minute": "1.20", "billing": "per_second", "minimum_seconds": 60},
        "special": {"price_per_minute": "0.99", "billing": "per_minute", "setup_price": "0.50"},
    }
}
NUMBERS = ("+41225117902", "+41791234567", "+41445551234", "+33142685300", "+41900123456", "+41781112233")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * share) - 1, 0)]


def _body(subscription_id: str, user_id: int, call_id: str) -> bytes:
    return json.dumps(
        {
            "subscriptionId": subscription_id,
            "callLogEvents": [
                {
                    "changeType": "CREATED",
                    "callLog": {
                        "id": call_id,
                        "userId": user_id,
                        "callStart": dt_util.utcnow().isoformat(),
                        "duration": 7,
                        "direction": "OUTGOING",
                        "callType": "VOICE",
                        "status": 804,
                        "callPartyNumber": "+41225117902",
                        "callPartyDialNumber": "0225117902",
                    },
                    "eventTime": dt_util.utcnow().isoformat(),
                }
            ],
        }
    ).encode()


async def test_ledger_webhook_answer_time(hass: HomeAssistant, push_setup: Setup) -> None:
    """Milliseconds from a call push's POST to its 200 answer (the ledger write included)."""
    _simulator, entry = await push_setup(1, "http", "wiki")
    runtime = entry.runtime_data
    subscription = runtime.push.subscriptions[RESOURCE_CALL_LOG]
    url = f"{entry.options['push_base_url']}/api/webhook/{WEBHOOK_ID}"
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(PUSHES):
            body = _body(subscription.id, FIRST_USER_ID, str(uuid.uuid4()))
            start = time.perf_counter()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                assert response.status == 200
            times.append((time.perf_counter() - start) * 1000)
    await hass.async_block_till_done()
    assert await hass.async_add_executor_job(runtime.calls.ledger.call_count) == PUSHES
    record(
        "webhook answer time for a call push, ledger write included (ms)",
        ["pushes", "p50", "p99", "max"],
        [PUSHES, f"{statistics.median(times):.2f}", f"{_percentile(times, 0.99):.2f}", f"{max(times):.2f}"],
    )


def _generate(path: Path) -> tuple[Ledger, float]:
    """Fill a ledger with LINES x CALLS_PER_DAY x DAYS calls; return it open and the seconds it took."""
    rng = random.Random(10)
    ledger = Ledger(path)
    now = int(dt_util.utcnow().timestamp())
    first_day = now - DAYS * 86400
    ledger.open(first_day)
    started = time.perf_counter()
    for day in range(DAYS):
        rows: list[tuple[LedgerCall, dict[str, Any]]] = []
        for line in range(LINES):
            for _ in range(CALLS_PER_DAY):
                start = first_day + day * 86400 + rng.randrange(86400)
                outgoing = rng.random() < 0.6
                number = rng.choice(NUMBERS)
                rows.append(
                    (
                        LedgerCall(
                            call_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            user_id=FIRST_USER_ID + line,
                            start=start,
                            duration=rng.randrange(0, 600),
                            direction="OUTGOING" if outgoing else "INCOMING",
                            call_type="VOICE",
                            status=804,
                            number=number,
                            dialled="0" + number[3:] if number.startswith("+41") else number,
                            received=start + 600,
                            source="push",
                        ),
                        {},
                    )
                )
        ledger.add_calls(rows)
    return ledger, time.perf_counter() - started


def _size(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())


@pytest.mark.timeout(3600)  # 10 million calls to write: beyond the per-test 120 s
async def test_ledger_size_and_bill_time(hass: HomeAssistant, tmp_path: Path) -> None:
    """The size on disk of a generated ledger, and the time of a 30-day bill of one line on it."""
    path = tmp_path / "ledger.db"
    ledger, seconds = await hass.async_add_executor_job(_generate, path)
    calls = LINES * CALLS_PER_DAY * DAYS
    tariffs = Tariffs.from_options(TARIFFS)
    end = int(dt_util.utcnow().timestamp())
    start = end - BILL_DAYS * 86400

    def bill(user_id: int) -> tuple[float, int]:
        began = time.perf_counter()
        rows = price(ledger.calls(user_id, start, end), tariffs)
        totals(rows)
        return (time.perf_counter() - began) * 1000, len(rows)

    runs = [await hass.async_add_executor_job(bill, FIRST_USER_ID + index * 17 % LINES) for index in range(BILL_RUNS)]
    await hass.async_add_executor_job(ledger._execute, "PRAGMA wal_checkpoint(TRUNCATE)")  # noqa: SLF001
    await hass.async_add_executor_job(ledger.close)
    size = _size(path)
    record(
        "call ledger size on disk (SQLite, WAL checkpointed)",
        ["lines", "calls/day", "days", "calls", "size (MiB)", "bytes/call", f"at {400} days (MiB)", "generated in (s)"],
        [
            LINES,
            CALLS_PER_DAY,
            DAYS,
            calls,
            f"{size / 2**20:.0f}",
            f"{size / calls:.0f}",
            f"{size / calls * LINES * CALLS_PER_DAY * 400 / 2**20:.0f}",
            f"{seconds:.0f}",
        ],
    )
    times = [item[0] for item in runs]
    record(
        f"{BILL_DAYS}-day bill of one line on that ledger (ledger read + classify + price + totals, ms)",
        ["runs", "calls per bill", "p50", "max"],
        [BILL_RUNS, runs[0][1], f"{statistics.median(times):.1f}", f"{max(times):.1f}"],
    )


async def test_ledger_bill_action_time(hass: HomeAssistant, push_setup: Setup) -> None:
    """``get_call_history`` for 30 days of one line through Home Assistant (wiki server: ledger only)."""
    _simulator, entry = await push_setup(1, "http", "wiki")
    hass.config_entries.async_update_entry(entry, options={**entry.options, **TARIFFS})
    await hass.async_block_till_done()
    tracker = entry.runtime_data.calls
    now = dt_util.utcnow()
    rng = random.Random(3)
    calls = [
        CallLog.from_json(
            {
                "id": str(uuid.uuid4()),
                "userId": FIRST_USER_ID,
                "callStart": (now - timedelta(seconds=rng.randrange(BILL_DAYS * 86400))).isoformat(),
                "duration": rng.randrange(600),
                "direction": rng.choice(["OUTGOING", "INCOMING"]),
                "callPartyNumber": rng.choice(NUMBERS),
            }
        )
        for _ in range(CALLS_PER_DAY * BILL_DAYS)
    ]
    await tracker.async_record(calls, notify=False)
    device = dr.async_get(hass).async_get_device_by_identifier(("vtx_voip", str(FIRST_USER_ID)), entry.entry_id)
    assert device is not None
    device_id = device.id
    times: list[float] = []
    for _ in range(BILL_RUNS):
        began = time.perf_counter()
        result = await hass.services.async_call(
            "vtx_voip",
            "get_call_history",
            {"start": (now - timedelta(days=BILL_DAYS)).isoformat()},
            target={"device_id": device_id},
            blocking=True,
            return_response=True,
        )
        times.append((time.perf_counter() - began) * 1000)
    assert isinstance(result, dict)
    assert result["totals"]["calls"] == len(calls)
    record(
        f"get_call_history, {BILL_DAYS} days of one line ({len(calls)} calls), through Home Assistant (ms)",
        ["runs", "p50", "max"],
        [BILL_RUNS, f"{statistics.median(times):.1f}", f"{max(times):.1f}"],
    )
