"""The config flow, its sub-entry flow, reauth, reconfigure and options, against the simulator."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.config_flow import normalize_push_url, parse_lines
from custom_components.vtx_voip.const import CONF_APPLICATION_ID, CONF_PUSH_BASE_URL, DOMAIN
from vtx_simulator import Simulator
from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME

from .conftest import ROOM_101, ROOM_102

ROOM_103 = 176133
SETUP = "custom_components.vtx_voip.async_setup_entry"


def account(simulator: Simulator, **changes: str) -> dict[str, str]:
    """The user step's input for the demo account."""
    return {
        CONF_URL: simulator.base_url,
        CONF_USERNAME: DEMO_USERNAME,
        CONF_PASSWORD: DEMO_PASSWORD,
        CONF_APPLICATION_ID: DEMO_APPLICATION_ID,
    } | changes


async def start(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result["flow_id"]


def test_parse_lines() -> None:
    lines, bad = parse_lines(" 176125 = Room 101\n\n176129\n176133: Lobby \nroom 4\n176125 = Room 1O1")
    assert lines == {176125: "Room 1O1", 176129: "Line 176129", 176133: "Lobby"}
    assert bad == ["room 4"]


def test_normalize_push_url() -> None:
    assert normalize_push_url("https://ha.example.com/") == "https://ha.example.com"
    assert normalize_push_url("ftp://ha.example.com") is None
    assert normalize_push_url("not a url") is None


async def test_full_flow(hass: HomeAssistant, simulator: Simulator) -> None:
    """Account then lines: one entry with one sub-entry per line."""
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "lines"
    with patch(SETUP, return_value=True) as setup:
        result = await hass.config_entries.flow.async_configure(
            flow_id, {"user_ids": f"{ROOM_101} = Room 101\n{ROOM_102}"}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == DEMO_USERNAME
    entry = result["result"]
    assert entry.unique_id == DEMO_USERNAME.lower()
    assert entry.data[CONF_URL] == simulator.base_url
    assert len(entry.data["webhook_id"]) == 64
    subentries = sorted(entry.subentries.values(), key=lambda item: item.data["user_id"])
    assert [(s.data["user_id"], s.data["name"], s.title, s.unique_id, s.subentry_type) for s in subentries] == [
        (ROOM_101, "Room 101", "Room 101", str(ROOM_101), "line"),
        (ROOM_102, f"Line {ROOM_102}", f"Line {ROOM_102}", str(ROOM_102), "line"),
    ]
    assert len(setup.mock_calls) == 1


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({CONF_URL: "not a url"}, "invalid_url"),
        ({CONF_PASSWORD: "wrong"}, "invalid_auth"),
        ({CONF_APPLICATION_ID: "00000000-0000-0000-0000-000000000000"}, "invalid_auth"),
        ({CONF_URL: "http://127.0.0.1:9/openapi/"}, "cannot_connect"),
    ],
)
async def test_user_errors_then_recover(
    hass: HomeAssistant, simulator: Simulator, changes: dict[str, str], error: str
) -> None:
    """Each error is shown with the input kept; the corrected input goes on."""
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, account(simulator, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    result = await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    assert result["step_id"] == "lines"


async def test_user_server_error_and_unknown(hass: HomeAssistant, simulator: Simulator) -> None:
    flow_id = await start(hass)
    simulator.fail_next(503)
    result = await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    assert result["errors"] == {"base": "cannot_connect"}
    with patch("custom_components.vtx_voip.api.VtxClient.get_server_info", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    assert result["errors"] == {"base": "unknown"}


async def test_already_configured(hass: HomeAssistant, simulator: Simulator) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=DEMO_USERNAME.lower()).add_to_hass(hass)
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, account(simulator, **{CONF_USERNAME: DEMO_USERNAME.upper()})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_lines_errors_then_recover(hass: HomeAssistant, simulator: Simulator) -> None:
    """Syntax errors, unknown userIds and API errors are named; the fixed text goes through."""
    flow_id = await start(hass)
    await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": "Room 101\n176125"})
    assert result["errors"] == {"user_ids": "invalid_user_ids"}
    assert result["description_placeholders"] == {"lines": "Room 101"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": "  \n"})
    assert result["errors"] == {"user_ids": "no_user_ids"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_101}\n999999"})
    assert result["errors"] == {"user_ids": "unknown_user_ids"}
    assert result["description_placeholders"] == {"lines": "999999"}
    simulator.fail_next(503, count=4)
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_101}"})
    assert result["errors"] == {"base": "cannot_connect"}
    simulator.clear_faults()
    simulator.fail_next(401, count=4)
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_101}"})
    assert result["errors"] == {"base": "invalid_auth"}
    simulator.clear_faults()
    with patch(SETUP, return_value=True):
        result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_101} = Room 101"})
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [s.title for s in result["result"].subentries.values()] == ["Room 101"]


