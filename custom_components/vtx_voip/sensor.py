"""Sensors: presence and merged line status per line; API version of the account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.sensor import RestoreSensor, SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import CallLog
from .calls import CallEventType, CallTracker, signal_call
from .const import FEATURE_CFU, FEATURE_DND
from .coordinator import LineConfig, VtxConfigEntry, VtxFeatureCoordinator, VtxPresenceCoordinator
from .entity import VtxLineEntity, account_device_info, line_device_info
from .presence import LineStatus, PresenceStatus, line_status, presence_status
from .push import PushManager, signal_push

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors."""
    runtime = entry.runtime_data
    assert runtime.calls is not None
    async_add_entities([VtxApiVersionSensor(entry), VtxLastPushSensor(entry)])
    for line in runtime.lines.values():
        async_add_entities(
            [
                VtxPresenceSensor(runtime.presence, entry, line),
                VtxLineStatusSensor(runtime.presence, runtime.features, entry, line),
                VtxLastCallSensor(runtime.calls, entry, line),
                VtxOutgoingCallTimeSensor(runtime.calls, entry, line),
            ],
            config_subentry_id=line.subentry_id,
        )


class VtxPresenceSensor(VtxLineEntity[VtxPresenceCoordinator], SensorEntity):
    """Whether the line is available, on a call, offline (or unknown)."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [status.value for status in PresenceStatus]

    def __init__(self, coordinator: VtxPresenceCoordinator, entry: VtxConfigEntry, line: LineConfig) -> None:
        """Initialise."""
        super().__init__(coordinator, entry, line, "presence")

    @property
    def native_value(self) -> str:
        """The mapped presence."""
        return presence_status((self.coordinator.data or {}).get(self.line.user_id)).value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The API's own values, and since when they hold."""
        presence = (self.coordinator.data or {}).get(self.line.user_id)
        state = presence.effective if presence is not None else None
        return {
            "activity": state.activity if state else None,
            "enhanced_activity": state.enhanced_activity if state else None,
            "since": state.modified_on.isoformat() if state and state.modified_on else None,
        }


class VtxLineStatusSensor(VtxLineEntity[VtxPresenceCoordinator], SensorEntity):
    """One state for a board: presence merged with DND and the unconditional forward."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [status.value for status in LineStatus]

    def __init__(
        self,
        coordinator: VtxPresenceCoordinator,
        features: VtxFeatureCoordinator,
        entry: VtxConfigEntry,
        line: LineConfig,
    ) -> None:
        """Initialise; follows both coordinators."""
        super().__init__(coordinator, entry, line, "line_status")
        self._features = features

    async def async_added_to_hass(self) -> None:
        """Also follow the feature coordinator."""
        await super().async_added_to_hass()
        self.async_on_remove(self._features.async_add_listener(self._handle_coordinator_update))

    @property
    def available(self) -> bool:
        """Available when the line's features are current (presence may be unknown)."""
        return self._features.line_available(self.line.user_id)

    @property
    def native_value(self) -> str:
        """The merged status."""
        presence = (
            presence_status((self.coordinator.data or {}).get(self.line.user_id))
            if self.coordinator.line_available(self.line.user_id)
            else None
        )
        dnd = self._features.feature(self.line.user_id, FEATURE_DND)
        cfu = self._features.feature(self.line.user_id, FEATURE_CFU)
        return line_status(
            presence,
            dnd=dnd is not None and dnd.active,
            forwarded=cfu is not None and cfu.active,
        ).value

    @callback
    def _handle_coordinator_update(self) -> None:
        self.async_write_ha_state()


class VtxApiVersionSensor(SensorEntity):
    """The platform's build version, on the account device."""

    _attr_has_entity_name = True
    _attr_translation_key = "api_version"
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry) -> None:
        """Initialise from the server info read at set-up."""
        self._attr_unique_id = f"{entry.entry_id}_api_version"
        self._attr_device_info = account_device_info(entry)
        self._attr_native_value = entry.runtime_data.server.build_version


class VtxLastPushSensor(RestoreSensor):
    """When the API last pushed something, on the account device (kept across restarts)."""

    _attr_has_entity_name = True
    _attr_translation_key = "last_push"
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry) -> None:
        """Initialise."""
        self._entry = entry
        self._restored: datetime | None = None
        self._attr_unique_id = f"{entry.entry_id}_last_push"
        self._attr_device_info = account_device_info(entry)

    async def async_added_to_hass(self) -> None:
        """Restore the last value; follow push health."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None and isinstance(last.native_value, datetime):
            self._restored = last.native_value
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_push(self._entry.entry_id), self.async_write_ha_state)
        )

    @property
    def _push(self) -> PushManager | None:
        return self._entry.runtime_data.push

    @property
    def native_value(self) -> datetime | None:
        """The time of the last accepted push (before a restart, if none since)."""
        if self._push is not None and self._push.last_push is not None:
            return self._push.last_push
        return self._restored


class _VtxCallSensor(SensorEntity):
    """A per-line sensor fed by the call tracker."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, calls: CallTracker, entry: VtxConfigEntry, line: LineConfig, key: str) -> None:
        self._calls = calls
        self._entry_id = entry.entry_id
        self.line = line
        self._attr_translation_key = key
        self._attr_unique_id = f"{line.user_id}_{key}"
        self._attr_device_info = line_device_info(entry, line)

    async def async_added_to_hass(self) -> None:
        """Update when a call of this line is handled."""
        await super().async_added_to_hass()
        self.async_on_remove(async_dispatcher_connect(self.hass, signal_call(self._entry_id), self._async_call))

    @callback
    def _async_call(self, user_id: int, call: CallLog, event_type: CallEventType) -> None:
        if user_id == self.line.user_id:
            self.async_write_ha_state()


class VtxLastCallSensor(_VtxCallSensor):
    """When the line's last call started."""

    _attr_device_class = SensorDeviceClass.TIMESTAMP

    def __init__(self, calls: CallTracker, entry: VtxConfigEntry, line: LineConfig) -> None:
        """Initialise."""
        super().__init__(calls, entry, line, "last_call")

    @property
    def native_value(self) -> datetime | None:
        """The start of the last call."""
        return self._calls.last_call.get(self.line.user_id)


class VtxOutgoingCallTimeSensor(_VtxCallSensor):
    """Total time of the line's outgoing calls, for billing and long-term statistics."""

    _attr_device_class = SensorDeviceClass.DURATION
    _attr_state_class = SensorStateClass.TOTAL_INCREASING
    _attr_native_unit_of_measurement = UnitOfTime.SECONDS
    _attr_suggested_unit_of_measurement = UnitOfTime.MINUTES
    _attr_suggested_display_precision = 1

    def __init__(self, calls: CallTracker, entry: VtxConfigEntry, line: LineConfig) -> None:
        """Initialise."""
        super().__init__(calls, entry, line, "outgoing_call_time")

    @property
    def native_value(self) -> int:
        """Seconds of outgoing calls so far (kept across restarts by the call tracker)."""
        return self._calls.outgoing_seconds.get(self.line.user_id, 0)
