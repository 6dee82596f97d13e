"""Lines by phone number or login name (platform 7.8+), and lines discovered from enterprise-wide push.

Home Assistant runs the integration against the simulator over loopback; pushes take the
real path (simulator -> HTTP POST -> webhook -> the integration).
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_INTEGRATION_DISCOVERY, SOURCE_USER, ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.const import DOMAIN
from vtx_simulator import Simulator
from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME

from .conftest import PUSH_BASE_URL, ROOM_101, ROOM_102

ROOM_103 = 176133
FRONT_DESK = 176137
ENTERPRISE = "291908.bus.ent"
SETUP = "custom_components.vtx_voip.async_setup_entry"
V78 = "7.8.0.3"


def account(simulator: Simulator) -> dict[str, str]:
    return {
        "url": simulator.base_url,
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "application_id": DEMO_APPLICATION_ID,
    }


async def lines_step(hass: HomeAssistant, simulator: Simulator) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], account(simulator))
    assert result["step_id"] == "lines"
    return str(result["flow_id"])


def lines_of(entry: Any) -> dict[int, tuple[str, dict[str, Any]]]:
    return {int(sub.data["user_id"]): (sub.title, dict(sub.data)) for sub in entry.subentries.values()}


# --- the lines step ----------------------------------------------------------------------
def line(user_id: int, name: str, number: str) -> dict[str, object]:
    """A line sub-entry's data."""
    return {"user_id": user_id, "name": name, "number": number}


async def test_number_resolved_on_78(hass: HomeAssistant, simulator: Simulator) -> None:
    """On 7.8, "+41225662194 = Room 101" is line 176125 named Room 101; numbers and logins mix with userIds."""
    simulator.version = V78
    flow_id = await lines_step(hass, simulator)
    with patch(SETUP, return_value=True):
        result = await hass.config_entries.flow.async_configure(
            flow_id,
            {"user_ids": f"+41225662194 = Room 101\n0225662195\n+41225662196@m.ipvoip.ch = Room 103\n{FRONT_DESK}"},
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert lines_of(entry) == {
        # Each keeps the login name it was found by (the per-line FEATURE subscription's scope).
        ROOM_101: (
            "Room 101",
            {**line(ROOM_101, "Room 101", "+41225662194"), "login_name": "+41225662194@m.ipvoip.ch"},
        ),
        ROOM_102: (
            "+41 22 566 21 95",
            {**line(ROOM_102, "+41 22 566 21 95", "+41225662195"), "login_name": "+41225662195@m.ipvoip.ch"},
        ),
        ROOM_103: (
            "Room 103",
            {**line(ROOM_103, "Room 103", "+41225662196"), "login_name": "+41225662196@m.ipvoip.ch"},
        ),
        FRONT_DESK: (f"Line {FRONT_DESK}", {"user_id": FRONT_DESK, "name": f"Line {FRONT_DESK}"}),
    }
    assert {sub.unique_id for sub in entry.subentries.values()} == {
        str(i) for i in (ROOM_101, ROOM_102, ROOM_103, FRONT_DESK)
    }
    # Learned from the login name that resolved.
    assert entry.data["sip_domain"] == "m.ipvoip.ch"
    counts = simulator.request_counts()
    assert counts["GET /openapi/v1/users/{user_id}/feat"] == 4


async def test_number_on_77_needs_user_id(hass: HomeAssistant, simulator: Simulator) -> None:
    """On 7.7 (the wiki's server), the form names the entries that need a userId, before any lookup."""
    assert simulator.version == "7.7.2.12"
    flow_id = await lines_step(hass, simulator)
    before = simulator.total_requests()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"user_ids": f"+41225662194 = Room 101\n{ROOM_102}\n+41 22 566 21 96"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"user_ids": "user_id_needed"}
    placeholders = result["description_placeholders"]
    assert placeholders["lines"] == "+41225662194, +41 22 566 21 96"
    assert placeholders["version"] == "7.7.2.12"
    assert placeholders["user_id_help_url"].startswith("https://")
    assert simulator.total_requests() == before
    with patch(SETUP, return_value=True):
        result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_101} = Room 101"})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_78_that_refuses_login_paths(hass: HomeAssistant, simulator: Simulator) -> None:
    """A 7.8 server answering 404 on a login path: the translated error naming the entry, no crash."""
    simulator.version = V78
    flow_id = await lines_step(hass, simulator)
    simulator.add_fault("status", status=404, count=None, path="@m.ipvoip.ch")  # every login path
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": "+41225662194 = Room 101"})
    assert result["errors"] == {"user_ids": "numbers_not_found"}
    assert result["description_placeholders"]["lines"] == "+41225662194"
    assert result["description_placeholders"]["logins"] == "`+41225662194@m.ipvoip.ch`"
    simulator.clear_faults()
    # An unknown number is named the same way; a server error is a connection error.
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": "+41225669999"})
    assert result["errors"] == {"user_ids": "numbers_not_found"}
    simulator.fail_next(503)
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": "+41225662194"})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_resolved_line_of_another_entry(hass: HomeAssistant, simulator: Simulator) -> None:
    """A number that resolves to a line another entry has is named."""
    simulator.version = V78
    MockConfigEntry(
        domain=DOMAIN,
        unique_id="openapi@other.bus.ent",
        subentries_data=[
            {"data": {"user_id": ROOM_101, "name": "R"}, "subentry_type": "line", "title": "R", "unique_id": "176125"}
        ],
    ).add_to_hass(hass)
    flow_id = await lines_step(hass, simulator)
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": "0225662194 = Room 101"})
    assert result["errors"] == {"user_ids": "user_ids_configured"}
    assert result["description_placeholders"]["lines"] == "0225662194"


