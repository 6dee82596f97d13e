"""Stays against the simulator: check-in, calls pushed, check-out's priced bill, whatever happens between.

The simulator runs its "wiki" profile (no call-history endpoint): the bill can only come
from the ledger, which the webhook writes before it answers.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
import shutil
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vtx_voip.billing.ledger import LedgerError, ledger_path
from custom_components.vtx_voip.const import DOMAIN
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102
from .test_push import settle
from .test_services import call, line_device, travel

DND_101 = "switch.room_101_do_not_disturb"
# Tariffs of the 200-call stay (prices per minute).
TARIFFS: dict[str, Any] = {
    "tariffs": {
        "internal": {"price_per_minute": "0.05", "billing": "per_minute", "minimum_seconds": 0, "setup_price": "0"},
        "national_fixed": {
            "price_per_minute": "0.08",
            "billing": "per_minute",
            "minimum_seconds": 0,
            "setup_price": "0.10",
        },
        "national_mobile": {
            "price_per_minute": "0.35",
            "billing": "per_second",
            "minimum_seconds": 30,
            "setup_price": "0.05",
        },
        "international": {
            "price_per_minute": "1.20",
            "billing": "per_second",
            "minimum_seconds": 60,
            "setup_price": "0",
        },
        "special": {"price_per_minute": "0.99", "billing": "per_minute", "minimum_seconds": 0, "setup_price": "0.50"},
    },
    "bill_incoming": False,
}
# (direction, number, dialled, seconds, class, cost): each cost worked out by hand from TARIFFS.
HAND_TABLE: list[tuple[str, str, str | None, int, str, str]] = [
    # internal: 0.05 per started minute. 61 s = 2 min.
    ("outgoing", "+41225660201", "201", 61, "internal", "0.10"),
    ("outgoing", "+41225660202", "202", 59, "internal", "0.05"),
    # national fixed: 0.10 + 0.08 per started minute.
    ("outgoing", "+41225117902", None, 95, "national_fixed", "0.26"),  # 2 min
    ("outgoing", "+41225117903", None, 60, "national_fixed", "0.18"),  # 1 min exactly
    ("outgoing", "+41225117904", None, 1, "national_fixed", "0.18"),  # a started minute
    ("outgoing", "+41445551234", None, 3600, "national_fixed", "4.90"),  # 60 min
    # national mobile: 0.05 + 0.35 / 60 per second, at least 30 s.
    ("outgoing", "+41791234567", None, 10, "national_mobile", "0.23"),  # 30 s: 0.225 -> 0.23
    ("outgoing", "+41781234567", None, 125, "national_mobile", "0.78"),  # 0.779166...
    ("outgoing", "+41761234567", None, 30, "national_mobile", "0.23"),  # 0.225
    ("outgoing", "+41751234567", None, 31, "national_mobile", "0.23"),  # 0.230833...
    ("outgoing", "+41771234567", None, 0, "national_mobile", "0.00"),  # not connected
    ("incoming", "+41791112233", None, 300, "national_mobile", "0.00"),  # incoming: free
    ("missed", "+41794445566", None, 0, "national_mobile", "0.00"),
    # international: 1.20 / 60 per second, at least 60 s.
    ("outgoing", "+33142685300", None, 45, "international", "1.20"),  # 60 s
    ("outgoing", "+4930123456", None, 200, "international", "4.00"),
    ("outgoing", "+442079460000", None, 61, "international", "1.22"),
    # special and premium: 0.50 + 0.99 per started minute; freephone free.
    ("outgoing", "+41900123456", None, 30, "special", "1.49"),
    ("outgoing", "+41848123456", None, 61, "special", "2.48"),
    ("outgoing", "+41800123456", None, 60, "free", "0.00"),  # freephone: its own class
    # emergency: free.
    ("outgoing", "112", "112", 120, "emergency", "0.00"),
]
REPEAT = 10  # 20 kinds x 10 = 200 calls
# Per class, by hand: calls and cost for the 200 calls (each row's cost x 10).
HAND_PER_CLASS: dict[str, tuple[int, str]] = {
    "internal": (20, "1.50"),
    "national_fixed": (40, "55.20"),
    "national_mobile": (70, "14.70"),
    "international": (30, "64.20"),
    "special": (20, "39.70"),
    "free": (10, "0.00"),
    "emergency": (10, "0.00"),
}
HAND_TOTAL = "175.30"


def _make(simulator: Simulator, direction: str, number: str, dialled: str | None, seconds: int) -> dict[str, Any]:
    if direction == "missed":
        return simulator.make_call(ROOM_101, direction="incoming", number=number, missed=True)
    return simulator.make_call(ROOM_101, direction=direction, number=number, duration=seconds, dial_number=dialled)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


@pytest.fixture
def wiki(simulator: Simulator) -> Simulator:
    """The simulator doing only what the wiki documents (no call history)."""
    simulator.set_profile("wiki")
    return simulator


async def _setup(hass: HomeAssistant, entry: MockConfigEntry, options: dict[str, Any] | None = None) -> None:
    entry.add_to_hass(hass)
    if options:
        hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _check_in(hass: HomeAssistant, guest: str | None = "Ms Muster") -> dict[str, Any]:
    data = {"guest": guest} if guest else {}
    result = await call(hass, "check_in", data, device_id=line_device(hass, ROOM_101))
    [line] = result["lines"]
    return dict(line)


async def _check_out(hass: HomeAssistant) -> dict[str, Any]:
    result = await call(hass, "check_out", device_id=line_device(hass, ROOM_101))
    [line] = result["lines"]
    return dict(line)


async def test_stay_with_200_calls_bills_to_the_cent(
    hass: HomeAssistant, wiki: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """200 calls of every class: each call's class and cost, the totals per class and overall, as by hand."""
    hass.config.currency = "CHF"
    await _setup(hass, config_entry, TARIFFS)
    stay = await _check_in(hass)
    assert stay["guest"] == "Ms Muster"
    # A call before check-in is not the guest's.
    simulator = wiki
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=5)
    await settle(hass, simulator)
    await travel(hass, freezer, timedelta(hours=2))
    made: list[tuple[str, str, str]] = []
    for _ in range(REPEAT):
        for direction, number, dialled, seconds, cls, cost in HAND_TABLE:
            made.append((_make(simulator, direction, number, dialled, seconds)["id"], cls, cost))
        await settle(hass, simulator)
    assert len(made) == 200
    assert _state(hass, "sensor.room_101_stay_calls") == "200"
    assert Decimal(_state(hass, "sensor.room_101_stay_call_cost")) == Decimal(HAND_TOTAL)
    cost_state = hass.states.get("sensor.room_101_stay_call_cost")
    assert cost_state is not None
    assert cost_state.attributes["unit_of_measurement"] == "CHF"
    assert cost_state.attributes["guest"] == "Ms Muster"

    bill = await _check_out(hass)
    assert bill["currency"] == "CHF"
    assert bill["history"] is False
    rows = {row["id"]: row for row in bill["calls"]}
    assert len(rows) == 200
    for call_id, cls, cost in made:
        assert rows[call_id]["destination_class"] == cls, rows[call_id]
        assert Decimal(str(rows[call_id]["cost"])) == Decimal(cost), rows[call_id]
    totals = bill["totals"]
    assert totals["calls"] == 200
    assert Decimal(str(totals["cost"])) == Decimal(HAND_TOTAL)
    assert {name: (value["calls"], Decimal(str(value["cost"]))) for name, value in totals["per_class"].items()} == {
        name: (calls, Decimal(cost)) for name, (calls, cost) in HAND_PER_CLASS.items()
    }
    # The bill adds up to its rows.
    assert sum(Decimal(str(row["cost"])) for row in bill["calls"]) == Decimal(HAND_TOTAL)
    # Closed: the sensors know no stay, a second check-out is refused.
    assert _state(hass, "sensor.room_101_stay_calls") == STATE_UNKNOWN
    with pytest.raises(ServiceValidationError) as err:
        await _check_out(hass)
    assert err.value.translation_key == "no_stay"


