"""Lines found in enterprise-wide pushes, and the SIP domain their login names use.

A push about a userId that no entry has as a line starts one discovery flow per userId
(source ``integration_discovery``); confirming it adds the line as a sub-entry of the
entry that received the push. Ignoring it leaves an ignored entry with the flow's unique
id, so the same userId is not offered again.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, Final

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..api.assumptions import DEFAULT_SIP_DOMAIN
from ..api.numbers import domain_of_login
from ..const import (
    CONF_ENTERPRISE_DISCOVERY,
    CONF_SIP_DOMAIN,
    CONF_USER_ID,
    DEFAULT_ENTERPRISE_DISCOVERY,
    DOMAIN,
    LOGGER,
    SUBENTRY_TYPE_LINE,
)


def signal_line_login(entry_id: str) -> str:
    """Dispatcher signal sent with (user_id, login name) of a line of the entry's account.

    The stays listen: a call to a line of the account (configured or discovered) is internal.
    """
    return f"{DOMAIN}_{entry_id}_line_login"


# Keys of a discovery's data.
DISCOVERY_ENTRY_ID: Final = "entry_id"
DISCOVERY_USER_ID: Final = "user_id"
DISCOVERY_LOGIN: Final = "login_name"


def discovery_unique_id(user_id: int) -> str:
    """Return the unique id of the discovery flow (and, once ignored, of its ignored entry) of a userId."""
    return f"line_{int(user_id)}"


def configured_user_ids(hass: HomeAssistant) -> set[int]:
    """Return the userIds that are lines of any VTX VoIP entry (not only of one account).

    Entity and device unique ids are per userId, so a line can be set up only once.
    """
    return {
        int(subentry.data[CONF_USER_ID])
        for entry in hass.config_entries.async_entries(DOMAIN)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_TYPE_LINE
    }


def discovery_enabled(entry: ConfigEntry) -> bool:
    """Whether the entry discovers the lines of its enterprise (option, default on)."""
    return bool(entry.options.get(CONF_ENTERPRISE_DISCOVERY, DEFAULT_ENTERPRISE_DISCOVERY))


def sip_domain(entry: ConfigEntry | None) -> str:
    """Return the SIP domain login names are built with: the option, else the learned one, else the default."""
    if entry is None:
        return DEFAULT_SIP_DOMAIN
    for value in (entry.options.get(CONF_SIP_DOMAIN), entry.data.get(CONF_SIP_DOMAIN)):
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return DEFAULT_SIP_DOMAIN


@callback
def async_learn_sip_domain(hass: HomeAssistant, entry: ConfigEntry, login: str | None) -> None:
    """Keep the SIP domain of a login name seen at the API (entry data; no reload)."""
    domain = domain_of_login(login)
    if domain is None or entry.data.get(CONF_SIP_DOMAIN) == domain:
        return
    LOGGER.debug("Learned the SIP domain of %s's login names", entry.title)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_SIP_DOMAIN: domain})


@callback
def async_discover_line(hass: HomeAssistant, entry: ConfigEntry, user_id: int, login: str | None) -> None:
    """Start the discovery flow of a line the entry's enterprise has and no entry configures."""
    data: dict[str, Any] = {DISCOVERY_ENTRY_ID: entry.entry_id, DISCOVERY_USER_ID: int(user_id)}
    if login:
        data[DISCOVERY_LOGIN] = login
        async_dispatcher_send(hass, signal_line_login(entry.entry_id), int(user_id), login)
    discovery_flow.async_create_flow(hass, DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=data)


@callback
def async_abort_line_discoveries(hass: HomeAssistant, user_ids: set[int]) -> None:
    """Abort the discovery flows in progress of lines that are set up now."""
    wanted = {discovery_unique_id(user_id) for user_id in user_ids}
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN, include_uninitialized=True):
        if flow["context"].get("unique_id") in wanted:
            with suppress(UnknownFlow):
                hass.config_entries.flow.async_abort(flow["flow_id"])
