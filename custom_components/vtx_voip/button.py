"""Buttons: put a line back to its baseline; check the line's stay out."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .billing.stays import StayManager
from .coordinator import VtxFeatureCoordinator
from .data import LineConfig, VtxConfigEntry
from .entity import VtxLineEntity, async_add_line_entities
from .helpers import vtx_exception_handler
from .lines.manager import LineManager

PARALLEL_UPDATES = 0

RESET_LINE = ButtonEntityDescription(key="reset_line", translation_key="reset_line")
CHECK_OUT = ButtonEntityDescription(key="check_out", translation_key="check_out", entity_registry_enabled_default=False)


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
        lambda line: [
            VtxResetLineButton(runtime.features, runtime.manager, entry, line),
            VtxCheckOutButton(runtime.features, runtime.stays, entry, line),
        ],
    )


class VtxResetLineButton(VtxLineEntity[VtxFeatureCoordinator], ButtonEntity):
    """Writes back every feature that differs from the line's baseline."""

    def __init__(
        self, coordinator: VtxFeatureCoordinator, manager: LineManager, entry: VtxConfigEntry, line: LineConfig
    ) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, RESET_LINE)
        self._manager = manager

    def _features_of(self, description: EntityDescription) -> frozenset[str] | None:
        """Made of no feature: only its availability follows the line."""
        return frozenset()

    def _state_source(self) -> object:
        # A button's state is its last press (written by Home Assistant): only its
        # availability follows the line.
        return None

    @vtx_exception_handler("write_failed", forbidden="write_forbidden", not_found="feature_not_available")
    async def async_press(self) -> None:
        """Reset the line."""
        await self._manager.async_reset(self.line)


class VtxCheckOutButton(VtxLineEntity[VtxFeatureCoordinator], ButtonEntity):
    """Checks the line's stay out, as ``vtx_voip.check_out`` does.

    The stays fire the bill as ``vtx_voip_check_out`` (the action's answer for this line,
    with the line's ``device_id``) at every check-out, for an automation (the check-out
    blueprint) to send on.
    """

    def __init__(
        self, coordinator: VtxFeatureCoordinator, stays: StayManager, entry: VtxConfigEntry, line: LineConfig
    ) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, CHECK_OUT)
        self._stays = stays

    def _features_of(self, description: EntityDescription) -> frozenset[str] | None:
        """Made of no feature (nor is its availability)."""
        return frozenset()

    @property
    def available(self) -> bool:
        """Always: the bill comes from the ledger, and a reset that fails is reported in it."""
        return True

    async def async_press(self) -> None:
        """Check the stay out (its bill is fired by the stays)."""
        await self._stays.async_check_out(self.line)