async def test_check_out_after_a_reload(
    hass: HomeAssistant, wiki: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Calls pushed during a stay are on its bill after a reload; the line goes back to its baseline."""
    simulator = wiki
    await _setup(hass, config_entry)
    stay = await _check_in(hass)
    assert stay["baseline_features"] >= 1
    await travel(hass, freezer, timedelta(minutes=10))
    first = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95)
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert _state(hass, DND_101) == STATE_ON
    assert _state(hass, "sensor.room_101_stay_calls") == "1"
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The open stay came back from the ledger, with its totals.
    assert _state(hass, "sensor.room_101_stay_calls") == "1"
    second = simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", duration=30)
    await settle(hass, simulator)
    assert _state(hass, "sensor.room_101_stay_calls") == "2"
    bill = await _check_out(hass)
    assert [row["id"] for row in bill["calls"]] == [first["id"], second["id"]]
    assert bill["guest"] == "Ms Muster"
    assert [change["feature"] for change in bill["reset"]["changes"]] == ["CENTRAL_DND"]
    await settle(hass, simulator)
    assert _state(hass, DND_101) == STATE_OFF
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "INACTIVE"
    # No history here, so downtime would be listed: a reload within the second leaves none.
    assert bill["downtime"] == []


async def test_check_out_after_a_hard_kill(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    wiki: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    ledger_dir: Path,
) -> None:
    """Calls pushed during a stay are on its bill after Home Assistant dies right after answering the webhook.

    The kill: the instant the webhook answered 200, the ledger's files (database, WAL and
    shared memory) are copied as they are on disk, with the connection still open (no
    close, no checkpoint), and so is the storage Home Assistant had written. That is what
    a SIGKILL leaves behind. The entry is then unloaded (this run's clean shutdown is
    thrown away: the files and the storage are put back to the copies), and set up again
    from them. ``test_ledger.py`` kills a real process holding the ledger with SIGKILL.
    """
    simulator = wiki
    await _setup(hass, config_entry)
    await _check_in(hass, guest=None)
    await travel(hass, freezer, timedelta(minutes=10))
    calls = [
        simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95),
        simulator.make_call(ROOM_101, direction="outgoing", number="+41791234567", duration=20),
        simulator.make_call(ROOM_101, direction="incoming", number="+41794445566", missed=True),
    ]
    await simulator.wait_for_pushes()
    call_pushes = [item for item in simulator.deliveries() if "callLogEvents" in str(item)]
    assert call_pushes
    assert {item["status"] for item in call_pushes} == {200}

    # --- the kill, right after the answers -----------------------------------------------
    path = ledger_path(hass, config_entry.entry_id)
    live = ledger_dir / f"vtx_voip.{config_entry.entry_id}.ledger.db"
    crash = ledger_dir / "crash"
    crash.mkdir()
    left = {suffix: Path(f"{live}{suffix}") for suffix in ("", "-wal", "-shm")}
    for suffix, file in left.items():
        if file.exists():
            shutil.copyfile(file, crash / f"db{suffix}")
    assert (crash / "db-wal").stat().st_size > 0, "the calls are in the WAL, not checkpointed"
    storage_at_kill = copy.deepcopy(hass_storage)
    assert path.name == live.name

    # Throw this run away and start from what the kill left.
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    for suffix, file in left.items():
        file.unlink(missing_ok=True)
        if (crash / f"db{suffix}").exists():
            shutil.copyfile(crash / f"db{suffix}", file)
    hass_storage.clear()
    hass_storage.update(storage_at_kill)
    # Home Assistant comes back half an hour later.
    freezer.tick(timedelta(minutes=30))
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.state is ConfigEntryState.LOADED

    assert _state(hass, "sensor.room_101_stay_calls") == "3"
    bill = await _check_out(hass)
    assert [row["id"] for row in bill["calls"]] == [item["id"] for item in calls]
    assert [row["type"] for row in bill["calls"]] == ["outgoing_call", "outgoing_call", "missed_call"]
    # The half hour down is known (to the minute of the last sign of life): calls then may be missing.
    [window] = bill["downtime"]
    down = dt_util.parse_datetime(window["end"]) - dt_util.parse_datetime(window["start"])
    assert timedelta(minutes=30) <= down <= timedelta(minutes=31)


async def test_check_in_twice_and_errors(
    hass: HomeAssistant, wiki: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A second check-in closes the open stay; an API down at check-in keeps the previous baseline."""
    simulator = wiki
    await _setup(hass, config_entry)
    first = await _check_in(hass, guest="First")
    await travel(hass, freezer, timedelta(minutes=10))
    simulator.fail_next(503, count=None)
    second = await _check_in(hass, guest="Second")
    simulator.clear_faults()
    assert second["closed_stay"] == first["stay_id"]
    assert second["baseline_features"] is None
    assert second["baseline_error"]
    state = hass.states.get("sensor.room_101_stay_calls")
    assert state is not None
    assert state.attributes["guest"] == "Second"
    assert state.state == "0"
    # Room 102 has no stay: a check-out of both names it and changes nothing.
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "check_out", device_id=[line_device(hass, ROOM_101), line_device(hass, ROOM_102)])
    assert err.value.translation_placeholders == {"line": "Room 102"}
    assert state.attributes["guest"] == "Second"
    # A stay that cannot be closed in the ledger stays open (the bill is not lost).
    stays = config_entry.runtime_data.stays
    with (
        patch.object(stays.tracker.ledger, "check_out", side_effect=LedgerError("disk full")),
        pytest.raises(HomeAssistantError) as failed,
    ):
        await _check_out(hass)
    assert failed.value.translation_key == "ledger_failed"
    assert stays.stay_of(ROOM_101) is not None
    await stays._async_refresh(ROOM_102)
    # A reset that fails is told in the bill; the stay is closed all the same.
    simulator.fail_next(503, count=None)
    bill = await _check_out(hass)
    simulator.clear_faults()
    assert "error" in bill["reset"]
    assert _state(hass, "sensor.room_101_stay_calls") == STATE_UNKNOWN


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_check_out_button_and_csv(
    hass: HomeAssistant,
    wiki: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    """The button checks out and the bill is fired; its CSV is for administrators, readable by a guest."""
    simulator = wiki
    hass.config.currency = "CHF"
    await _setup(hass, config_entry, TARIFFS)
    entity_id = er.async_get(hass).async_get_entity_id("button", DOMAIN, f"{ROOM_101}_check_out")
    assert entity_id is not None
    await _check_in(hass)
    await travel(hass, freezer, timedelta(minutes=10))
    made = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95)
    simulator.make_call(ROOM_101, direction="outgoing", number="=cmd|'/c calc'!A1", duration=5)
    simulator.make_call(ROOM_101, direction="outgoing", number="+41901234567", duration=125)
    simulator.make_call(ROOM_101, direction="outgoing", number="+4930123456", duration=61)
    await settle(hass, simulator)
    fired = async_capture_events(hass, "vtx_voip_check_out")
    await hass.services.async_call("button", "press", {"entity_id": entity_id}, blocking=True)
    await hass.async_block_till_done()
    [event] = fired
    bill = event.data
    assert bill["config_entry_id"] == config_entry.entry_id
    assert bill["device_id"] == line_device(hass, ROOM_101)
    [row] = [row for row in bill["calls"] if row["id"] == made["id"]]
    assert Decimal(str(row["cost"])) == Decimal("0.26")
    assert bill["on_call"] is False
    # Not signed for anyone: a button has no administrator behind it.
    assert "csv_signed_path" not in bill
    assert "?" not in bill["csv_path"]

    # Pressed again: no stay is open, told as such.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call("button", "press", {"entity_id": entity_id}, blocking=True)
    assert err.value.translation_key == "no_stay"
    path = bill["csv_path"]
    # Without a login, or as a user who is no administrator: 401.
    assert (await (await hass_client_no_auth()).get(path)).status == 401
    read_only = await hass_client(hass_read_only_access_token)
    assert (await read_only.get(path)).status == 401
    assert (
        await read_only.get(f"/api/vtx_voip/bill/{config_entry.entry_id}.csv", params={"start": bill["start"]})
    ).status == 401
    client = await hass_client()
    response = await client.get(path)
    assert response.status == 200
    text = await response.text()
    header, *rows, total = text.splitlines()
    assert len(rows) == 4
    assert header.split(",") == [
        "Date", "Time", "Line", "Guest", "Direction", "Number", "Duration", "Class", "Cost (CHF)", "Late charge"
    ]  # fmt: skip
    by_number = {row.split(",")[5]: row for row in rows}
    first = by_number["+41 22 511 79 02"]
    start = dt_util.as_local(dt_util.parse_datetime(made["callStart"]))
    assert first.split(",") == [
        start.strftime("%Y-%m-%d"),
        start.strftime("%H:%M:%S"),
        "Room 101",
        "Ms Muster",
        "Outgoing",
        "+41 22 511 79 02",
        "1:35",
        "National fixed",
        "0.26",
        "",
    ]
    # A number that would be a spreadsheet formula is written as text.
    assert any(row.split(",")[5].startswith("'=cmd") for row in rows)
    assert by_number["0901 234 567"].split(",")[5:9] == ["0901 234 567", "2:05", "Special", "3.47"]
    assert by_number["+49 30 123456"].split(",")[5:9] == ["+49 30 123456", "1:01", "International", "1.22"]
    assert total.split(",")[0] == "Total"
    assert total.split(",")[4] == "4"
    assert total.split(",")[6] == "4:46"
    assert Decimal(total.split(",")[8]) == sum(Decimal(row.split(",")[8]) for row in rows)
    # In German: day first, classes and directions translated.
    german = await (await client.get(path, params={"lang": "de"})).text()
    german_header, *german_rows = german.splitlines()
    assert german_header.split(",")[:3] == ["Datum", "Zeit", "Leitung"]
    german_first = next(row.split(",") for row in german_rows if "+41 22 511 79 02" in row)
    assert german_first[0] == start.strftime("%d.%m.%Y")
    assert german_first[4] == "Ausgehend"
    assert german_first[7] == "Festnetz national"
    assert german.splitlines()[-1].startswith("Total,")
    # A range of one line, or of all lines; bad queries are refused.
    response = await client.get(
        f"/api/vtx_voip/bill/{config_entry.entry_id}.csv", params={"start": bill["start"], "user_id": str(ROOM_101)}
    )
    assert (await response.text()).splitlines() == text.splitlines()
    response = await client.get(f"/api/vtx_voip/bill/{config_entry.entry_id}.csv", params={"start": bill["start"]})
    assert len((await response.text()).splitlines()) == 6
    for params, status in (
        ({}, 400),
        ({"start": "yesterday"}, 400),
        ({"start": bill["start"], "end": bill["start"]}, 400),
        ({"start": bill["start"], "user_id": "999"}, 404),
    ):
        assert (await client.get(f"/api/vtx_voip/bill/{config_entry.entry_id}.csv", params=params)).status == status
    assert (await client.get("/api/vtx_voip/bill/nope.csv", params={"start": bill["start"]})).status == 404
    assert (await client.get(f"/api/vtx_voip/bill/{config_entry.entry_id}/stay/999.csv")).status == 404


