"""The front desk board: its websocket subscription, its frontend module, in every language.

The board needs no entity ids: the subscription lists every line with its entities and
follows lines added in the UI (the sub-entry flow), renamed, moved and removed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, UrlManager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import area_registry as ar, device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.vtx_voip.billing.stays import EVENT_CHECK_OUT
from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.frontend import MODULE, MODULE_URL
from custom_components.vtx_voip.frontend.websocket import check_out_action
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102
from .test_stays import TARIFFS

ROOM_103 = 176133


class Board:
    """One subscription of the board."""

    def __init__(self, client: Any) -> None:
        """Wrap a websocket client."""
        self.client = client
        self.subscription = 0

    @classmethod
    async def open(cls, ws_client: WebSocketGenerator, **options: Any) -> tuple[Board, dict[str, Any]]:
        """Subscribe; return the subscription and the first board."""
        board = cls(await ws_client())
        message = {"type": "vtx_voip/front_desk/subscribe", **options}
        await board.client.send_json_auto_id(message)
        board.subscription = message["id"]
        result = await board.client.receive_json()
        assert result["success"], result
        return board, await board.next()

    async def next(self) -> dict[str, Any]:
        """The next board sent."""
        message = await self.client.receive_json()
        assert message["type"] == "event", message
        event: dict[str, Any] = message["event"]
        return event


def _names(board: dict[str, Any]) -> list[str]:
    return [line["name"] for line in board["lines"]]


async def _until(board: Board, predicate: Any, hass: HomeAssistant) -> dict[str, Any]:
    """Read boards until one satisfies ``predicate`` (at most five)."""
    for _ in range(5):
        await hass.async_block_till_done(wait_background_tasks=True)
        current = await board.next()
        if predicate(current):
            return current
    raise AssertionError("the board never showed the change")


async def test_board_lists_every_line_with_its_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Every line, sorted by name, with entity ids, the check-out action and English labels."""
    _, board = await Board.open(hass_ws_client)
    assert _names(board) == ["Room 101", "Room 102"]
    room_101 = board["lines"][0]
    assert room_101["user_id"] == ROOM_101
    assert room_101["entry_id"] == init_integration.entry_id
    assert room_101["entities"] == {
        "status": "sensor.room_101_line_status",
        "presence": "sensor.room_101_presence",
        "dnd": "switch.room_101_do_not_disturb",
        "forward": "switch.room_101_forward_all_calls",
        "forward_destination": "text.room_101_forward_all_calls_to",
        "last_call": "sensor.room_101_last_call",
        "call": "event.room_101_call",
    }
    for entity_id in room_101["entities"].values():
        assert hass.states.get(entity_id) is not None, entity_id
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, str(ROOM_101)), init_integration.entry_id)
    assert device is not None
    assert room_101["device_id"] == device.id
    assert room_101["missed"] == 0
    assert room_101["last_missed"] is None
    assert room_101["missed_since_check_in"] is False
    # No stay open: check-out resets the line.
    assert room_101["check_out"] == {"action": "reset_line", "response": True}
    labels = board["labels"]
    assert labels["dnd"] == "Do not disturb"
    assert labels["forward"] == "Forward all calls"
    assert labels["last_call"] == "Last call"
    assert labels["check_out"] == "Check out"
    assert labels["status_states"]["forwarded"] == "Forwarded"
    assert labels["presence_states"]["on_call"] == "On a call"


