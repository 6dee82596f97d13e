"""Text entities: where each call forward of a line sends calls."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.text import TextEntity, TextEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Feature
from .const import DOMAIN, FEATURE_CFB, FEATURE_CFNR, FEATURE_CFTO, FEATURE_CFU, FEATURE_CFUNREG
from .coordinator import VtxFeatureCoordinator
from .data import LineConfig, VtxConfigEntry
from .entity import VtxLineEntity, async_add_feature_entities
from .helpers import vtx_exception_handler
from .util import normalize_destination

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class VtxDestinationEntityDescription(TextEntityDescription):
    """The destination of one forward feature."""

    feature: str


DESTINATIONS: tuple[VtxDestinationEntityDescription, ...] = tuple(
    VtxDestinationEntityDescription(
        key=f"{key}_destination",
        translation_key=f"{key}_destination",
        feature=feature,
        entity_category=EntityCategory.CONFIG,
        native_max=255,
        entity_registry_enabled_default=key == "call_forward_unconditional",
    )
    for key, feature in (
        ("call_forward_unconditional", FEATURE_CFU),
        ("call_forward_busy", FEATURE_CFB),
        ("call_forward_timeout", FEATURE_CFTO),
        ("call_forward_not_reachable", FEATURE_CFNR),
        ("call_forward_unregistered", FEATURE_CFUNREG),
    )
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the destination texts of every line's forwards."""
    coordinator = entry.runtime_data.features
    async_add_feature_entities(
        entry,
        async_add_entities,
        DESTINATIONS,
        lambda line, description: VtxDestinationText(coordinator, entry, line, description),
    )


class VtxDestinationText(VtxLineEntity[VtxFeatureCoordinator], TextEntity):
    """Reads and sets where a forward sends calls."""

    entity_description: VtxDestinationEntityDescription

    def __init__(
        self,
        coordinator: VtxFeatureCoordinator,
        entry: VtxConfigEntry,
        line: LineConfig,
        description: VtxDestinationEntityDescription,
    ) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, description)

    def _features_of(self, description: EntityDescription) -> frozenset[str] | None:
        """Made of its own feature only."""
        assert isinstance(description, VtxDestinationEntityDescription)
        return frozenset({description.feature})

    @property
    def _feature(self) -> Feature | None:
        return self.coordinator.feature(self.line.user_id, self.entity_description.feature)

    @property
    def available(self) -> bool:
        """Available while the forward and its data block are known."""
        feature = self._feature
        return super().available and feature is not None and feature.forward is not None

    def _state_source(self) -> object:
        return self._feature

    @property
    def native_value(self) -> str | None:
        """The forward's destination."""
        feature = self._feature
        forward = feature.forward if feature is not None else None
        return forward.destination_uri if forward is not None else None

    @vtx_exception_handler("write_failed", forbidden="write_forbidden", not_found="feature_not_available")
    async def async_set_value(self, value: str) -> None:
        """Set the destination (a phone number or a SIP URI); the forward's status stays."""
        destination = normalize_destination(value)
        if destination is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_destination",
                translation_placeholders={"destination": value},
            )
        feat_name = self.entity_description.feature

        def change(feature: Feature) -> Feature:
            # The API's copy, read just before the write, may have lost its data block.
            if feature.forward is None:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="destination_not_settable",
                    translation_placeholders={"feature": feat_name, "line": self.line.name},
                )
            return feature.with_destination(destination)

        await self.coordinator.async_write_feature(self.line, feat_name, change)
