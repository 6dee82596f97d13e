"""The config flow, its sub-entry flow, reauth, reconfigure and options, against the simulator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
import importlib.util
import json
import logging
from pathlib import Path
import re
from typing import Any, cast
from unittest.mock import MagicMock, call, patch

from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentry,
    ConfigSubentryData,
    SubentryFlowResult,
)
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.billing.numbering import DestinationClass
from custom_components.vtx_voip.const import CONF_APPLICATION_ID, CONF_PUSH_BASE_URL, DEFAULT_URL, DOMAIN
from custom_components.vtx_voip.options_flow import normalize_push_url
from vtx_simulator import Simulator
from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME

from .conftest import PUSH_BASE_URL, ROOM_101, ROOM_102, WEBHOOK_ID, line_subentry

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
    assert result["description_placeholders"]["lines"] == "Room 101"
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": "  \n"})
    assert result["errors"] == {"user_ids": "no_user_ids"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_101}\n999999"})
    assert result["errors"] == {"user_ids": "unknown_user_ids"}
    assert result["description_placeholders"]["lines"] == "999999"
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


async def test_lines_step_refuses_one_line_with_two_names(hass: HomeAssistant, simulator: Simulator) -> None:
    """176125 = Room 101 and 176125 = Room 102: a translated form error naming both rows, not one name kept."""
    flow_id = await start(hass)
    await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"user_ids": f"{ROOM_101} = Room 101\n{ROOM_101} = Room 102"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"user_ids": "conflicting_names"}
    assert result["description_placeholders"]["lines"] == f"{ROOM_101} = Room 101, {ROOM_101} = Room 102"
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    assert "{lines}" in strings["config"]["error"]["conflicting_names"]
    with patch(SETUP, return_value=True):
        result = await hass.config_entries.flow.async_configure(
            flow_id, {"user_ids": f"{ROOM_101} = Room 101\n{ROOM_101}"}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [(s.unique_id, s.title) for s in result["result"].subentries.values()] == [(str(ROOM_101), "Room 101")]


async def _add_line(hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, object]) -> dict[str, object]:
    result = await hass.config_entries.subentries.async_init((entry.entry_id, "line"), context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    return dict(await hass.config_entries.subentries.async_configure(result["flow_id"], data))


async def test_subentry_add_and_errors(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    result = await _add_line(hass, entry, {"user_id": str(ROOM_101)})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    result = await _add_line(hass, entry, {"user_id": str(999999)})
    assert result["errors"] == {"base": "unknown_user_id"}
    simulator.fail_next(503)
    result = await _add_line(hass, entry, {"user_id": str(ROOM_103)})
    assert result["errors"] == {"base": "cannot_connect"}
    simulator.fail_next(401)
    result = await _add_line(hass, entry, {"user_id": str(ROOM_103)})
    assert result["errors"] == {"base": "invalid_auth"}
    simulator.fail_next(403)
    result = await _add_line(hass, entry, {"user_id": str(ROOM_103)})
    assert result["errors"] == {"base": "unknown_user_id"}
    result = await _add_line(hass, entry, {"user_id": str(ROOM_103), "name": "  Lobby "})
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

    result = await reconfigure({"user_id": str(ROOM_101)})
    assert result["reason"] == "already_configured"
    result = await reconfigure({"user_id": str(999999)})
    assert result["errors"] == {"base": "unknown_user_id"}
    result = await reconfigure({"user_id": str(ROOM_103), "name": "Room 103"})
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
    # The account's data changed: the entry reloads (waited for, or teardown meets it midway).
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account(simulator, **{CONF_USERNAME: "openapi@999999.bus.ent"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


async def _options_step(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> dict[str, Any]:
    """Open the options menu and choose a step."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "tariffs"]
    return dict(await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": step}))


async def test_options(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    entry = init_integration
    result = await _options_step(hass, entry, "settings")
    assert result["step_id"] == "settings"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_PUSH_BASE_URL: "nope"})
    assert result["errors"] == {CONF_PUSH_BASE_URL: "invalid_url"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PUSH_BASE_URL: "https://ha.example.com/"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {
        CONF_PUSH_BASE_URL: "https://ha.example.com",
        "enterprise_discovery": True,
        "presence_interval": 30,
    }
    result = await _options_step(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert entry.options == {"enterprise_discovery": True, "presence_interval": 30}
    # The presence interval: read back by the reloaded entry (presence polled: no push URL).
    result = await _options_step(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"presence_interval": 120})
    await hass.async_block_till_done()
    assert entry.options == {"enterprise_discovery": True, "presence_interval": 120}
    assert entry.runtime_data.presence.configured_interval == timedelta(seconds=120)
    assert entry.runtime_data.presence.update_interval == timedelta(seconds=120)
    result = await _options_step(hass, entry, "settings")
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(result["flow_id"], {"presence_interval": 5})


async def test_tariff_options(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """The tariffs step stores prices as decimal strings, keeps the push URL, and shows what it stored."""
    entry = init_integration
    hass.config.currency = "CHF"
    result = await _options_step(hass, entry, "tariffs")
    assert result["step_id"] == "tariffs"
    assert result["description_placeholders"] == {"currency": "CHF"}
    given: dict[str, Any] = {
        cls_: {"price_per_minute": 0, "billing": "per_minute", "minimum_seconds": 0, "setup_price": 0}
        for cls_ in ("internal", "national_fixed", "national_mobile", "international", "special")
    }
    given["national_mobile"] = {
        "price_per_minute": 0.35,
        "billing": "per_second",
        "minimum_seconds": 30,
        "setup_price": 0.1,
    }
    given["international"]["price_per_minute"] = 1.2
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**given, "internal_extensions": "199-100", "bill_incoming": True, "retention_days": 90}
    )
    assert result["errors"] == {"internal_extensions": "invalid_extensions"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**given, "bill_incoming": True, "retention_days": 90}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_PUSH_BASE_URL] == PUSH_BASE_URL
    assert entry.options["tariffs"]["national_mobile"] == {
        "price_per_minute": "0.35",
        "billing": "per_second",
        "minimum_seconds": 30,
        "setup_price": "0.1",
    }
    assert entry.options["tariffs"]["international"]["price_per_minute"] == "1.2"
    assert entry.options["bill_incoming"] is True
    assert entry.options["retention_days"] == 90
    # The reloaded entry prices with them; the form shows them again.
    tariffs = entry.runtime_data.stays.tariffs
    assert str(tariffs.classes[DestinationClass.NATIONAL_MOBILE].price_per_minute) == "0.35"
    assert entry.runtime_data.calls.retention.days == 90
    result = await _options_step(hass, entry, "tariffs")
    suggested = {
        key.schema: key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    assert suggested["retention_days"] == 90
    assert suggested["bill_incoming"] is True
    # Changing the push URL afterwards keeps the tariffs.
    result = await _options_step(hass, entry, "settings")
    await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert CONF_PUSH_BASE_URL not in entry.options
    assert entry.options["tariffs"]["international"]["price_per_minute"] == "1.2"


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
    result = await _add_line(hass, entry, {"user_id": str(ROOM_103)})
    assert result["errors"] == {"base": "cannot_connect"}


# --- Lines by number or login name, discovered lines (platform 7.8) ----------------------
V78 = "7.8.0.3"
ROOM_103_LOGIN = "+41225662196@m.ipvoip.ch"


async def test_lines_step_by_login_learns_the_domain(hass: HomeAssistant, simulator: Simulator) -> None:
    """A login name that resolves gives the line its number and the entry its SIP domain."""
    simulator.version = V78
    flow_id = await start(hass)
    await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    with patch(SETUP, return_value=True):
        result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_103_LOGIN} = Lobby"})
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].data["sip_domain"] == "m.ipvoip.ch"
    [line] = result["result"].subentries.values()
    # The login name it was found by is kept: the per-line FEATURE subscription's scope.
    assert dict(line.data) == {
        "user_id": ROOM_103,
        "name": "Lobby",
        "number": "+41225662196",
        "login_name": ROOM_103_LOGIN,
    }


