"""Buttons: put a line back to its baseline (check-out)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import VtxFeatureCoordinator
from .data import LineConfig, VtxConfigEntry
from .entity import VtxLineEntity, async_add_line_entities
from .lines import LineManager

PARALLEL_UPDATES = 0

RESET_LINE = ButtonEntityDescription(key="reset_line", translation_key="reset_line")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one reset button per line (and for each line added later)."""
    runtime = entry.runtime_data
    async_add_line_entities(
        entry,
        async_add_entities,
        lambda line: [VtxResetLineButton(runtime.features, runtime.manager, entry, line)],
    )


class VtxResetLineButton(VtxLineEntity[VtxFeatureCoordinator], ButtonEntity):
    """Writes back every feature that differs from the line's baseline."""

    def __init__(
        self, coordinator: VtxFeatureCoordinator, manager: LineManager, entry: VtxConfigEntry, line: LineConfig
    ) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, RESET_LINE)
        self._manager = manager

    async def async_press(self) -> None:
        """Reset the line."""
        await self._manager.async_reset(self.line)
