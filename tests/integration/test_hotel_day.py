"""The hotel's day against the simulator: a reset that fails at check-out, late charges, who may read bills, internal calls."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast
from unittest.mock import ANY, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.components.websocket_api.connection import current_connection
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.vtx_voip import logbook
from custom_components.vtx_voip.billing.ledger import LedgerCall, LedgerError
from custom_components.vtx_voip.billing.stays import (
    EVENT_LATE_CHARGE,
    RESET_REPAIR_AFTER,
    PendingReset,
    _signed,
    feature_differences,
    reset_issue_id,
)
from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.lines.discovery import async_discover_line
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, demo_entry, line_subentry
from .test_push import settle
from .test_services import call, line_device, travel

CFU = "CALL_FORWARD_UNCONDITIONAL"
MOBILE = "+41791234567"
ROOM_102_NUMBER = "+41225662195"
TARIFFS: dict[str, Any] = {
    "tariffs": {
        "internal": {"price_per_minute": "0.05", "billing": "per_minute", "minimum_seconds": 0, "setup_price": "0"},
        "national_fixed": {
            "price_per_minute": "0.08",
            "billing": "per_minute",
            "minimum_seconds": 0,
            "setup_price": "0.10",
        },
        "special": {"price_per_minute": "0.99", "billing": "per_minute", "minimum_seconds": 0, "setup_price": "0.50"},
    },
}


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _ws_call_service(client: Any, service: str, device_id: str) -> dict[str, Any]:
    """Call one of our actions on a line's device over the websocket, as the board does; return the answer."""
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": service,
            "target": {"device_id": device_id},
            "return_response": True,
        }
    )
    answer: dict[str, Any] = await client.receive_json()
    return answer


def _cfu(simulator: Simulator) -> str:
    return str(simulator.feature(ROOM_101, CFU)["status"])


