"""Switches: Do Not Disturb and the call forwards of each line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Feature
from .const import DOMAIN, FEATURE_CFB, FEATURE_CFNR, FEATURE_CFTO, FEATURE_CFU, FEATURE_CFUNREG, FEATURE_DND
from .coordinator import VtxFeatureCoordinator
from .data import LineConfig, VtxConfigEntry
from .entity import VtxLineEntity, async_add_feature_entities
from .helpers import vtx_exception_handler

PARALLEL_UPDATES = 0  # writes are serialised per line by the coordinator


@dataclass(frozen=True, kw_only=True)
class VtxSwitchEntityDescription(SwitchEntityDescription):
    """A switch bound to one feature (featName)."""

    feature: str
    needs_destination: bool = False


SWITCHES: tuple[VtxSwitchEntityDescription, ...] = (
    VtxSwitchEntityDescription(key="do_not_disturb", translation_key="do_not_disturb", feature=FEATURE_DND),
    VtxSwitchEntityDescription(
        key="call_forward_unconditional",
        translation_key="call_forward_unconditional",
        feature=FEATURE_CFU,
        needs_destination=True,
    ),
    VtxSwitchEntityDescription(
        key="call_forward_busy",
        translation_key="call_forward_busy",
        feature=FEATURE_CFB,
        needs_destination=True,
        entity_registry_enabled_default=False,
    ),
    VtxSwitchEntityDescription(
        key="call_forward_timeout",
        translation_key="call_forward_timeout",
        feature=FEATURE_CFTO,
        needs_destination=True,
        entity_registry_enabled_default=False,
    ),
    VtxSwitchEntityDescription(
        key="call_forward_not_reachable",
        translation_key="call_forward_not_reachable",
        feature=FEATURE_CFNR,
        needs_destination=True,
        entity_registry_enabled_default=False,
    ),
    VtxSwitchEntityDescription(
        key="call_forward_unregistered",
        translation_key="call_forward_unregistered",
        feature=FEATURE_CFUNREG,
        needs_destination=True,
        entity_registry_enabled_default=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the switches of every line, for the features it has."""
    coordinator = entry.runtime_data.features
    async_add_feature_entities(
        entry,
        async_add_entities,
        SWITCHES,
        lambda line, description: VtxFeatureSwitch(coordinator, entry, line, description),
    )


class VtxFeatureSwitch(VtxLineEntity[VtxFeatureCoordinator], SwitchEntity):
    """Switches one feature of a line on or off."""

    entity_description: VtxSwitchEntityDescription

    def __init__(
        self,
        coordinator: VtxFeatureCoordinator,
        entry: VtxConfigEntry,
        line: LineConfig,
        description: VtxSwitchEntityDescription,
    ) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, description)

    def _features_of(self, description: EntityDescription) -> frozenset[str] | None:
        """Made of its own feature only."""
        assert isinstance(description, VtxSwitchEntityDescription)
        return frozenset({description.feature})

    @property
    def _feature(self) -> Feature | None:
        return self.coordinator.feature(self.line.user_id, self.entity_description.feature)

    @property
    def available(self) -> bool:
        """Available while the line's features are current and it has this one."""
        return super().available and self._feature is not None

    def _state_source(self) -> object:
        return self._feature

    @property
    def is_on(self) -> bool | None:
        """Whether the feature is active."""
        feature = self._feature
        return feature.active if feature is not None else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The forward's destination, for cards and templates."""
        feature = self._feature
        if feature is None or not self.entity_description.needs_destination or feature.forward is None:
            return None
        return {"destination": feature.forward.destination_uri}

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the feature on."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch the feature off."""
        await self._async_set(False)

    @vtx_exception_handler("write_failed", forbidden="write_forbidden", not_found="feature_not_available")
    async def _async_set(self, active: bool) -> None:
        description = self.entity_description

        def change(feature: Feature) -> Feature:
            if active and description.needs_destination:
                forward = feature.forward
                if forward is None or not forward.destination_uri:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN,
                        translation_key="destination_missing",
                        translation_placeholders={"line": self.line.name},
                    )
            return feature.with_status(active)

        await self.coordinator.async_write_feature(self.line, description.feature, change)
