"""Sensors: presence, line status, calls and stay of each line; API version and last push of the account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .api import CallLog, Presence
from .billing.calls import CallEventType, CallTracker, signal_call
from .billing.stays import StayTotals, signal_stay
from .const import FEATURE_CFU, FEATURE_DND
from .coordinator import FeatureContext, VtxFeatureCoordinator, VtxPresenceCoordinator
from .data import LineConfig, VtxConfigEntry, VtxRuntimeData
from .entity import VtxAccountEntity, VtxLineEntity, async_add_line_entities, line_device_info
from .presence import LineStatus, PresenceStatus, line_status, presence_status
from .push import signal_push

PARALLEL_UPDATES = 0


def _presence_attributes(presence: Presence | None) -> dict[str, Any]:
    state = presence.effective if presence is not None else None
    return {
        "activity": state.activity if state else None,
        "enhanced_activity": state.enhanced_activity if state else None,
        "since": state.modified_on.isoformat() if state and state.modified_on else None,
    }


@dataclass(frozen=True, kw_only=True)
class VtxPresenceSensorEntityDescription(SensorEntityDescription):
    """A line sensor derived from the line's presence."""

    value_fn: Callable[[Presence | None], StateType]
    attributes_fn: Callable[[Presence | None], dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class VtxCallSensorEntityDescription(SensorEntityDescription):
    """A line sensor kept by the call tracker."""

    value_fn: Callable[[CallTracker, int], StateType | datetime]


@dataclass(frozen=True, kw_only=True)
class VtxAccountSensorEntityDescription(SensorEntityDescription):
    """A sensor of the API account."""

    value_fn: Callable[[VtxRuntimeData], StateType]


PRESENCE_SENSORS: tuple[VtxPresenceSensorEntityDescription, ...] = (
    VtxPresenceSensorEntityDescription(
        key="presence",
        translation_key="presence",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in PresenceStatus],
        value_fn=lambda presence: status.value if (status := presence_status(presence)) else None,
        attributes_fn=_presence_attributes,
    ),
)

LINE_STATUS_SENSOR = SensorEntityDescription(
    key="line_status",
    translation_key="line_status",
    device_class=SensorDeviceClass.ENUM,
    options=[status.value for status in LineStatus],
)

CALL_SENSORS: tuple[VtxCallSensorEntityDescription, ...] = (
    VtxCallSensorEntityDescription(
        key="last_call",
        translation_key="last_call",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda calls, user_id: calls.last_call.get(user_id),
    ),
    VtxCallSensorEntityDescription(
        key="outgoing_call_time",
        translation_key="outgoing_call_time",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=1,
        value_fn=lambda calls, user_id: calls.outgoing_seconds.get(user_id, 0),
    ),
)


@dataclass(frozen=True, kw_only=True)
class VtxStaySensorEntityDescription(SensorEntityDescription):
    """A line sensor of the current stay (unknown while no stay is open)."""

    value_fn: Callable[[StayTotals], StateType | Decimal]


STAY_SENSORS: tuple[VtxStaySensorEntityDescription, ...] = (
    VtxStaySensorEntityDescription(
        key="stay_call_cost",
        translation_key="stay_call_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda stay: stay.cost,
    ),
    VtxStaySensorEntityDescription(
        key="stay_calls",
        translation_key="stay_calls",
        value_fn=lambda stay: stay.calls,
    ),
)

ACCOUNT_SENSORS: tuple[VtxAccountSensorEntityDescription, ...] = (
    VtxAccountSensorEntityDescription(
        key="api_version",
        translation_key="api_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda runtime: runtime.server.build_version,
    ),
)