async def test_a_failed_reset_never_outlives_the_stay(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Guest A's forward survives a check-out while the API refuses writes; it is not B's default and goes at B's check-out."""
    await _setup(hass, config_entry)
    room = line_device(hass, ROOM_101)
    stays = config_entry.runtime_data.stays
    await call(hass, "check_in", {"guest": "A"}, device_id=room)
    await call(hass, "set_call_forward", {"forward": "unconditional", "destination": MOBILE}, device_id=room)
    await settle(hass, simulator)
    assert _cfu(simulator) == "ACTIVE"

    # Check-out while every write is refused: the bill comes, the reset is kept pending.
    simulator.add_fault("status", status=503, method="PUT", count=None)
    result = await call(hass, "check_out", device_id=room)
    [bill] = result["lines"]
    assert bill["guest"] == "A"
    assert bill["reset"]["pending"] is True
    assert "error" in bill["reset"]
    pending = stays.reset_pending(ROOM_101)
    assert pending is not None
    assert _cfu(simulator) == "ACTIVE"

    # Guest B checks in: the baseline is still A-free, and the answer names A's forward.
    [check_in] = (await call(hass, "check_in", {"guest": "B"}, device_id=room))["lines"]
    assert check_in["baseline_kept"] is True
    assert check_in["reset_pending"]["stay_id"] == bill["stay_id"]
    [difference] = [item for item in check_in["differences"] if item["feature"] == CFU]
    assert difference["baseline"]["status"] == "INACTIVE"
    assert difference["current"] == {"status": "ACTIVE", "destination": MOBILE}
    assert CFU not in check_in["active"]
    assert config_entry.runtime_data.manager.store.baselines[ROOM_101][CFU]["status"] == "INACTIVE"

    # Retried with back-off while the API refuses; after 15 minutes a repair issue.
    issue_id = reset_issue_id(config_entry.entry_id, ROOM_101)
    await travel(hass, freezer, RESET_REPAIR_AFTER - timedelta(minutes=1))
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await travel(hass, freezer, timedelta(minutes=2))
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "reset_pending"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["line"] == "Room 101"
    assert pending.attempts >= 2

    # Kept on disk: a restart still knows it.
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    stays = config_entry.runtime_data.stays
    assert stays.reset_pending(ROOM_101) is not None
    assert stays.stay_of(ROOM_101) is not None

    # The API takes writes again; B checks out: the forward is off, nothing is pending.
    simulator.clear_faults()
    [second] = (await call(hass, "check_out", device_id=room))["lines"]
    assert second["guest"] == "B"
    assert [change["feature"] for change in second["reset"]["changes"]] == [CFU]
    assert _cfu(simulator) == "INACTIVE"
    assert stays.reset_pending(ROOM_101) is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    # Another restart does not bring it back.
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.runtime_data.stays.reset_pending(ROOM_101) is None


async def test_a_pending_reset_is_retried_until_done(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Without a new check-out, the retry puts the line back once the API answers; a line left in DND is named at check-in."""
    await _setup(hass, config_entry)
    room = line_device(hass, ROOM_101)
    await call(hass, "check_in", {"guest": "A"}, device_id=room)
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    simulator.add_fault("status", status=503, method="PUT", count=None)
    await call(hass, "check_out", device_id=room)
    stays = config_entry.runtime_data.stays
    assert stays.reset_pending(ROOM_101) is not None
    await travel(hass, freezer, timedelta(minutes=1))
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "ACTIVE"
    simulator.clear_faults()
    await travel(hass, freezer, timedelta(minutes=10))
    assert simulator.feature(ROOM_101, "CENTRAL_DND")["status"] == "INACTIVE"
    assert stays.reset_pending(ROOM_101) is None

    # A line left in DND by someone else: check-in takes it as baseline, and says so.
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    [check_in] = (await call(hass, "check_in", {"guest": "B"}, device_id=room))["lines"]
    assert check_in["baseline_kept"] is False
    assert check_in["active"] == ["CENTRAL_DND"]
    assert [item["feature"] for item in check_in["differences"]] == ["CENTRAL_DND"]


async def test_a_late_call_record_is_a_late_charge(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """Checked out during a call: on_call is told; the record that comes after is charged to that stay."""
    simulator.set_profile("wiki")  # no call history: the record comes by push only
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={**config_entry.options, **TARIFFS})
    hass.config.currency = "CHF"
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    room = line_device(hass, ROOM_101)
    await call(hass, "check_in", {"guest": "Ms Muster"}, device_id=room)
    await travel(hass, freezer, timedelta(minutes=5))
    simulator.start_call(ROOM_101, direction="outgoing", number="+41225117902")
    await settle(hass, simulator)
    await travel(hass, freezer, timedelta(seconds=30))
    late = async_capture_events(hass, EVENT_LATE_CHARGE)
    [bill] = (await call(hass, "check_out", device_id=room))["lines"]
    assert bill["on_call"] is True
    assert bill["calls"] == []
    await travel(hass, freezer, timedelta(seconds=65))
    record = simulator.end_call(ROOM_101)
    await settle(hass, simulator)

    [event] = late
    assert event.data["config_entry_id"] == config_entry.entry_id
    assert event.data["device_id"] == room
    assert event.data["line"] == "Room 101"
    assert event.data["stay_id"] == bill["stay_id"]
    assert event.data["guest"] == "Ms Muster"
    assert event.data["call"]["id"] == record["id"]
    assert event.data["call"]["late"] is True
    assert Decimal(str(event.data["call"]["cost"])) == Decimal("0.26")  # 95 s: 0.10 + 2 x 0.08

    # The logbook tells it; the stay's CSV marks it.
    described: dict[str, Any] = {}
    logbook.async_describe_events(hass, lambda domain, event_type, describe: described.setdefault(event_type, describe))
    line = described[EVENT_LATE_CHARGE](event)
    assert line["name"] == "Room 101"
    assert (
        line["message"] == "late charge for the stay of Ms Muster: outgoing call to +41 22 511 79 02 (1:35) (CHF 0.26)"
    )
    client = await hass_client()
    text = await (await client.get(bill["csv_path"])).text()
    _header, row, total = text.splitlines()
    assert row.split(",")[5:] == ["+41 22 511 79 02", "1:35", "National fixed", "0.26", "yes"]
    assert total.split(",")[8] == "0.26"

    # A call of no stay, or of the open one, is no late charge.
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=5)
    await settle(hass, simulator)
    await call(hass, "check_in", {}, device_id=room)
    await travel(hass, freezer, timedelta(minutes=1))
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=5)
    await settle(hass, simulator)
    assert len(late) == 1


async def test_call_records_are_for_administrators(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_read_only_user: User,
    hass_admin_user: User,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A user who is no administrator gets Unauthorized from get_call_history and check_out; check-in is open to all."""
    room = line_device(hass, ROOM_101)
    guest_user = Context(user_id=hass_read_only_user.id)
    [check_in] = (
        await hass.services.async_call(
            DOMAIN, "check_in", {"guest": "X"}, target={"device_id": room}, blocking=True, return_response=True,
            context=guest_user,
        )
    )["lines"]  # fmt: skip
    assert check_in["guest"] == "X"
    for service, data in (("get_call_history", {"start": check_in["start"]}), ("check_out", {})):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN, service, data, target={"device_id": room}, blocking=True, return_response=True,
                context=guest_user,
            )  # fmt: skip
    assert init_integration.runtime_data.stays.stay_of(ROOM_101) is not None
    # An administrator on the board (websocket) checks out: the CSV link is signed for them.
    checked_out = async_capture_events(hass, "vtx_voip_check_out")
    client = await hass_ws_client(hass)
    answer = await _ws_call_service(client, "check_out", room)
    assert answer["success"], answer
    [bill] = answer["result"]["response"]["lines"]
    await hass.async_block_till_done()
    # Fired for the board's check-out as for the button's.
    [event] = checked_out
    assert event.data["stay_id"] == bill["stay_id"]
    assert event.data["device_id"] == room
    assert "csv_signed_path" not in event.data  # never on the bus
    signed = bill["csv_signed_path"]
    assert signed.startswith(bill["csv_path"] + "?authSig=")
    response = await (await hass_client_no_auth()).get(signed)
    assert response.status == 200
    assert (await response.text()).splitlines()[-1].startswith("Total,")


async def test_calls_between_rooms_are_internal(
    hass: HomeAssistant, simulator: Simulator, push_options: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    """Extension 102 (Internal extensions option) and Room 102's number or login name are billed internal."""
    room_102 = line_subentry(ROOM_102, "Room 102")
    entry = demo_entry(
        simulator.base_url,
        options={**push_options, **TARIFFS, "internal_extensions": "100-199"},
        subentries_data=[
            line_subentry(ROOM_101, "Room 101"),
            ConfigSubentryData(
                data={**room_102["data"], "number": ROOM_102_NUMBER},
                subentry_type="line",
                title="Room 102",
                unique_id=str(ROOM_102),
            ),
        ],
    )
    await _setup(hass, entry)
    # Room 103 is no line of this entry, but the account has it (a line discovered by push).
    async_discover_line(hass, entry, 176133, "+41225662196@m.ipvoip.ch")
    await hass.async_block_till_done(wait_background_tasks=True)
    room = line_device(hass, ROOM_101)
    [stay] = (await call(hass, "check_in", {}, device_id=room))["lines"]
    await travel(hass, freezer, timedelta(minutes=10))
    made = [
        simulator.make_call(ROOM_101, direction="outgoing", number="102", dial_number="102", duration=61),
        simulator.make_call(
            ROOM_101, direction="outgoing", number=ROOM_102_NUMBER, dial_number="0225662195", duration=30
        ),
        simulator.make_call(ROOM_101, direction="incoming", number=ROOM_102_NUMBER, duration=20),
        simulator.make_call(ROOM_101, direction="outgoing", number="+41225662196", duration=10),
        simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=10),
        simulator.make_call(ROOM_101, direction="outgoing", number="1811", dial_number="1811", duration=10),
    ]
    await settle(hass, simulator)
    history = await call(hass, "get_call_history", {"start": stay["start"]}, device_id=room)
    classes = {row["id"]: (row["destination_class"], row["cost"]) for row in history["lines"][0]["calls"]}
    assert [classes[item["id"]] for item in made] == [
        ("internal", 0.10),  # 61 s: two started minutes at 0.05
        ("internal", 0.05),
        ("internal", 0.0),  # incoming: free
        ("internal", 0.05),  # a line of the account that this entry has not set up
        ("national_fixed", 0.18),
        ("special", 1.49),  # a short number outside the ranges
    ]
    per_class = history["lines"][0]["totals"]["per_class"]["internal"]
    assert per_class == {"calls": 4, "outgoing_duration": 101, "incoming_duration": 20, "cost": 0.2}
    # The login name learned is kept in the ledger: after a restart calls to it stay internal.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "+41225662196" in entry.runtime_data.stays.plan.own_numbers


async def test_a_removed_line_closes_its_stay(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Removing a line with an open stay closes the stay; its bill can still be read."""
    entry = init_integration
    room = line_device(hass, ROOM_101)
    [stay] = (await call(hass, "check_in", {"guest": "Gone"}, device_id=room))["lines"]
    await travel(hass, freezer, timedelta(minutes=10))
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=12)
    await settle(hass, simulator)
    [subentry_id] = [item.subentry_id for item in entry.subentries.values() if item.unique_id == str(ROOM_101)]
    assert hass.config_entries.async_remove_subentry(entry, subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    stays = entry.runtime_data.stays
    assert stays.stay_of(ROOM_101) is None
    closed = await hass.async_add_executor_job(entry.runtime_data.calls.ledger.stay, stay["stay_id"])
    assert closed is not None
    assert closed.end is not None
    client = await hass_client()
    response = await client.get(f"/api/vtx_voip/bill/{entry.entry_id}/stay/{stay['stay_id']}.csv")
    assert response.status == 200
    _header, row, _total = (await response.text()).splitlines()
    assert row.split(",")[2:4] == [str(ROOM_101), "Gone"]


async def test_internal_extensions_option(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The option takes ranges (a translated error otherwise) and shows them back as stored."""
    entry = init_integration
    given: dict[str, Any] = {
        cls_: {"price_per_minute": 0, "billing": "per_minute", "minimum_seconds": 0, "setup_price": 0}
        for cls_ in ("internal", "national_fixed", "national_mobile", "international", "special")
    }
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "tariffs"})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**given, "internal_extensions": "199-100", "bill_incoming": False, "retention_days": 30}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"internal_extensions": "invalid_extensions"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**given, "internal_extensions": "100 - 199;2000-2999", "bill_incoming": False, "retention_days": 30},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["internal_extensions"] == "100-199, 2000-2999"
    assert entry.runtime_data.stays.plan.extensions == ((100, 199), (2000, 2999))


