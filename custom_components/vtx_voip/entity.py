"""Base entities of the VTX VoIP integration."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import ACCOUNT_MODEL, DOMAIN, LINE_MODEL, MANUFACTURER
from .coordinator import LineConfig, VtxConfigEntry, VtxLinesCoordinator


def account_device_info(entry: VtxConfigEntry) -> DeviceInfo:
    """Return the device of the API account (a service)."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model=ACCOUNT_MODEL,
        sw_version=entry.runtime_data.server.build_version,
        entry_type=DeviceEntryType.SERVICE,
    )


def line_device_info(entry: VtxConfigEntry, line: LineConfig) -> DeviceInfo:
    """Return the device of one phone line."""
    return DeviceInfo(
        identifiers={(DOMAIN, str(line.user_id))},
        name=line.name,
        manufacturer=MANUFACTURER,
        model=LINE_MODEL,
        serial_number=str(line.user_id),
        via_device_id=entry.runtime_data.account_device_id,
    )


class VtxLineEntity[CoordinatorT: VtxLinesCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of one phone line, fed by one coordinator."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: CoordinatorT, entry: VtxConfigEntry, line: LineConfig, key: str) -> None:
        """Initialise for a line; ``key`` is the translation key and unique id suffix."""
        super().__init__(coordinator)
        self.line = line
        self._attr_translation_key = key
        self._attr_unique_id = f"{line.user_id}_{key}"
        self._attr_device_info = line_device_info(entry, line)

    @property
    def available(self) -> bool:
        """Available when this line's data is current."""
        return super().available and self.coordinator.line_available(self.line.user_id)
