"""Push at set-up, before anything slow: the webhook registered, the subscriptions of ours adopted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..api import VtxClient
from ..const import CONF_LOGIN_NAME, CONF_NUMBER, CONF_USER_ID, CONF_WEBHOOK_ID
from ..lines.config import configured_lines
from ..lines.discovery import sip_domain
from .gate import async_gate
from .lifecycle import SubscriptionLifecycle
from .url import url_store


async def async_prepare_push(hass: HomeAssistant, entry: ConfigEntry, client: VtxClient) -> SubscriptionLifecycle:
    """Register the webhook (pushes held until the run opens) and adopt the subscriptions of ours.

    Runs first at set-up, before anything slow: no push of a live subscription is refused or
    dropped meanwhile.
    """
    gate = async_gate(
        hass, entry.entry_id, entry.data[CONF_WEBHOOK_ID], entry.title, lambda: configured_lines(entry).keys()
    )
    entry.async_on_unload(gate.async_close)
    lifecycle = SubscriptionLifecycle(hass, entry, client, gate)
    stored = await url_store(hass, entry.entry_id).async_load()
    stored = stored if isinstance(stored, dict) else {}
    logins = stored.get("login_names")
    if isinstance(logins, dict):
        lifecycle.login_names.update({int(uid): str(login) for uid, login in logins.items() if str(uid).isdigit()})
    known_url = stored.get("notification_url")
    lifecycle.lines = lambda: line_logins(entry, configured_lines(entry).keys(), lifecycle.login_names)
    await lifecycle.async_adopt(known_url if isinstance(known_url, str) else None)
    return lifecycle


def line_logins(entry: ConfigEntry, user_ids: Iterable[int], learned: Mapping[int, str]) -> dict[int, str | None]:
    """Return the lines' login names where known, else None.

    A push's ``context.user.name`` is the login itself; else the lines step's: a line found
    by a 7.8 look-up keeps its number, whose login name is the number, "@" and the SIP
    domain (FOUND: the wiki's table of login names).
    """
    from_subentries: dict[int, str] = {}
    for sub in entry.subentries.values():
        if CONF_USER_ID not in sub.data:
            continue
        if login := sub.data.get(CONF_LOGIN_NAME):
            from_subentries[int(sub.data[CONF_USER_ID])] = str(login)
        elif (number := sub.data.get(CONF_NUMBER)) and str(number).startswith("+"):
            from_subentries[int(sub.data[CONF_USER_ID])] = f"{number}@{sip_domain(entry)}"
    return {user_id: learned.get(user_id) or from_subentries.get(user_id) for user_id in user_ids}