async def test_stays_when_the_ledger_or_the_line_fails(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: User,
) -> None:
    """A ledger that refuses a pending reset, a login or a late call only logs; a line gone drops its retry and issue."""
    await _setup(hass, config_entry)
    runtime = config_entry.runtime_data
    stays = runtime.stays
    ledger = runtime.calls.ledger
    room = line_device(hass, ROOM_101)
    await call(hass, "check_in", {"guest": "A"}, device_id=room)
    # Tariffs changed during a stay: taken at once, the running total follows (no reload).
    hass.config_entries.async_update_entry(config_entry, options={**config_entry.options, **TARIFFS})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.runtime_data is runtime
    assert stays.tariffs.plan.extensions == ()
    assert str(stays.tariffs.classes[next(iter(stays.tariffs.classes))].price_per_minute) == "0.05"

    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    simulator.add_fault("status", status=503, method="PUT", count=None)
    with patch.object(ledger, "set_pending_reset", side_effect=LedgerError("disk full")):
        [bill] = (await call(hass, "check_out", device_id=room))["lines"]
    assert bill["reset"]["pending"] is True
    assert stays.reset_pending(ROOM_101) is not None  # kept in memory all the same
    # The same login twice is learned once; one the ledger refuses is still used.
    with patch.object(ledger, "set_line_login", side_effect=LedgerError("disk full")) as refused:
        stays.async_learn_login(176133, "+41225662196@m.ipvoip.ch")
        stays.async_learn_login(176133, "+41225662196@m.ipvoip.ch")
        await hass.async_block_till_done(wait_background_tasks=True)
    assert refused.call_count == 1
    assert "+41225662196" in stays.plan.own_numbers
    # A late call the ledger cannot match is no late charge (logged).
    late = async_capture_events(hass, EVENT_LATE_CHARGE)
    with patch.object(ledger, "closed_stay_at", side_effect=LedgerError("disk full")):
        simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=5)
        await settle(hass, simulator)
    assert late == []

    # The line removed while its reset is pending: retry and repair issue go with it.
    with patch.object(ledger, "clear_pending_reset", side_effect=LedgerError("disk full")):
        await stays.async_line_removed(ROOM_101)
    assert stays.reset_pending(ROOM_101) is None
    await travel(hass, freezer, RESET_REPAIR_AFTER + timedelta(minutes=1))
    assert ir.async_get(hass).async_get_issue(DOMAIN, reset_issue_id(config_entry.entry_id, ROOM_101)) is None
    # Nothing pending: a retry or an issue that falls due does nothing.
    await stays._async_retry(ROOM_101)
    stays._issue_due(ROOM_101, dt_util.utcnow())

    # A pending reset of a line that no longer exists is dropped at its next try.
    stays.pending[999] = PendingReset(999, None, dt_util.utcnow(), "gone")
    await stays._async_retry(999)
    assert stays.reset_pending(999) is None
    # A repair issue names a line it no longer knows by its userId.
    stays.pending[998] = PendingReset(998, None, dt_util.utcnow(), None)
    stays._issue_due(998, dt_util.utcnow())
    issue = ir.async_get(hass).async_get_issue(DOMAIN, reset_issue_id(config_entry.entry_id, 998))
    assert issue is not None
    assert issue.translation_placeholders == {"line": "998", "since": ANY, "error": "-"}

    # A stay closed by a removed line that the ledger cannot close is logged, not raised.
    await call(hass, "check_in", {}, device_id=line_device(hass, ROOM_102))
    with patch.object(ledger, "check_out", side_effect=LedgerError("disk full")):
        await stays.async_line_removed(ROOM_102)
    assert stays.stay_of(ROOM_102) is None
    simulator.clear_faults()


