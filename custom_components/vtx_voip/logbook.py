"""Logbook: one readable line per finished call ("Room 102: missed call from +41 79 111 22 33").

The texts are the ``logbook`` selector of the integration's translations in Home
Assistant's language (loaded at set-up), English when a text is missing.
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
from .billing.calls import EVENT_CALL, CallEventType
from .const import DOMAIN

# The logbook's texts by event type, as in strings.json (selector "logbook").
FALLBACK: Final[dict[str, str]] = {
    CallEventType.MISSED.value: "missed call from {number}",
    CallEventType.INCOMING.value: "incoming call from {number} ({duration})",
    CallEventType.OUTGOING.value: "outgoing call to {number} ({duration})",
    "unknown_number": "an unknown number",
}
TRANSLATION_PREFIX: Final = f"component.{DOMAIN}.selector.logbook.options."


def format_duration(seconds: int) -> str:
    """Return a call's duration as ``m:ss`` (``h:mm:ss`` from an hour on)."""
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _text(hass: HomeAssistant, key: str) -> str:
    texts = async_get_cached_translations(hass, hass.config.language, "selector", DOMAIN)
    return texts.get(TRANSLATION_PREFIX + key) or FALLBACK[key]


@callback
def async_describe_call(hass: HomeAssistant, event: Event[dict[str, Any]]) -> dict[str, str]:
    """Describe one ``vtx_voip_call`` event for the logbook."""
    data = event.data
    event_type = str(data.get("type"))
    if event_type not in FALLBACK or event_type == "unknown_number":
        event_type = CallEventType.INCOMING.value
    raw_number = data.get("number") or data.get("dialled_number")
    number = format_number(str(raw_number).strip()) if raw_number else _text(hass, "unknown_number")
    duration = data.get("duration")
    message = _text(hass, event_type).format(
        number=number, duration=format_duration(duration if isinstance(duration, int) else 0)
    )
    description = {LOGBOOK_ENTRY_NAME: str(data.get("line") or data.get("user_id")), LOGBOOK_ENTRY_MESSAGE: message}
    if (user_id := data.get("user_id")) is not None and (
        entity_id := er.async_get(hass).async_get_entity_id(Platform.EVENT, DOMAIN, f"{user_id}_call")
    ):
        description[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
    return description


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event[dict[str, Any]]], dict[str, str]]], None],
) -> None:
    """Describe the integration's events."""
    async_describe_event(DOMAIN, EVENT_CALL, lambda event: async_describe_call(hass, event))
