"""Base entities of the VTX VoIP integration."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import ACCOUNT_MODEL, DOMAIN, LINE_MODEL, MANUFACTURER
from .coordinator import LineConfig, VtxConfigEntry, VtxLinesCoordinator


class FeatureDescription(Protocol):
    """An entity description bound to one feature (featName)."""

    @property
    def key(self) -> str:
        """The description's key."""

    @property
    def feature(self) -> str:
        """The featName."""


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


@callback
def async_add_feature_entities[D: FeatureDescription](
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[D],
    factory: Callable[[LineConfig, D], Entity],
) -> None:
    """Add an entity per description for every line that has its feature.

    Only features a line has get entities; a line whose features could not be read at
    set-up (or a feature the API lists later) gets them as soon as they are known.
    """
    coordinator = entry.runtime_data.features
    descriptions = tuple(descriptions)
    added: set[tuple[int, str]] = set()

    @callback
    def add_new() -> None:
        for line in entry.runtime_data.lines.values():
            features = (coordinator.data or {}).get(line.user_id)
            if not features:
                continue
            new = [d for d in descriptions if d.feature in features and (line.user_id, d.key) not in added]
            if new:
                added.update((line.user_id, description.key) for description in new)
                async_add_entities(
                    [factory(line, description) for description in new], config_subentry_id=line.subentry_id
                )

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))