async def test_a_check_out_through_the_rest_api(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """An administrator's REST call gets the CSV signed for them; a board user who is no administrator would not."""
    assert await async_setup_component(hass, "api", {})
    room = line_device(hass, ROOM_101)
    await call(hass, "check_in", {}, device_id=room)
    client = await hass_client()
    response = await client.post("/api/services/vtx_voip/check_out?return_response", json={"device_id": room})
    assert response.status == 200, await response.text()
    [bill] = (await response.json())["service_response"]["lines"]
    assert bill["csv_signed_path"].startswith(bill["csv_path"] + "?authSig=")


async def test_a_board_user_who_is_no_administrator_gets_no_signed_link(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """check_in over the websocket works for anyone (and signs nothing)."""
    room = line_device(hass, ROOM_101)
    client = await hass_ws_client(hass, hass_read_only_access_token)
    answer = await _ws_call_service(client, "check_in", room)
    assert answer["success"], answer
    answer = await _ws_call_service(client, "check_out", room)
    assert not answer["success"]
    assert answer["error"]["message"] == "Unauthorized"

    # Signing for a connection of a user who is no administrator gives nothing.
    class _Connection:
        refresh_token_id = "x"

        class user:
            is_admin = False

    token = current_connection.set(cast("Any", _Connection()))
    try:
        assert _signed(hass, "/api/vtx_voip/bill/x/stay/1.csv") is None
    finally:
        current_connection.reset(token)


async def test_a_record_that_comes_while_the_bill_is_made_is_a_late_charge(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A call recorded after the bill was read and before the stay closed is not lost: it is a late charge, once."""
    simulator.set_profile("wiki")
    await _setup(hass, config_entry)
    stays = config_entry.runtime_data.stays
    room = line_device(hass, ROOM_101)
    await call(hass, "check_in", {"guest": "C"}, device_id=room)
    await travel(hass, freezer, timedelta(minutes=5))
    billed = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=20)
    await settle(hass, simulator)
    bill_of = stays.async_stay_bill
    record: dict[str, Any] = {}

    async def bill_then_record(*args: Any, **kwargs: Any) -> Any:
        made = await bill_of(*args, **kwargs)
        # A call that ended just now: its push lands after the bill was read.
        record.update(simulator.make_call(ROOM_101, direction="outgoing", number="+41225117903", duration=30))
        await settle(hass, simulator)
        return made

    late = async_capture_events(hass, EVENT_LATE_CHARGE)
    with patch.object(stays, "async_stay_bill", bill_then_record):
        [bill] = (await call(hass, "check_out", device_id=room))["lines"]
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [row["id"] for row in bill["calls"]] == [billed["id"]]
    assert [event.data["call"]["id"] for event in late] == [record["id"]]
    stay = await hass.async_add_executor_job(config_entry.runtime_data.calls.ledger.stay, bill["stay_id"])
    assert stay is not None
    rows = (await stays.async_stay_bill(stay)).rows
    assert {row.call.call_id: row.late for row in rows} == {billed["id"]: False, record["id"]: True}


async def test_stay_helpers_at_their_edges(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Differences skip features the baseline never had; a ledger that fails a late charge only logs; stopped, nothing is scheduled."""
    await _setup(hass, config_entry)
    runtime = config_entry.runtime_data
    stays = runtime.stays
    features = await runtime.manager.async_read_features(runtime.lines[ROOM_101])
    baseline = {name: feature.to_json() for name, feature in features.items() if name != CFU}
    assert feature_differences(features, baseline) == []
    room = line_device(hass, ROOM_101)
    [stay] = (await call(hass, "check_in", {}, device_id=room))["lines"]
    held = stays.stay_of(ROOM_101)
    assert held is not None
    with patch.object(runtime.calls.ledger, "calls", side_effect=LedgerError("disk full")):
        assert await stays._async_stay_calls(held.stay) == []
    record = LedgerCall(
        "late-1", ROOM_101, held.stay.start, 5, "OUTGOING", "VOICE", 804, "+41225117902", None, 0, "push"
    )
    late = async_capture_events(hass, EVENT_LATE_CHARGE)
    with patch.object(runtime.calls.ledger, "add_late_charge", side_effect=LedgerError("disk full")):
        await stays._async_add_late_charge(held.stay, record)
    await hass.async_block_till_done()
    assert late == []
    # Two failed resets of one line: one retry timer, the first "since" kept.
    await stays._async_set_pending(ROOM_101, stay["stay_id"], "first")
    since = stays.pending[ROOM_101].since
    await stays._async_set_pending(ROOM_101, stay["stay_id"], "second")
    assert stays.pending[ROOM_101].since == since
    assert stays.pending[ROOM_101].error == "second"
    assert [key for key in stays._timers if key[0] == "retry"] == [("retry", ROOM_101)]
    stays.async_stop()
    stays._schedule_retry(ROOM_101, timedelta(0))
    stays._schedule_issue(stays.pending[ROOM_101])
    assert stays._timers == {}


async def test_two_check_outs_at_once_bill_once(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A double click: one check-out bills and fires, the other is told there is no stay."""
    room = line_device(hass, ROOM_101)
    await call(hass, "check_in", {}, device_id=room)
    fired = async_capture_events(hass, "vtx_voip_check_out")
    results = await asyncio.gather(
        call(hass, "check_out", device_id=room), call(hass, "check_out", device_id=room), return_exceptions=True
    )
    await hass.async_block_till_done()
    assert len(fired) == 1
    [error] = [item for item in results if isinstance(item, Exception)]
    assert isinstance(error, ServiceValidationError)
    assert error.translation_key == "no_stay"


async def test_a_configured_lines_login_from_a_push_makes_its_calls_internal(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Room 102 was added by its userId (no number): the login name its pushes carry makes its number internal."""
    stays = init_integration.runtime_data.stays
    assert ROOM_102_NUMBER not in stays.plan.own_numbers
    simulator.set_dnd(ROOM_102, True)
    await settle(hass, simulator)
    assert ROOM_102_NUMBER in stays.plan.own_numbers
    room = line_device(hass, ROOM_101)
    [stay] = (await call(hass, "check_in", {}, device_id=room))["lines"]
    await travel(hass, freezer, timedelta(minutes=5))
    made = simulator.make_call(ROOM_101, direction="outgoing", number=ROOM_102_NUMBER, duration=30)
    await settle(hass, simulator)
    history = await call(hass, "get_call_history", {"start": stay["start"]}, device_id=room)
    [row] = [row for row in history["lines"][0]["calls"] if row["id"] == made["id"]]
    assert row["destination_class"] == "internal"


async def test_a_late_call_found_only_in_the_history_is_a_late_charge(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """Its push lost, a call of a closed stay is found by the stay's bill reading the history: late, told once."""
    await _setup(hass, config_entry)
    room = line_device(hass, ROOM_101)
    await call(hass, "check_in", {"guest": "D"}, device_id=room)
    await travel(hass, freezer, timedelta(minutes=5))
    simulator.start_call(ROOM_101, direction="outgoing", number="+41225117902")
    await settle(hass, simulator)
    await travel(hass, freezer, timedelta(seconds=40))
    [bill] = (await call(hass, "check_out", device_id=room))["lines"]
    assert bill["on_call"] is True
    simulator.drop_pushes(None)
    await travel(hass, freezer, timedelta(seconds=20))
    record = simulator.end_call(ROOM_101)
    await settle(hass, simulator)
    late = async_capture_events(hass, EVENT_LATE_CHARGE)
    client = await hass_client()
    for _ in range(2):
        text = await (await client.get(bill["csv_path"])).text()
        _header, row, _total = text.splitlines()
        assert row.split(",")[-1] == "yes"
    await hass.async_block_till_done()
    assert [event.data["call"]["id"] for event in late] == [record["id"]]
    assert late[0].data["guest"] == "D"
