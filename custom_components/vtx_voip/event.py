"""Event entities: one ``call`` entity per line, fired for each finished call."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import CallLog
from .billing.calls import CallEventType, signal_call
from .data import LineConfig, VtxConfigEntry
from .entity import async_add_line_entities, line_device_info

PARALLEL_UPDATES = 0

CALL_EVENT = EventEntityDescription(
    key="call",
    translation_key="call",
    event_types=[event_type.value for event_type in CallEventType],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one call event entity per line (and for each line added later)."""
    async_add_line_entities(entry, async_add_entities, lambda line: [VtxCallEvent(entry, line)])


class VtxCallEvent(EventEntity):
    """Fires ``incoming_call``, ``outgoing_call`` or ``missed_call`` when a call ends."""

    entity_description = CALL_EVENT
    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry, line: LineConfig) -> None:
        """Initialise."""
        self._entry_id = entry.entry_id
        self.line = line
        self._attr_unique_id = f"{line.user_id}_{CALL_EVENT.key}"
        self._attr_device_info = line_device_info(entry, line)

    async def async_added_to_hass(self) -> None:
        """Listen for this entry's calls."""
        await super().async_added_to_hass()
        self.async_on_remove(async_dispatcher_connect(self.hass, signal_call(self._entry_id), self._async_call))

    @callback
    def _async_call(self, user_id: int, call: CallLog, event_type: CallEventType) -> None:
        if user_id != self.line.user_id:
            return
        self._trigger_event(
            event_type.value,
            {
                "number": call.call_party_number,
                "dialled_number": call.call_party_dial_number,
                "start": call.call_start.isoformat() if call.call_start else None,
                "duration": call.duration,
                "call_id": call.id,
            },
        )
        self.async_write_ha_state()
