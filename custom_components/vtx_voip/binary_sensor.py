"""Binary sensors: whether each line is on a call; whether push works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Presence
from .coordinator import VtxPresenceCoordinator
from .data import VtxConfigEntry, VtxRuntimeData
from .entity import VtxAccountEntity, VtxLineEntity, async_add_line_entities
from .presence import PresenceStatus, presence_status
from .push import signal_push

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class VtxPresenceBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A line binary sensor derived from the line's presence."""

    is_on_fn: Callable[[Presence | None], bool | None]


@dataclass(frozen=True, kw_only=True)
class VtxAccountBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of the API account, updated when push health changes."""

    is_on_fn: Callable[[VtxRuntimeData], bool]
    attributes_fn: Callable[[VtxRuntimeData], dict[str, Any]] | None = None


PRESENCE_BINARY_SENSORS: tuple[VtxPresenceBinarySensorEntityDescription, ...] = (
    VtxPresenceBinarySensorEntityDescription(
        key="on_call",
        translation_key="on_call",
        is_on_fn=lambda presence: (
            None if (status := presence_status(presence)) is None else status is PresenceStatus.ON_CALL
        ),
    ),
)

ACCOUNT_BINARY_SENSORS: tuple[VtxAccountBinarySensorEntityDescription, ...] = (
    VtxAccountBinarySensorEntityDescription(
        key="push",
        translation_key="push",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda runtime: runtime.push.healthy,
        # Which resources' push proved silent (polled meanwhile): feature, call_log, presence.
        attributes_fn=lambda runtime: {"silent": runtime.push.silent_resources},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the account's binary sensors and those of every line."""
    presence = entry.runtime_data.presence
    async_add_entities(VtxAccountBinarySensor(entry, description) for description in ACCOUNT_BINARY_SENSORS)
    async_add_line_entities(
        entry,
        async_add_entities,
        lambda line: [
            VtxPresenceBinarySensor(presence, entry, line, description) for description in PRESENCE_BINARY_SENSORS
        ],
    )


class VtxPresenceBinarySensor(VtxLineEntity[VtxPresenceCoordinator], BinarySensorEntity):
    """A binary sensor of a line's presence."""

    entity_description: VtxPresenceBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """The value derived from the presence (unknown while the presence is)."""
        return self.entity_description.is_on_fn(self.coordinator.line_data(self.line.user_id))


class VtxAccountBinarySensor(VtxAccountEntity, BinarySensorEntity):
    """A binary sensor of the account."""

    entity_description: VtxAccountBinarySensorEntityDescription

    _written: tuple[bool, dict[str, Any] | None] | None = None

    async def async_added_to_hass(self) -> None:
        """Follow push health."""
        await super().async_added_to_hass()
        self._written = (self.is_on, self.extra_state_attributes)
        self.async_on_remove(async_dispatcher_connect(self.hass, signal_push(self._entry.entry_id), self._async_push))

    @callback
    def _async_push(self) -> None:
        """Write the state when it or its attributes changed (not at every push)."""
        if (value := (self.is_on, self.extra_state_attributes)) != self._written:
            self._written = value
            self.async_write_ha_state()

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The account's attributes (push: which resources are silent)."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self._entry.runtime_data)

    @property
    def is_on(self) -> bool:
        """The account's value."""
        return self.entity_description.is_on_fn(self._entry.runtime_data)