async def test_a_ledger_that_fails(
    hass: HomeAssistant,
    wiki: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """A ledger that cannot be written: the push is refused with 503 (the API delivers again), actions fail translated."""
    simulator = wiki
    await _setup(hass, config_entry)
    stay = await _check_in(hass)
    runtime = config_entry.runtime_data
    connection = runtime.calls.ledger._conn
    assert connection is not None
    connection.close()  # every statement now fails inside sqlite3
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=9)
    await settle(hass, simulator)
    assert [item["status"] for item in simulator.deliveries() if "callLogEvents" in str(item)][-1] == 503
    assert runtime.push.pushes_rejected >= 1
    for service, data in (("get_call_history", {"start": stay["start"]}), ("check_in", {}), ("check_out", {})):
        with pytest.raises(HomeAssistantError) as err:
            await call(hass, service, data, device_id=line_device(hass, ROOM_101))
        assert err.value.translation_key == "ledger_failed", service
    client = await hass_client()
    assert (await client.get(f"/api/vtx_voip/bill/{config_entry.entry_id}/stay/1.csv")).status == 503
    response = await client.get(f"/api/vtx_voip/bill/{config_entry.entry_id}.csv", params={"start": stay["start"]})
    assert response.status == 503
    # The timers (sign of life, retention) and a refresh of the stay's totals only log.
    await travel(hass, freezer, timedelta(days=1, minutes=1))
    assert await runtime.calls.async_prune() == 0
    await runtime.stays._async_refresh(ROOM_101)
    assert _state(hass, "sensor.room_101_stay_calls") == "0"
    # Unloading still works.
    assert await hass.config_entries.async_unload(config_entry.entry_id)


async def test_a_damaged_ledger_file_retries_set_up(
    hass: HomeAssistant, wiki: Simulator, config_entry: MockConfigEntry, ledger_dir: Path
) -> None:
    """A file that is no ledger makes the set-up retry (translated), and takes nothing else down."""
    (ledger_dir / f"vtx_voip.{config_entry.entry_id}.ledger.db").write_bytes(b"not a database" * 100)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert config_entry.reason is not None