async def test_board_in_german(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """The labels come from the integration's translations in the asked language."""
    _, board = await Board.open(hass_ws_client, language="de")
    labels = board["labels"]
    assert labels["dnd"] == "Nicht stören"
    assert labels["forward"] == "Alle Anrufe umleiten"
    assert labels["status_states"]["available"] == "Verfügbar"
    assert labels["missed_today"] == "Heute verpasst"
    assert labels["check_out"] == "Check-out"
    assert labels["cancel"] == "Abbrechen"
    # A language the integration does not ship falls back to English.
    _, board = await Board.open(hass_ws_client, language="nl")
    assert board["labels"]["dnd"] == "Do not disturb"


async def test_line_added_in_the_ui_appears_renamed_and_removed_lines_follow(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Add line (the sub-entry flow), a rename and a removal reach an open board by themselves."""
    entry = init_integration
    board, first = await Board.open(hass_ws_client)
    assert _names(first) == ["Room 101", "Room 102"]

    result = await hass.config_entries.subentries.async_init((entry.entry_id, "line"), context={"source": "user"})
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": str(ROOM_103), "name": "Room 103"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    added = await _until(board, lambda b: "Room 103" in _names(b) and "dnd" in b["lines"][-1]["entities"], hass)
    assert _names(added) == ["Room 101", "Room 102", "Room 103"]
    assert added["lines"][2]["entities"]["dnd"] == "switch.room_103_do_not_disturb"

    # A name that sorts first: the board is sorted by name.
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier((DOMAIN, str(ROOM_102)), entry.entry_id)
    assert device is not None
    registry.async_update_device(device.id, name_by_user="Lobby")
    renamed = await _until(board, lambda b: "Lobby" in _names(b), hass)
    assert _names(renamed) == ["Lobby", "Room 101", "Room 103"]

    subentry_id = next(sub.subentry_id for sub in entry.subentries.values() if sub.data["user_id"] == ROOM_101)
    assert hass.config_entries.async_remove_subentry(entry, subentry_id)
    removed = await _until(board, lambda b: "Room 101" not in _names(b), hass)
    assert _names(removed) == ["Lobby", "Room 103"]


async def test_missed_calls_today(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A missed call is counted on its line (today) and sent at once; other calls are not counted."""
    board, _ = await Board.open(hass_ws_client)
    simulator.make_call(ROOM_102, direction="incoming", number="+41791112233", missed=True)
    simulator.make_call(ROOM_102, direction="incoming", number="+41791112244", duration=20)
    current = await _until(board, lambda b: b["lines"][1]["missed"] == 1, hass)
    room_101, room_102 = current["lines"]
    assert room_101["missed"] == 0
    assert room_102["missed"] == 1
    assert room_102["last_missed"] is not None
    simulator.make_call(ROOM_102, direction="incoming", number="+41791112255", missed=True)
    current = await _until(board, lambda b: b["lines"][1]["missed"] == 2, hass)
    assert current["lines"][1]["missed"] == 2


async def test_filters_by_entry_and_area(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """``entry_id`` and ``area_id`` narrow the board; an area change is followed."""
    _, board = await Board.open(hass_ws_client, entry_id=init_integration.entry_id)
    assert _names(board) == ["Room 101", "Room 102"]
    _, board = await Board.open(hass_ws_client, entry_id="no-such-entry")
    assert board["lines"] == []

    area = ar.async_get(hass).async_create("First floor")
    subscription, board = await Board.open(hass_ws_client, area_id=area.id)
    assert board["lines"] == []
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier((DOMAIN, str(ROOM_101)), init_integration.entry_id)
    assert device is not None
    registry.async_update_device(device.id, area_id=area.id)
    moved = await _until(subscription, lambda b: _names(b) == ["Room 101"], hass)
    assert moved["lines"][0]["area_id"] == area.id
    # The status entity's own area counts for its line.
    er.async_get(hass).async_update_entity("sensor.room_102_line_status", area_id=area.id)
    both = await _until(subscription, lambda b: len(b["lines"]) == 2, hass)
    assert _names(both) == ["Room 101", "Room 102"]


async def test_disabled_entity_is_left_out_and_unsubscribe(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """A disabled entity is not on its line's card; unsubscribing with a change pending sends nothing more."""
    board, _ = await Board.open(hass_ws_client)
    er.async_get(hass).async_update_entity("switch.room_101_do_not_disturb", disabled_by=er.RegistryEntryDisabler.USER)
    current = await _until(board, lambda b: "dnd" not in b["lines"][0]["entities"], hass)
    assert "forward" in current["lines"][0]["entities"]
    assert "dnd" in current["lines"][1]["entities"]
    subscription = board.subscription
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier((DOMAIN, str(ROOM_101)), init_integration.entry_id)
    assert device is not None
    registry.async_update_device(device.id, name_by_user="Suite")
    await board.client.send_json_auto_id({"type": "unsubscribe_events", "subscription": subscription})
    result = await board.client.receive_json()
    assert result["success"], result
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=5))
    await hass.async_block_till_done()
    await board.client.send_json_auto_id({"type": "ping"})
    assert (await board.client.receive_json())["type"] == "pong"


async def test_unloaded_entry_leaves_the_board(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Lines of an entry that is not loaded are not shown; they come back with it."""
    board, _ = await Board.open(hass_ws_client)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    empty = await _until(board, lambda b: b["lines"] == [], hass)
    assert empty["lines"] == []
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    back = await _until(board, lambda b: len(b["lines"]) == 2, hass)
    assert _names(back) == ["Room 101", "Room 102"]


async def test_check_in_counts_missed_calls_and_checks_out_the_stay(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """With a stay open, missed calls count from check-in and check-out is the stay's action."""
    entry = init_integration
    board, first = await Board.open(hass_ws_client)
    assert first["lines"][1]["check_out"]["action"] == "reset_line"
    simulator.make_call(ROOM_102, direction="incoming", number="+41791112233", missed=True)
    await _until(board, lambda b: b["lines"][1]["missed"] == 1, hass)
    # Stays start on the second: the missed call is in an earlier one.
    await asyncio.sleep(1.1)

    await hass.services.async_call(
        DOMAIN, "check_in", {"entity_id": "switch.room_102_do_not_disturb"}, blocking=True, return_response=True
    )
    checked_in = await _until(board, lambda b: b["lines"][1]["missed_since_check_in"], hass)
    room_101, room_102 = checked_in["lines"]
    assert room_102["check_out"] == {"action": "check_out", "response": True}
    assert room_102["missed"] == 0  # the missed call came before check-in
    stay = entry.runtime_data.stays.stay_of(ROOM_102)
    assert stay is not None
    assert dt_util.parse_datetime(room_102["missed_since"]) == dt_util.utc_from_timestamp(stay.stay.start)
    assert room_101["check_out"]["action"] == "reset_line"
    assert room_101["missed_since_check_in"] is False

    await hass.services.async_call(
        DOMAIN, "check_out", {"entity_id": "switch.room_102_do_not_disturb"}, blocking=True, return_response=True
    )
    checked_out = await _until(board, lambda b: not b["lines"][1]["missed_since_check_in"], hass)
    assert checked_out["lines"][1]["check_out"]["action"] == "reset_line"
    assert checked_out["lines"][1]["missed"] == 1  # today's again


async def test_check_out_action_is_chosen_in_one_place(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """check_out only for a line with an open stay and while the action exists; else reset_line."""
    entry = init_integration
    assert check_out_action(hass, entry, ROOM_101) == "reset_line"
    await hass.services.async_call(
        DOMAIN, "check_in", {"entity_id": "switch.room_101_do_not_disturb"}, blocking=True, return_response=True
    )
    assert check_out_action(hass, entry, ROOM_101) == "check_out"
    assert check_out_action(hass, entry, ROOM_102) == "reset_line"


async def test_board_module_is_served_and_loaded_on_every_page(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """The JavaScript module is served by Home Assistant and added to the frontend's pages."""
    # The frontend itself is not installed in the test environment: its module list is.
    hass.data[DATA_EXTRA_MODULE_URL] = UrlManager(lambda *_: None, [])
    hass.config.components.add("frontend")
    assert await async_setup_component(hass, DOMAIN, {})
    urls = hass.data[DATA_EXTRA_MODULE_URL].urls
    assert len(urls) == 1
    url = next(iter(urls))
    assert url.startswith(f"{MODULE_URL}?v=")
    client = await hass_client()
    response = await client.get(url)
    assert response.status == 200
    body = await response.text()
    assert body == MODULE.read_text(encoding="utf-8")
    # Both elements, defined again in the registry the frontend ends up using; the strategy
    # announced as the frontend lists custom dashboards.
    assert 'const STRATEGY = "vtx-voip-front-desk";' in body
    assert "[`ll-strategy-dashboard-${STRATEGY}`, VtxVoipFrontDeskStrategy]" in body
    assert 'window.customElements.whenDefined("home-assistant").then(register)' in body
    assert "window.customStrategies.push({" in body
    assert "vtx_voip/front_desk/subscribe" in body
    # No network at runtime: the module loads nothing from elsewhere.
    assert "http://" not in body
    assert "https://" not in body
    assert "import " not in body


async def test_board_module_without_frontend(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> None:
    """Without the frontend the module is still served (nothing else to do)."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert DATA_EXTRA_MODULE_URL not in hass.data
    client = await hass_client()
    response = await client.get(MODULE_URL)
    assert response.status == 200


async def _ws(client: Any, **message: Any) -> dict[str, Any]:
    await client.send_json_auto_id(message)
    answer: dict[str, Any] = await client.receive_json()
    return answer


async def test_stay_on_the_board_check_in_bill_check_out(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Check-in with a guest, the stay's calls and cost on the board, the bill before and after check-out."""
    entry = config_entry
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={**entry.options, **TARIFFS})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    board, first = await Board.open(hass_ws_client)
    assert first["admin"] is True
    assert first["currency"] == hass.config.currency
    assert first["lines"][1]["stay"] is None
    events = async_capture_events(hass, EVENT_CHECK_OUT)
    client = await hass_ws_client()

    answer = await _ws(
        client, type="vtx_voip/front_desk/check_in", entry_id=entry.entry_id, user_id=ROOM_102, guest="  Anna Muster "
    )
    assert answer["success"], answer
    stay_id = answer["result"]["stay_id"]
    assert answer["result"]["guest"] == "Anna Muster"
    shown = await _until(board, lambda b: b["lines"][1]["stay"] is not None, hass)
    assert shown["lines"][1]["stay"] == {
        "stay_id": stay_id,
        "guest": "Anna Muster",
        "start": answer["result"]["start"],
        "calls": 0,
        "cost": 0.0,
    }
    assert shown["lines"][0]["stay"] is None

    # A call during the stay: the board's running cost follows; the bill so far lists it.
    simulator.start_call(ROOM_102, direction="outgoing", number="+41225117902")
    await hass.async_block_till_done(wait_background_tasks=True)
    during = await _ws(client, type="vtx_voip/front_desk/bill", entry_id=entry.entry_id, user_id=ROOM_102)
    assert during["success"], during
    assert during["result"]["on_call"] is True
    simulator.advance_clock(65)  # a call of 1:05, started after check-in
    simulator.end_call(ROOM_102)
    costed = await _until(board, lambda b: b["lines"][1]["stay"]["calls"] == 1, hass)
    running = costed["lines"][1]["stay"]["cost"]
    assert running == 0.26  # national fixed: 2 started minutes at 0.08 and 0.10 to set up
    before = await _ws(client, type="vtx_voip/front_desk/bill", entry_id=entry.entry_id, user_id=ROOM_102)
    bill = before["result"]
    assert bill["on_call"] is False
    assert bill["guest"] == "Anna Muster"
    assert [row["number_display"] for row in bill["calls"]] == ["+41 22 511 79 02"]
    assert bill["totals"]["cost"] == running
    assert bill["csv_path"] == f"/api/vtx_voip/bill/{entry.entry_id}/stay/{stay_id}.csv"
    assert entry.runtime_data.stays.stay_of(ROOM_102) is not None  # the bill so far closes nothing

    after = await _ws(client, type="vtx_voip/front_desk/check_out", entry_id=entry.entry_id, user_id=ROOM_102)
    assert after["success"], after
    final = after["result"]
    assert final["guest"] == "Anna Muster"
    assert final["totals"]["cost"] == running
    assert [row["number_display"] for row in final["calls"]] == ["+41 22 511 79 02"]
    assert final["csv_path"] == bill["csv_path"]
    # The check-out blueprint hears of a board check-out too (once).
    await hass.async_block_till_done()
    assert len(events) == 1
    assert events[0].data["stay_id"] == stay_id
    assert events[0].data["device_id"] == first["lines"][1]["device_id"]
    closed = await _until(board, lambda b: b["lines"][1]["stay"] is None, hass)
    assert closed["lines"][1]["check_out"]["action"] == "reset_line"

    # No stay: the bill says so, a check-out is refused with the translated error.
    empty = await _ws(client, type="vtx_voip/front_desk/bill", entry_id=entry.entry_id, user_id=ROOM_102)
    assert empty["result"] == {"line": "Room 102", "user_id": ROOM_102, "stay": None}
    refused = await _ws(client, type="vtx_voip/front_desk/check_out", entry_id=entry.entry_id, user_id=ROOM_102)
    assert refused["success"] is False
    assert refused["error"]["translation_key"] == "no_stay"
    unknown = await _ws(client, type="vtx_voip/front_desk/bill", entry_id=entry.entry_id, user_id=999)
    assert unknown["error"]["code"] == "not_found"


async def test_board_for_a_user_who_is_not_an_administrator(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """Check-in is open to every user; bills and check-out are not, and the board knows it."""
    entry = init_integration
    client = await hass_ws_client(hass, hass_read_only_access_token)
    board = Board(client)
    await client.send_json_auto_id({"type": "vtx_voip/front_desk/subscribe"})
    assert (await client.receive_json())["success"]
    shown = await board.next()
    assert shown["admin"] is False
    assert shown["labels"]["admin_only"].startswith("Check-out and bills: administrators only")
    checked_in = await _ws(client, type="vtx_voip/front_desk/check_in", entry_id=entry.entry_id, user_id=ROOM_101)
    # The board's next message may come first: read until the answer.
    while checked_in.get("type") == "event":
        checked_in = await client.receive_json()
    assert checked_in["success"], checked_in
    assert entry.runtime_data.stays.stay_of(ROOM_101) is not None
    for command in ("vtx_voip/front_desk/bill", "vtx_voip/front_desk/check_out"):
        answer = await _ws(client, type=command, entry_id=entry.entry_id, user_id=ROOM_101)
        while answer.get("type") == "event":
            answer = await client.receive_json()
        assert answer["success"] is False
        assert answer["error"]["code"] == "unauthorized"
    assert entry.runtime_data.stays.stay_of(ROOM_101) is not None


async def test_board_labels_of_a_stay_in_german(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """The stay's labels are translated."""
    _, board = await Board.open(hass_ws_client, language="de")
    labels = board["labels"]
    assert labels["check_in"] == "Check-in"
    assert labels["guest"] == "Gast"
    assert labels["stay_cost"] == "Kosten bisher"
    assert labels["download_csv"] == "CSV herunterladen"


async def test_board_shows_a_reset_left_pending(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A check-out whose reset the API refused: the board says the line may hold the guest's settings, and check-in names them."""
    entry = init_integration
    board, _ = await Board.open(hass_ws_client)
    client = await hass_ws_client()
    line = {"entry_id": entry.entry_id, "user_id": ROOM_101}
    assert (await _ws(client, type="vtx_voip/front_desk/check_in", guest="A", **line))["success"]
    simulator.set_dnd(ROOM_101, True)
    await _until(board, lambda b: b["lines"][0]["stay"] is not None, hass)

    simulator.add_fault("status", status=503, method="PUT", count=None)
    checked_out = await _ws(client, type="vtx_voip/front_desk/check_out", **line)
    assert checked_out["result"]["reset"]["pending"] is True
    pending = await _until(board, lambda b: b["lines"][0]["reset_pending"] is not None, hass)
    assert pending["lines"][0]["reset_pending"]["stay_id"] == checked_out["result"]["stay_id"]
    assert pending["lines"][1]["reset_pending"] is None
    # The next guest's check-in keeps the last good baseline and names what is still on.
    checked_in = await _ws(client, type="vtx_voip/front_desk/check_in", guest="B", **line)
    assert checked_in["result"]["baseline_kept"] is True
    assert "CENTRAL_DND" in [item["feature"] for item in checked_in["result"]["differences"]]
    simulator.clear_faults()