LAST_PUSH_SENSOR = SensorEntityDescription(
    key="last_push",
    translation_key="last_push",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the account's sensors and those of every line (and of lines added later)."""
    runtime = entry.runtime_data
    async_add_entities(
        [
            *(VtxAccountSensor(entry, description) for description in ACCOUNT_SENSORS),
            VtxLastPushSensor(entry, LAST_PUSH_SENSOR),
        ]
    )

    def line_sensors(line: LineConfig) -> list[SensorEntity]:
        return [
            *(VtxPresenceSensor(runtime.presence, entry, line, description) for description in PRESENCE_SENSORS),
            VtxLineStatusSensor(runtime.presence, runtime.features, entry, line, LINE_STATUS_SENSOR),
            *(VtxCallSensor(entry, line, description) for description in CALL_SENSORS),
            *(VtxStaySensor(entry, line, description) for description in STAY_SENSORS),
        ]

    async_add_line_entities(entry, async_add_entities, line_sensors)


class VtxPresenceSensor(VtxLineEntity[VtxPresenceCoordinator], SensorEntity):
    """A sensor of a line's presence."""

    entity_description: VtxPresenceSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The value derived from the presence."""
        return self.entity_description.value_fn(self.coordinator.line_data(self.line.user_id))

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The API's own values, and since when they hold."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.coordinator.line_data(self.line.user_id))


class VtxLineStatusSensor(VtxLineEntity[VtxPresenceCoordinator], SensorEntity):
    """One state for a board: presence merged with DND and the unconditional forward.

    Follows both coordinators; available when the line's features are current. Unknown
    while the line's presence is (not read, or unknown to the API).
    """

    def __init__(
        self,
        coordinator: VtxPresenceCoordinator,
        features: VtxFeatureCoordinator,
        entry: VtxConfigEntry,
        line: LineConfig,
        description: SensorEntityDescription,
    ) -> None:
        """Initialise; ``features`` is the line's other source."""
        super().__init__(coordinator, entry, line, description)
        self._features = features

    async def async_added_to_hass(self) -> None:
        """Also follow the feature coordinator."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._features.async_add_listener(
                self._handle_coordinator_update,
                FeatureContext(self.line.user_id, frozenset({FEATURE_DND, FEATURE_CFU})),
            )
        )

    @property
    def available(self) -> bool:
        """Available when the line's features are current."""
        return self._features.line_available(self.line.user_id)

    def _state_source(self) -> object:
        return self.native_value

    @property
    def native_value(self) -> str | None:
        """The merged status (unknown while the presence is)."""
        user_id = self.line.user_id
        presence = (
            presence_status(self.coordinator.line_data(user_id)) if self.coordinator.line_available(user_id) else None
        )
        dnd = self._features.feature(user_id, FEATURE_DND)
        cfu = self._features.feature(user_id, FEATURE_CFU)
        status = line_status(
            presence,
            dnd=dnd is not None and dnd.active,
            forwarded=cfu is not None and cfu.active,
        )
        return None if status is None else status.value


class VtxCallSensor(SensorEntity):
    """A line sensor fed by the call tracker (kept across restarts by it)."""

    entity_description: VtxCallSensorEntityDescription
    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry, line: LineConfig, description: VtxCallSensorEntityDescription) -> None:
        """Initialise."""
        self.entity_description = description
        self._entry = entry
        self.line = line
        self._attr_unique_id = f"{line.user_id}_{description.key}"
        self._attr_device_info = line_device_info(entry, line)

    async def async_added_to_hass(self) -> None:
        """Update when a call of this line is handled."""
        await super().async_added_to_hass()
        self.async_on_remove(async_dispatcher_connect(self.hass, signal_call(self._entry.entry_id), self._async_call))

    @callback
    def _async_call(self, user_id: int, call: CallLog, event_type: CallEventType) -> None:
        if user_id == self.line.user_id:
            self.async_write_ha_state()

    @property
    def native_value(self) -> StateType | datetime:
        """The tracker's value for this line."""
        return self.entity_description.value_fn(self._entry.runtime_data.calls, self.line.user_id)


class VtxStaySensor(SensorEntity):
    """A line sensor of its current stay (kept in the ledger, so across restarts)."""

    entity_description: VtxStaySensorEntityDescription
    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry, line: LineConfig, description: VtxStaySensorEntityDescription) -> None:
        """Initialise."""
        self.entity_description = description
        self._entry = entry
        self.line = line
        self._attr_unique_id = f"{line.user_id}_{description.key}"
        self._attr_device_info = line_device_info(entry, line)

    async def async_added_to_hass(self) -> None:
        """Update when the line's stay or its totals change."""
        await super().async_added_to_hass()
        self.async_on_remove(async_dispatcher_connect(self.hass, signal_stay(self._entry.entry_id), self._async_stay))

    @callback
    def _async_stay(self, user_id: int) -> None:
        if user_id == self.line.user_id:
            self.async_write_ha_state()

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Home Assistant's currency for the cost."""
        if self.entity_description.device_class is SensorDeviceClass.MONETARY:
            return self.hass.config.currency
        return None

    @property
    def native_value(self) -> StateType | Decimal:
        """The stay's value; unknown while no stay is open."""
        stay = self._entry.runtime_data.stays.stay_of(self.line.user_id)
        return None if stay is None else self.entity_description.value_fn(stay)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The stay's guest and start."""
        stay = self._entry.runtime_data.stays.stay_of(self.line.user_id)
        if stay is None:
            return {"stay_id": None, "guest": None, "since": None}
        return {
            "stay_id": stay.stay.stay_id,
            "guest": stay.stay.guest,
            "since": dt_util.utc_from_timestamp(stay.stay.start).isoformat(),
        }


class VtxAccountSensor(VtxAccountEntity, SensorEntity):
    """A sensor of the API account."""

    entity_description: VtxAccountSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The account's value."""
        return self.entity_description.value_fn(self._entry.runtime_data)


def _to_the_minute(value: datetime | None) -> datetime | None:
    return value.replace(second=0, microsecond=0) if value is not None else None


class VtxLastPushSensor(VtxAccountEntity, RestoreSensor):
    """When the API last pushed something, to the minute (kept across restarts).

    Pushes can arrive every second. Home Assistant has no way to keep an entity's state
    out of the recorder and the logbook (``_unrecorded_attributes`` covers attributes
    only, and a timestamp sensor cannot have a state class, which is what makes the
    logbook skip a sensor), so the state changes at most once a minute: the logbook gets
    at most one line a minute and the recorder one row. The exact time is in the
    diagnostics.
    """

    _restored: datetime | None = None
    _written: datetime | None = None

    async def async_added_to_hass(self) -> None:
        """Restore the last value; follow push."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None and isinstance(last.native_value, datetime):
            self._restored = last.native_value
        self._written = self.native_value
        self.async_on_remove(async_dispatcher_connect(self.hass, signal_push(self._entry.entry_id), self._async_push))

    @callback
    def _async_push(self) -> None:
        """Write the state only when the minute changed."""
        if (value := self.native_value) != self._written:
            self._written = value
            self.async_write_ha_state()

    @property
    def native_value(self) -> datetime | None:
        """The minute of the last accepted push (before a restart, if none since)."""
        return _to_the_minute(self._entry.runtime_data.push.last_push or self._restored)