async def _add_line(hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, object]) -> dict[str, object]:
    result = await hass.config_entries.subentries.async_init((entry.entry_id, "line"), context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    return dict(await hass.config_entries.subentries.async_configure(result["flow_id"], data))


async def test_subentry_add_and_errors(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    result = await _add_line(hass, entry, {"user_id": ROOM_101})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    result = await _add_line(hass, entry, {"user_id": 999999})
    assert result["errors"] == {"base": "unknown_user_id"}
    simulator.fail_next(503)
    result = await _add_line(hass, entry, {"user_id": ROOM_103})
    assert result["errors"] == {"base": "cannot_connect"}
    simulator.fail_next(401)
    result = await _add_line(hass, entry, {"user_id": ROOM_103})
    assert result["errors"] == {"base": "invalid_auth"}
    simulator.fail_next(403)
    result = await _add_line(hass, entry, {"user_id": ROOM_103})
    assert result["errors"] == {"base": "unknown_user_id"}
    result = await _add_line(hass, entry, {"user_id": ROOM_103, "name": "  Lobby "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    added = [s for s in entry.subentries.values() if s.unique_id == str(ROOM_103)]
    assert [(s.title, dict(s.data)) for s in added] == [("Lobby", {"user_id": ROOM_103, "name": "Lobby"})]


async def test_subentry_reconfigure(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    subentry = next(s for s in entry.subentries.values() if s.unique_id == str(ROOM_102))

    async def reconfigure(data: dict[str, object]) -> dict[str, object]:
        result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
        assert result["step_id"] == "reconfigure"
        return dict(await hass.config_entries.subentries.async_configure(result["flow_id"], data))

    result = await reconfigure({"user_id": ROOM_101})
    assert result["reason"] == "already_configured"
    result = await reconfigure({"user_id": 999999})
    assert result["errors"] == {"base": "unknown_user_id"}
    result = await reconfigure({"user_id": ROOM_103, "name": "Room 103"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    changed = entry.subentries[subentry.subentry_id]
    assert (changed.title, changed.unique_id, dict(changed.data)) == (
        "Room 103",
        str(ROOM_103),
        {"user_id": ROOM_103, "name": "Room 103"},
    )


async def test_reauth(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "wrong", CONF_APPLICATION_ID: DEMO_APPLICATION_ID}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    simulator.password = "new-password"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password", CONF_APPLICATION_ID: DEMO_APPLICATION_ID}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PASSWORD] == "new-password"


async def test_reconfigure(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, account(simulator, **{CONF_PASSWORD: "bad"}))
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, account(simulator, **{CONF_URL: simulator.base_url.rstrip("/")})
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == simulator.base_url

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account(simulator, **{CONF_USERNAME: "openapi@999999.bus.ent"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


async def test_options(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_PUSH_BASE_URL: "nope"})
    assert result["errors"] == {CONF_PUSH_BASE_URL: "invalid_url"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PUSH_BASE_URL: "https://ha.example.com/"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {CONF_PUSH_BASE_URL: "https://ha.example.com"}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert entry.options == {}


async def test_subentry_with_broken_entry_url(hass: HomeAssistant, simulator: Simulator) -> None:
    """A stored URL that cannot be used gives cannot_connect, not a crash."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="x",
        data={
            CONF_URL: "nope",
            CONF_USERNAME: "x",
            CONF_PASSWORD: "y",
            CONF_APPLICATION_ID: "z",
            "webhook_id": "w",
        },
    )
    entry.add_to_hass(hass)
    result = await _add_line(hass, entry, {"user_id": ROOM_103})
    assert result["errors"] == {"base": "cannot_connect"}
