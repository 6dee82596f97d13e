"""Buttons: put a line back to its baseline (check-out)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import LineConfig, VtxConfigEntry, VtxFeatureCoordinator
from .entity import VtxLineEntity
from .lines import LineManager

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one reset button per line."""
    runtime = entry.runtime_data
    assert runtime.manager is not None
    for line in runtime.lines.values():
        async_add_entities(
            [VtxResetLineButton(runtime.features, runtime.manager, entry, line)], config_subentry_id=line.subentry_id
        )


class VtxResetLineButton(VtxLineEntity[VtxFeatureCoordinator], ButtonEntity):
    """Writes back every feature that differs from the line's baseline."""

    def __init__(
        self, coordinator: VtxFeatureCoordinator, manager: LineManager, entry: VtxConfigEntry, line: LineConfig
    ) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, "reset_line")
        self._manager = manager

    async def async_press(self) -> None:
        """Reset the line."""
        await self._manager.async_reset(self.line)
