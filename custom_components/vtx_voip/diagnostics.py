"""Diagnostics of the VTX VoIP integration (secrets redacted)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_APPLICATION_ID, CONF_NUMBER, CONF_PUSH_BASE_URL, CONF_SIP_DOMAIN, CONF_WEBHOOK_ID
from .data import VtxConfigEntry

# Secrets, numbers and names, and every URL (they hold the user's hostnames).
TO_REDACT = {
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_APPLICATION_ID,
    CONF_WEBHOOK_ID,
    CONF_URL,
    CONF_PUSH_BASE_URL,
    CONF_SIP_DOMAIN,
    CONF_NUMBER,
    "enterpriseNames",
    "applicationId",
    "creatorId",
    "notificationUrl",
    "loginNames",
    "name",
    "callPartyNumber",
    "callPartyDialNumber",
    "destinationUri",
    "destinationUris",
    "loginName",
    "phoneNumber",
    "title",
}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: VtxConfigEntry) -> dict[str, Any]:
    """Return diagnostics for an entry."""
    runtime = entry.runtime_data
    features = runtime.features
    presence = runtime.presence
    data: dict[str, Any] = {
        "entry": {"data": dict(entry.data), "options": dict(entry.options), "title": entry.title},
        "server": runtime.server.raw,
        "lines": {
            str(user_id): {
                "features_available": features.line_available(user_id),
                "presence_available": presence.line_available(user_id),
                "features": [feature.raw for feature in (features.last_known(user_id) or {}).values()],
                "presence": {
                    "activity": state.activity,
                    "enhanced_activity": state.enhanced_activity,
                    "modified_on": state.modified_on.isoformat() if state.modified_on else None,
                }
                if (p := presence.last_known(user_id)) is not None and (state := p.effective) is not None
                else None,
            }
            for user_id in runtime.lines
        },
        "coordinators": {
            "features": {
                "last_update_success": features.last_update_success,
                "update_interval": str(features.update_interval),
            },
            "presence": {
                "last_update_success": presence.last_update_success,
                "update_interval": str(presence.update_interval),
            },
        },
        "push": runtime.push.diagnostics(),
    }
    return async_redact_data(data, TO_REDACT)
