"""Event entities: one ``call`` entity per line, fired for each finished call."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import CallLog
from .calls import CallEventType, signal_call
from .coordinator import LineConfig, VtxConfigEntry
from .entity import line_device_info

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one call event entity per line."""
    for line in entry.runtime_data.lines.values():
        async_add_entities([VtxCallEvent(entry, line)], config_subentry_id=line.subentry_id)


class VtxCallEvent(EventEntity):
    """Fires ``incoming_call``, ``outgoing_call`` or ``missed_call`` when a call ends."""

    _attr_has_entity_name = True
    _attr_translation_key = "call"
    _attr_event_types = [event_type.value for event_type in CallEventType]
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry, line: LineConfig) -> None:
        """Initialise."""
        self._entry_id = entry.entry_id
        self.line = line
        self._attr_unique_id = f"{line.user_id}_call"
        self._attr_device_info: DeviceInfo = line_device_info(entry, line)

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