async def test_subentry_by_number_and_login(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """An entry not loaded asks the server info; a login teaches the SIP domain; a taken line aborts."""
    config_entry.add_to_hass(hass)
    assert "sip_domain" not in config_entry.data
    result = await _add_line(hass, config_entry, {"user_id": "no such line"})
    assert result["errors"] == {"base": "invalid_line"}
    simulator.fail_next(503, count=4)
    result = await _add_line(hass, config_entry, {"user_id": "+41225662196"})
    assert result["errors"] == {"base": "cannot_connect"}
    simulator.clear_faults()
    simulator.version = V78
    result = await _add_line(hass, config_entry, {"user_id": "0225662194"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    result = await _add_line(hass, config_entry, {"user_id": ROOM_103_LOGIN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.data["sip_domain"] == "m.ipvoip.ch"
    added = next(s for s in config_entry.subentries.values() if s.unique_id == str(ROOM_103))
    assert (added.title, dict(added.data)) == (
        "+41 22 566 21 96",
        {"user_id": ROOM_103, "name": "+41 22 566 21 96", "number": "+41225662196", "login_name": ROOM_103_LOGIN},
    )
    # Renamed by its userId, the line keeps the number and login name it is known by.
    result = await config_entry.start_subentry_reconfigure_flow(hass, added.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": str(ROOM_103), "name": "Lobby"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert dict(config_entry.subentries[added.subentry_id].data) == {
        "user_id": ROOM_103,
        "name": "Lobby",
        "number": "+41225662196",
        "login_name": ROOM_103_LOGIN,
    }


async def test_subentry_uses_the_loaded_entrys_server(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A loaded entry's server info decides (7.7 here) without asking the API again."""
    simulator.version = V78  # the API says 7.8 now; the loaded entry read 7.7
    before = simulator.total_requests()
    result = await _add_line(hass, init_integration, {"user_id": "+41225662196"})
    assert result["errors"] == {"base": "user_id_needed"}
    assert result["description_placeholders"]["version"] == "7.7.2.12"
    assert simulator.total_requests() == before


async def test_discovery_flow(hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry) -> None:
    """A discovered line is confirmed into its account; stale or broken discoveries abort."""
    config_entry.add_to_hass(hass)

    async def discover(data: dict[str, Any]) -> dict[str, Any]:
        return dict(
            await hass.config_entries.flow.async_init(
                DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=data
            )
        )

    assert (await discover({"user_id": "x", "entry_id": config_entry.entry_id}))["reason"] == "not_a_line"
    assert (await discover({"user_id": ROOM_103}))["reason"] == "not_a_line"
    assert (await discover({"user_id": ROOM_103, "entry_id": "gone"}))["reason"] == "account_gone"
    assert (await discover({"user_id": ROOM_101, "entry_id": config_entry.entry_id}))["reason"] == "line_configured"
    result = await discover({"user_id": ROOM_103, "entry_id": config_entry.entry_id, "login_name": ROOM_103_LOGIN})
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"]["number"] == "+41 22 566 21 96"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert (result["reason"], result["description_placeholders"]) == ("line_added", {"name": "+41 22 566 21 96"})
    added = next(s for s in config_entry.subentries.values() if s.unique_id == str(ROOM_103))
    assert dict(added.data) == {"user_id": ROOM_103, "name": "+41 22 566 21 96", "number": "+41225662196"}

    # Confirmed after the line was added otherwise, or after its account was removed.
    front_desk = 176137
    first = await discover({"user_id": front_desk, "entry_id": config_entry.entry_id})
    second = await discover({"user_id": front_desk + 4, "entry_id": config_entry.entry_id})
    hass.config_entries.async_add_subentry(config_entry, ConfigSubentry(**line_subentry(front_desk, "Front desk")))
    result = await hass.config_entries.flow.async_configure(first["flow_id"], {"name": "Desk"})
    assert result["reason"] == "line_configured"
    assert await hass.config_entries.async_remove(config_entry.entry_id)
    result = await hass.config_entries.flow.async_configure(second["flow_id"], {"name": "Desk"})
    assert result["reason"] == "account_gone"


async def test_options_sip_domain(hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry) -> None:
    """The SIP domain option is checked and stored in lower case."""
    config_entry.add_to_hass(hass)
    result = await _options_step(hass, config_entry, "settings")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"sip_domain": "not a domain"})
    assert result["errors"] == {"sip_domain": "invalid_domain"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"sip_domain": "Sip.Example.CH"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options["sip_domain"] == "sip.example.ch"


# --- A line is set up once across every entry ---------------------------------------------
OTHER_ACCOUNT = "openapi@999999.bus.ent"


def other_account_entry(simulator: Simulator, *lines: tuple[int, str]) -> MockConfigEntry:
    """Another account's entry (not set up) with the given lines, and a sub-entry of another type."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=OTHER_ACCOUNT,
        unique_id=OTHER_ACCOUNT,
        # The simulator knows only the demo login: the other account uses it too.
        data=account(simulator) | {"webhook_id": "f" * 64},
        subentries_data=[
            *(line_subentry(user_id, name) for user_id, name in lines),
            ConfigSubentryData(data={"user_id": ROOM_103}, subentry_type="note", title="Note", unique_id="note"),
        ],
    )


async def test_lines_step_refuses_lines_of_other_entries(hass: HomeAssistant, simulator: Simulator) -> None:
    """userIds that are lines of another account are named, before any request; others go through."""
    other_account_entry(simulator, (ROOM_101, "Room 101"), (ROOM_102, "Room 102")).add_to_hass(hass)
    flow_id = await start(hass)
    await hass.config_entries.flow.async_configure(flow_id, account(simulator))
    requests = simulator.total_requests()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"user_ids": f"{ROOM_103} = Lobby\n{ROOM_102}\n{ROOM_101} = Room 101"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"user_ids": "user_ids_configured"}
    assert result["description_placeholders"]["lines"] == f"{ROOM_102}, {ROOM_101}"
    assert simulator.total_requests() == requests
    with patch(SETUP, return_value=True):
        result = await hass.config_entries.flow.async_configure(flow_id, {"user_ids": f"{ROOM_103} = Lobby"})
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [s.unique_id for s in result["result"].subentries.values()] == [str(ROOM_103)]


async def test_subentry_refuses_lines_of_other_entries(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Adding or moving a line to a userId of another entry aborts; keeping a line's own userId works."""
    # A duplicate of Room 101 made before lines were checked across entries.
    other = other_account_entry(simulator, (ROOM_101, "Old Room 101"))
    other.add_to_hass(hass)
    result = await _add_line(hass, other, {"user_id": str(ROOM_102)})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    result = await _add_line(hass, init_integration, {"user_id": str(ROOM_101)})
    assert result["reason"] == "already_configured"
    # The "note" sub-entry's user_id is not a line: ROOM_103 is free.
    result = await _add_line(hass, other, {"user_id": str(ROOM_103), "name": "Lobby"})
    assert result["type"] is FlowResultType.CREATE_ENTRY

    subentry = next(s for s in other.subentries.values() if s.unique_id == str(ROOM_101))

    async def reconfigure(data: dict[str, object]) -> SubentryFlowResult:
        result = await other.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
        return await hass.config_entries.subentries.async_configure(result["flow_id"], data)

    moved = await reconfigure({"user_id": str(ROOM_102)})
    assert moved["type"] is FlowResultType.ABORT
    assert moved["reason"] == "already_configured"
    renamed = await reconfigure({"user_id": str(ROOM_101), "name": "Room 101 (old)"})
    assert renamed["type"] is FlowResultType.ABORT
    assert renamed["reason"] == "reconfigure_successful"
    assert other.subentries[subentry.subentry_id].title == "Room 101 (old)"


# --- Every placeholder the texts use is given by the flow -----------------------------------
STRINGS = Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _resolved_strings() -> dict[str, Any]:
    """strings.json with its ``[%key:...%]`` references resolved, as scripts/translations.py does."""
    spec = importlib.util.spec_from_file_location("translations_script", STRINGS.parents[2] / "scripts/translations.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    return cast("dict[str, Any]", module.resolve(strings, strings))


def _step_placeholders(step: Mapping[str, Any]) -> set[str]:
    texts = [step.get("title", ""), step.get("description", ""), *step.get("data_description", {}).values()]
    for section in step.get("sections", {}).values():
        texts += [section.get("name", ""), *section.get("data_description", {}).values()]
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


async def test_forms_give_the_placeholders_of_their_texts(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Each form of each flow gives every placeholder its title, description and field help use."""
    shown: dict[tuple[str, str], Mapping[str, Any]] = {}

    def seen(section: str, result: Mapping[str, Any]) -> str:
        assert result["type"] is FlowResultType.FORM
        shown[(section, result["step_id"])] = result["description_placeholders"] or {}
        return str(result["flow_id"])

    flow_id = seen("config", await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}))
    seen("config", await hass.config_entries.flow.async_configure(flow_id, account(simulator)))
    hass.config_entries.flow.async_abort(flow_id)

    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    seen("config", await config_entry.start_reauth_flow(hass))
    seen("config", await config_entry.start_reconfigure_flow(hass))
    for step in ("settings", "tariffs"):
        menu = await hass.config_entries.options.async_init(config_entry.entry_id)
        assert menu["type"] is FlowResultType.MENU
        seen("options", await hass.config_entries.options.async_configure(menu["flow_id"], {"next_step_id": step}))
    seen(
        "config_subentries.line",
        await hass.config_entries.subentries.async_init(
            (config_entry.entry_id, "line"), context={"source": SOURCE_USER}
        ),
    )
    seen(
        "config_subentries.line",
        await config_entry.start_subentry_reconfigure_flow(hass, next(iter(config_entry.subentries))),
    )
    seen(
        "config",
        await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={"entry_id": config_entry.entry_id, "user_id": 176133, "login_name": "+41225662196@m.ipvoip.ch"},
        ),
    )

    strings = _resolved_strings()
    sections = {"config": strings["config"], "options": strings["options"]} | {
        f"config_subentries.{kind}": flows for kind, flows in strings["config_subentries"].items()
    }
    expected = {
        (section, step_id)
        for section, texts in sections.items()
        for step_id, step in texts["step"].items()
        if "menu_options" not in step
    }
    assert set(shown) == expected, "a step of strings.json is not shown by this test"
    for (section, step_id), placeholders in shown.items():
        needed = _step_placeholders(sections[section]["step"][step_id])
        given = {name for name, value in placeholders.items() if value is not None}
        assert needed <= given, f"{section}.step.{step_id} lacks {sorted(needed - given)}"
    # The lines step (and Add line) show the errors that name lines: they always give their placeholders.
    error_placeholders = {name for text in strings["config"]["error"].values() for name in PLACEHOLDER.findall(text)}
    assert error_placeholders == {"lines", "version", "logins", "user_id_help_url"}
    assert error_placeholders <= set(shown[("config", "lines")])
    line_errors = strings["config_subentries"]["line"]["error"].values()
    assert {name for text in line_errors for name in PLACEHOLDER.findall(text)} <= set(
        shown[("config_subentries.line", "user")]
    )
    account_steps = [strings["config"]["step"][step] for step in ("user", "reconfigure")]
    assert set().union(*map(_step_placeholders, account_steps)) == {"default_url", "example_username"}
    assert shown[("config", "user")]["default_url"] == DEFAULT_URL
    # Inline code: the frontend's Markdown would make a mailto link of a login like this.
    assert shown[("config", "user")]["example_username"].startswith("`")
    assert shown[("config", "reauth_confirm")]["username"] == f"`{DEMO_USERNAME}`"


def test_texts_have_no_urls_html_or_addresses() -> None:
    """hassfest refuses URLs and HTML in texts; an @ would make a mailto link: all in placeholders."""
    strings = _resolved_strings()
    texts = dict(_leaves(strings))
    for language in ("de", "fr", "it"):
        path = STRINGS.parent / "translations" / f"{language}.json"
        texts |= {f"{language}:{key}": value for key, value in _leaves(json.loads(path.read_text(encoding="utf-8")))}
    assert not {key: text for key, text in texts.items() if re.search(r"@|<[a-z/]|https?://\w", text, re.IGNORECASE)}


def _leaves(node: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    for key, value in node.items():
        if isinstance(value, Mapping):
            result.extend(_leaves(value, f"{prefix}{key}."))
        else:
            result.append((f"{prefix}{key}", value))
    return result


# --- Reauth and reconfigure leave the reload to the entry's update listener -----------------
UPDATE_LISTENER_WARNING = "update listener"


def state(entry: ConfigEntry) -> ConfigEntryState:
    """The entry's state, read anew (a plain attribute read would stay narrowed for mypy)."""
    return entry.state


@contextmanager
def counting_reloads(hass: HomeAssistant) -> Iterator[MagicMock]:
    """Count the entry reloads, whoever asks for them (the flow or the update listener)."""
    reload = hass.config_entries.async_reload
    with patch.object(hass.config_entries, "async_reload", side_effect=reload) as reloads:
        yield reloads


async def test_reauth_and_reconfigure_without_update_listener_warning(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Changed credentials are stored and reload the entry once, with no warning about the listener."""
    entry = init_integration
    assert entry.update_listeners
    caplog.set_level(logging.WARNING)
    simulator.password = "new-password"
    with counting_reloads(hass) as reloads:
        result = await entry.start_reauth_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_PASSWORD: "new-password", CONF_APPLICATION_ID: DEMO_APPLICATION_ID}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        assert entry.data[CONF_PASSWORD] == "new-password"
        await hass.async_block_till_done()
        assert reloads.mock_calls == [call(entry.entry_id)]
        assert entry.state is ConfigEntryState.LOADED

        simulator.password = "newer-password"
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], account(simulator, **{CONF_PASSWORD: "newer-password"})
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert entry.data[CONF_PASSWORD] == "newer-password"
        assert entry.data["webhook_id"] == WEBHOOK_ID
        await hass.async_block_till_done()
        assert reloads.mock_calls == [call(entry.entry_id)] * 2
    assert entry.state is ConfigEntryState.LOADED
    assert UPDATE_LISTENER_WARNING not in caplog.text


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_unchanged_credentials_reload_once(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    source: str,
) -> None:
    """Nothing changes, so the listener is not called: the flow reloads the entry itself, once.

    (After an authentication error the coordinators stop polling: only a reload restarts them.)
    """
    entry = init_integration
    caplog.set_level(logging.WARNING)
    with counting_reloads(hass) as reloads:
        if source == "reauth":
            result = await entry.start_reauth_flow(hass)
            user_input = {CONF_PASSWORD: DEMO_PASSWORD, CONF_APPLICATION_ID: DEMO_APPLICATION_ID}
        else:
            result = await entry.start_reconfigure_flow(hass)
            user_input = account(simulator)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
        await hass.async_block_till_done()
    assert result["reason"] == f"{source}_successful"
    assert reloads.mock_calls == [call(entry.entry_id)]
    assert entry.state is ConfigEntryState.LOADED
    assert UPDATE_LISTENER_WARNING not in caplog.text


async def test_reauth_loads_an_entry_whose_setup_failed(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Set-up failed on the credentials, so there is no update listener: the flow loads the entry."""
    simulator.password = "changed-at-vtx"
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert state(config_entry) is ConfigEntryState.SETUP_ERROR
    assert not config_entry.update_listeners
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"
    caplog.set_level(logging.WARNING)
    with counting_reloads(hass) as reloads:
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], {CONF_PASSWORD: "changed-at-vtx", CONF_APPLICATION_ID: DEMO_APPLICATION_ID}
        )
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
    assert reloads.mock_calls == [call(config_entry.entry_id)]
    assert config_entry.data[CONF_PASSWORD] == "changed-at-vtx"
    assert state(config_entry) is ConfigEntryState.LOADED
    assert UPDATE_LISTENER_WARNING not in caplog.text
