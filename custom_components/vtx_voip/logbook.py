"""Logbook: a late charge is one readable line ("Room 101: late charge for the stay of ...").

A finished call is one line already: the state change of the line's ``call`` event
entity (its event type translated); ``vtx_voip_call`` is not described as well, or each
call would be in the logbook twice. The texts are the ``logbook`` selector of the
integration's translations in Home Assistant's language (loaded at set-up), English when
a text is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_ENTITY_ID, LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.translation import async_get_cached_translations

from .api.numbers import format_number
from .billing.bill import format_duration
from .billing.calls import CallEventType
from .billing.stays import EVENT_LATE_CHARGE
from .const import DOMAIN

# The logbook's texts by event type, as in strings.json (selector "logbook").
FALLBACK: Final[dict[str, str]] = {
    CallEventType.MISSED.value: "missed call from {number}",
    CallEventType.INCOMING.value: "incoming call from {number} ({duration})",
    CallEventType.OUTGOING.value: "outgoing call to {number} ({duration})",
    "unknown_number": "an unknown number",
    "late_charge": "late charge for the stay of {guest}: {call} ({cost})",
    "unknown_guest": "an unnamed guest",
}
CALL_TYPES: Final = frozenset(event_type.value for event_type in CallEventType)
TRANSLATION_PREFIX: Final = f"component.{DOMAIN}.selector.logbook.options."


def _text(hass: HomeAssistant, key: str) -> str:
    texts = async_get_cached_translations(hass, hass.config.language, "selector", DOMAIN)
    return texts.get(TRANSLATION_PREFIX + key) or FALLBACK[key]


def _call_text(hass: HomeAssistant, data: dict[str, Any]) -> str:
    """Say one call: its kind, the other party's number (grouped), its length."""
    event_type = str(data.get("type"))
    if event_type not in CALL_TYPES:
        event_type = CallEventType.INCOMING.value
    raw_number = data.get("number") or data.get("dialled_number")
    number = format_number(str(raw_number).strip()) if raw_number else _text(hass, "unknown_number")
    duration = data.get("duration")
    return _text(hass, event_type).format(
        number=number, duration=format_duration(duration if isinstance(duration, int) else 0)
    )


def _entity_id(hass: HomeAssistant, user_id: Any) -> str | None:
    if user_id is None:
        return None
    return er.async_get(hass).async_get_entity_id(Platform.EVENT, DOMAIN, f"{user_id}_call")


@callback
def async_describe_late_charge(hass: HomeAssistant, event: Event[dict[str, Any]]) -> dict[str, str]:
    """Describe one ``vtx_voip_late_charge`` event: the stay's guest, the call, its cost."""
    data = event.data
    found = data.get("call")
    row: dict[str, Any] = found if isinstance(found, dict) else {}
    cost = row.get("cost")
    message = _text(hass, "late_charge").format(
        guest=data.get("guest") or _text(hass, "unknown_guest"),
        call=_call_text(hass, row),
        cost=f"{data.get('currency') or ''} {cost if isinstance(cost, (int, float)) else 0:.2f}".strip(),
    )
    description = {LOGBOOK_ENTRY_NAME: str(data.get("line") or data.get("user_id")), LOGBOOK_ENTRY_MESSAGE: message}
    if entity_id := _entity_id(hass, data.get("user_id")):
        description[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
    return description


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event[dict[str, Any]]], dict[str, str]]], None],
) -> None:
    """Describe the integration's events."""
    async_describe_event(DOMAIN, EVENT_LATE_CHARGE, lambda event: async_describe_late_charge(hass, event))