# --- Add line ------------------------------------------------------------------------
async def _add_line(hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init((entry.entry_id, "line"), context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    # Nothing pre-filled: the line field has no default.
    markers = {str(marker): marker for marker in result["data_schema"].schema}
    assert markers["user_id"].default is vol.UNDEFINED
    return dict(await hass.config_entries.subentries.async_configure(result["flow_id"], data))


async def test_add_line_by_number(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """Add line takes a number on 7.8 (named after it without a name); on 7.7 it asks for the userId."""
    entry = init_integration
    result = await _add_line(hass, entry, {"user_id": "+41 22 566 21 96"})
    assert result["errors"] == {"base": "user_id_needed"}
    assert result["description_placeholders"]["lines"] == "+41 22 566 21 96"
    result = await _add_line(hass, entry, {"user_id": "no such line"})
    assert result["errors"] == {"base": "invalid_line"}

    simulator.version = V78
    entry.runtime_data.server = await entry.runtime_data.client.get_server_info()
    result = await _add_line(hass, entry, {"user_id": "+41225669999"})
    assert result["errors"] == {"base": "numbers_not_found"}
    result = await _add_line(hass, entry, {"user_id": "0225662194"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    result = await _add_line(hass, entry, {"user_id": "+41 22 566 21 96"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert lines_of(entry)[ROOM_103] == (
        "+41 22 566 21 96",
        {**line(ROOM_103, "+41 22 566 21 96", "+41225662196"), "login_name": "+41225662196@m.ipvoip.ch"},
    )
    assert entry.state is ConfigEntryState.LOADED
    assert ROOM_103 in entry.runtime_data.lines


# --- discovery -----------------------------------------------------------------------
def discoveries(hass: HomeAssistant) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def settle(hass: HomeAssistant, simulator: Simulator) -> None:
    await simulator.wait_for_pushes()
    await hass.async_block_till_done(wait_background_tasks=True)


def line_entity(hass: HomeAssistant, user_id: int, key: str = "do_not_disturb") -> str | None:
    return er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{user_id}_{key}")


async def test_discovery_by_push(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """A change on an unconfigured line: one discovery flow; confirming adds it, nothing else moves."""
    entry = init_integration
    runtime = entry.runtime_data
    push = runtime.push
    [feature] = [sub for sub in simulator.subscriptions() if sub["resourceType"] == "FEATURE"]
    assert feature["enterpriseNames"] == [ENTERPRISE]
    dnd_101 = line_entity(hass, ROOM_101)
    assert dnd_101 is not None
    events: list[Event[Any]] = []
    hass.bus.async_listen(EVENT_STATE_CHANGED, events.append)
    received, last_push = push.pushes_received, push.last_push

    simulator.set_dnd(ROOM_103, True)
    await settle(hass, simulator)
    simulator.set_forward(ROOM_103, "unconditional", True, "+41791234567")
    simulator.set_dnd(ROOM_103, False)
    await settle(hass, simulator)

    [flow] = discoveries(hass)
    assert flow["context"]["unique_id"] == f"line_{ROOM_103}"
    assert flow["context"]["title_placeholders"] == {"name": "+41 22 566 21 96"}
    assert flow["step_id"] == "discovery_confirm"
    # Such pushes change nothing else.
    assert events == []
    assert (push.pushes_received, push.last_push) == (received, last_push)
    assert line_entity(hass, ROOM_103) is None
    assert entry.data["sip_domain"] == "m.ipvoip.ch"  # learned from the push context
    assert entry.runtime_data is runtime

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "line_added"
    await settle(hass, simulator)
    assert discoveries(hass) == []
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is runtime  # no reload
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert lines_of(entry)[ROOM_103] == (
        "+41 22 566 21 96",
        line(ROOM_103, "+41 22 566 21 96", "+41225662196"),
    )
    dnd_103 = line_entity(hass, ROOM_103)
    assert dnd_103 is not None
    assert hass.states.get(line_entity(hass, ROOM_103, "call_forward_unconditional") or "").state == STATE_ON
    # The other lines never went unavailable.
    assert [
        event.data["entity_id"]
        for event in events
        if event.data["new_state"] is not None and event.data["new_state"].state == STATE_UNAVAILABLE
    ] == []
    assert [event.data["entity_id"] for event in events if event.data["entity_id"] == dnd_101] == []
    # The new line follows its phone by push, through the same enterprise subscription.
    simulator.set_dnd(ROOM_103, True)
    await settle(hass, simulator)
    assert hass.states.get(dnd_103).state == STATE_ON
    assert [sub["id"] for sub in simulator.subscriptions() if sub["resourceType"] == "FEATURE"] == [feature["id"]]


async def test_discovery_named_and_ignored(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A name given at confirm is kept; an ignored line is not offered again, even after a reload."""
    entry = init_integration
    simulator.set_dnd(ROOM_103, True)
    simulator.set_dnd(FRONT_DESK, True)
    await settle(hass, simulator)
    flows = {flow["context"]["unique_id"]: flow for flow in discoveries(hass)}
    assert set(flows) == {f"line_{ROOM_103}", f"line_{FRONT_DESK}"}

    result = await hass.config_entries.flow.async_configure(flows[f"line_{ROOM_103}"]["flow_id"], {"name": "Lobby"})
    assert result["reason"] == "line_added"
    await settle(hass, simulator)
    assert lines_of(entry)[ROOM_103][0] == "Lobby"

    hass.config_entries.flow.async_abort(flows[f"line_{FRONT_DESK}"]["flow_id"])
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_IGNORE}, data={"unique_id": f"line_{FRONT_DESK}", "title": "Front desk"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    simulator.set_dnd(FRONT_DESK, False)
    await settle(hass, simulator)
    assert discoveries(hass) == []
    assert entry.state is ConfigEntryState.LOADED


async def test_discovery_aborts(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """A discovery is dropped when its line is added otherwise, its account is gone or it names no line."""
    entry = init_integration
    simulator.set_dnd(ROOM_103, True)
    await settle(hass, simulator)
    [flow] = discoveries(hass)
    result = await _add_line(hass, entry, {"user_id": str(ROOM_103)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass, simulator)
    assert discoveries(hass) == []

    def start(data: dict[str, Any]) -> Any:
        return hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=data)

    assert (await start({"entry_id": entry.entry_id, "user_id": ROOM_103}))["reason"] == "line_configured"
    assert (await start({"entry_id": "gone", "user_id": FRONT_DESK}))["reason"] == "account_gone"
    assert (await start({"user_id": "x"}))["reason"] == "not_a_line"
    result = await start({"entry_id": entry.entry_id, "user_id": FRONT_DESK})
    assert result["description_placeholders"]["number"] == "-"
    assert result["description_placeholders"]["default_name"] == f"Line {FRONT_DESK}"
    assert result["description_placeholders"]["account"] == f"`{DEMO_USERNAME}`"
    assert flow["flow_id"] != result["flow_id"]


@pytest.mark.parametrize("push_options", [{"push_base_url": PUSH_BASE_URL, "enterprise_discovery": False}])
async def test_discovery_off(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """Off: the FEATURE subscription covers the configured userIds only, and nothing is discovered."""
    [feature] = [sub for sub in simulator.subscriptions() if sub["resourceType"] == "FEATURE"]
    assert feature["userIds"] == [ROOM_101, ROOM_102]
    assert "enterpriseNames" not in feature
    simulator.set_dnd(ROOM_103, True)
    await settle(hass, simulator)
    assert discoveries(hass) == []
    assert init_integration.runtime_data.push.diagnostics()["enterprise_discovery"] is False


async def test_enterprise_subscription_refused(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """An API refusing the enterprise-wide FEATURE subscription gets the lines' own; push works."""
    simulator.add_fault("status", status=400, count=1, method="POST", path="/openapi/v1/subscriptions")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    [feature] = [sub for sub in simulator.subscriptions() if sub["resourceType"] == "FEATURE"]
    assert feature["userIds"] == [ROOM_101, ROOM_102]
    push = config_entry.runtime_data.push
    assert push.healthy
    assert push.diagnostics()["enterprise_refused"] is True
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get(line_entity(hass, ROOM_101) or "").state == STATE_ON


async def test_entry_without_lines_discovers(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """With no line at all, the enterprise FEATURE subscription alone is held: lines can still be found."""
    config_entry.add_to_hass(hass)
    for subentry_id in list(config_entry.subentries):
        hass.config_entries.async_remove_subentry(config_entry, subentry_id)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    subs = simulator.subscriptions()
    assert [(sub["resourceType"], sub.get("enterpriseNames")) for sub in subs] == [("FEATURE", [ENTERPRISE])]
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    [flow] = discoveries(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"name": "Room 101"})
    assert result["reason"] == "line_added"
    await settle(hass, simulator)
    assert {sub["resourceType"] for sub in simulator.subscriptions()} == {"FEATURE", "CALL_LOG", "PRESENCE"}
    assert hass.states.get(line_entity(hass, ROOM_101) or "").state == STATE_ON


async def test_options_discovery_and_domain(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The options turn discovery off and set the SIP domain (checked); the domain builds login names."""
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "settings"})
    assert result["description_placeholders"]["sip_domain"] == "m.ipvoip.ch"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"enterprise_discovery": False, "sip_domain": "not a domain"}
    )
    assert result["errors"] == {"sip_domain": "invalid_domain"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"push_base_url": PUSH_BASE_URL, "enterprise_discovery": False, "sip_domain": "Sip.Example.CH"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        "push_base_url": PUSH_BASE_URL,
        "enterprise_discovery": False,
        "sip_domain": "sip.example.ch",
        "presence_interval": 30,
    }
    [feature] = [sub for sub in simulator.subscriptions() if sub["resourceType"] == "FEATURE"]
    assert feature["userIds"] == [ROOM_101, ROOM_102]
    simulator.version = V78
    entry.runtime_data.server = await entry.runtime_data.client.get_server_info()
    result = await _add_line(hass, entry, {"user_id": "+41225662196"})
    assert result["errors"] == {"base": "numbers_not_found"}
    assert result["description_placeholders"]["logins"] == "`+41225662196@sip.example.ch`"


async def test_line_removed_is_discovered_again(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Discovered, added, removed, discovered again and added again in one run: all its entities come back."""
    entry = init_integration

    async def discover_and_add() -> None:
        simulator.set_dnd(ROOM_103, simulator.feature(ROOM_103, "CENTRAL_DND")["status"] != "ACTIVE")
        await settle(hass, simulator)
        [flow] = discoveries(hass)
        assert (await hass.config_entries.flow.async_configure(flow["flow_id"], {}))["reason"] == "line_added"
        await settle(hass, simulator)

    await discover_and_add()
    dnd = line_entity(hass, ROOM_103)
    text = er.async_get(hass).async_get_entity_id("text", DOMAIN, f"{ROOM_103}_call_forward_unconditional_destination")
    assert dnd is not None and text is not None
    subentry_id = next(sub.subentry_id for sub in entry.subentries.values() if sub.unique_id == str(ROOM_103))
    assert hass.config_entries.async_remove_subentry(entry, subentry_id)
    await settle(hass, simulator)
    assert line_entity(hass, ROOM_103) is None
    await discover_and_add()
    assert line_entity(hass, ROOM_103) is not None
    assert hass.states.get(line_entity(hass, ROOM_103) or "") is not None
    text = er.async_get(hass).async_get_entity_id("text", DOMAIN, f"{ROOM_103}_call_forward_unconditional_destination")
    assert text is not None and hass.states.get(text) is not None
