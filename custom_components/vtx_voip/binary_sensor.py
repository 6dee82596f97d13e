"""Binary sensors: whether each line is on a call; whether push works."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import LineConfig, VtxConfigEntry, VtxPresenceCoordinator
from .entity import VtxLineEntity, account_device_info
from .presence import PresenceStatus, presence_status
from .push import signal_push

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up one on-call sensor per line."""
    runtime = entry.runtime_data
    async_add_entities([VtxPushBinarySensor(entry)])
    for line in runtime.lines.values():
        async_add_entities([VtxOnCallBinarySensor(runtime.presence, entry, line)], config_subentry_id=line.subentry_id)


class VtxOnCallBinarySensor(VtxLineEntity[VtxPresenceCoordinator], BinarySensorEntity):
    """On while the line is on the phone."""

    def __init__(self, coordinator: VtxPresenceCoordinator, entry: VtxConfigEntry, line: LineConfig) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, "on_call")

    @property
    def is_on(self) -> bool:
        """Whether the line is on a call."""
        return presence_status((self.coordinator.data or {}).get(self.line.user_id)) is PresenceStatus.ON_CALL


class VtxPushBinarySensor(BinarySensorEntity):
    """On while push notifications are known to work (else the entry polls)."""

    _attr_has_entity_name = True
    _attr_translation_key = "push"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry) -> None:
        """Initialise."""
        self._entry = entry
        self._attr_unique_id = f"{entry.entry_id}_push"
        self._attr_device_info = account_device_info(entry)

    async def async_added_to_hass(self) -> None:
        """Follow push health."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_push(self._entry.entry_id), self.async_write_ha_state)
        )

    @property
    def is_on(self) -> bool:
        """Whether push is healthy."""
        push = self._entry.runtime_data.push
        return push is not None and push.healthy
