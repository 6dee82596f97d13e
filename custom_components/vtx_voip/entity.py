"""Base entities of the VTX VoIP integration, and how line entities are added."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import ACCOUNT_MODEL, DOMAIN, LINE_MODEL, MANUFACTURER
from .coordinator import FeatureContext, VtxLinesCoordinator
from .data import LineConfig, VtxConfigEntry


class FeatureDescription(Protocol):
    """An entity description bound to one feature (featName)."""

    @property
    def key(self) -> str:
        """The description's key."""

    @property
    def feature(self) -> str:
        """The featName."""


# The state source of an entity whose state is written at every update.
UNTRACKED: Final = object()


def signal_line_added(entry_id: str) -> str:
    """Dispatcher signal sent with the ``LineConfig`` of a line added to a loaded entry."""
    return f"{DOMAIN}_{entry_id}_line_added"


def account_device_info(entry: VtxConfigEntry, sw_version: str) -> DeviceInfo:
    """Return the device of the API account (a service)."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model=ACCOUNT_MODEL,
        sw_version=sw_version,
        entry_type=DeviceEntryType.SERVICE,
    )


def line_device_info(entry: VtxConfigEntry, line: LineConfig) -> DeviceInfo:
    """Return the device of one phone line (below the account device)."""
    return DeviceInfo(
        identifiers={(DOMAIN, str(line.user_id))},
        name=line.name,
        manufacturer=MANUFACTURER,
        model=LINE_MODEL,
        serial_number=str(line.user_id),
        via_device_id=entry.runtime_data.account_device_id,
    )


class VtxAccountEntity(Entity):
    """An entity of the API account, on the account (service) device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: VtxConfigEntry, description: EntityDescription) -> None:
        """Initialise."""
        self.entity_description = description
        self._entry = entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = account_device_info(entry, entry.runtime_data.server.build_version)


class VtxLineEntity[CoordinatorT: VtxLinesCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of one phone line, fed by one coordinator."""

    _attr_has_entity_name = True
    # What the state was last written from (see ``_state_source``).
    _written: object = UNTRACKED

    def __init__(
        self, coordinator: CoordinatorT, entry: VtxConfigEntry, line: LineConfig, description: EntityDescription
    ) -> None:
        """Initialise for a line; the description's key is the unique id suffix.

        The line's userId is the coordinator context: a change of one line updates that
        line's entities only; an entity made of some features only (``_features_of``)
        is not updated when another feature of its line changed.
        """
        features = self._features_of(description)
        super().__init__(
            coordinator, context=line.user_id if features is None else FeatureContext(line.user_id, features)
        )
        self.entity_description = description
        self.line = line
        self._attr_unique_id = f"{line.user_id}_{description.key}"
        self._attr_device_info = line_device_info(entry, line)

    def _features_of(self, description: EntityDescription) -> frozenset[str] | None:
        """Return the features (featNames) of its line this entity is made of; None: any of its line's data."""
        return None

    @property
    def available(self) -> bool:
        """Available when this line's data is current (confirmed recently, even while a poll fails)."""
        return self.coordinator.line_available(self.line.user_id)

    def _state_source(self) -> object:
        """Return what this entity's state is made of, compared at each update of its line.

        ``UNTRACKED`` (the default): the state is written at every update. Entities that
        return their feature (or value) are written only when it or their availability
        changed: a push changes one feature, and the line's other entities stay as they
        are without the cost of a state write (what a push storm at 500 lines spends).
        """
        return UNTRACKED

    async def async_added_to_hass(self) -> None:
        """Note what the first state (written once this returns) is made of."""
        await super().async_added_to_hass()
        if (source := self._state_source()) is not UNTRACKED:
            self._written = (self.available, source)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state, unless nothing it is made of changed."""
        if (source := self._state_source()) is not UNTRACKED:
            fingerprint = (self.available, source)
            if fingerprint == self._written:
                return
            self._written = fingerprint
        super()._handle_coordinator_update()


@callback
def async_add_line_entities(
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[LineConfig], Iterable[Entity]],
) -> None:
    """Add a platform's entities for every line now, and for each line added later."""

    @callback
    def add(line: LineConfig) -> None:
        if entities := list(factory(line)):
            async_add_entities(entities, config_subentry_id=line.subentry_id)

    for line in entry.runtime_data.lines.values():
        add(line)
    entry.async_on_unload(
        async_dispatcher_connect(entry.runtime_data.features.hass, signal_line_added(entry.entry_id), add)
    )


@callback
def async_add_feature_entities[D: FeatureDescription](
    entry: VtxConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[D],
    factory: Callable[[LineConfig, D], Entity],
) -> None:
    """Add an entity per description for every line that has its feature.

    Only features a line has get entities; a line whose features could not be read at
    set-up, a line added later, or a feature the API lists later gets them as soon as its
    features are known.
    """
    runtime = entry.runtime_data
    coordinator = runtime.features
    descriptions = tuple(descriptions)
    # userId -> (its sub-entry, the description keys added): a line removed and added
    # again (a new sub-entry, maybe before any listener ran in between) gets its
    # entities anew.
    added: dict[int, tuple[str, set[str]]] = {}

    @callback
    def add_line(line: LineConfig) -> None:
        if not (features := coordinator.line_data(line.user_id)):
            return
        held = added.get(line.user_id)
        if held is None or held[0] != line.subentry_id:
            held = added[line.user_id] = (line.subentry_id, set())
        keys = held[1]
        if new := [d for d in descriptions if d.key not in keys and d.feature in features]:
            keys.update(description.key for description in new)
            async_add_entities([factory(line, description) for description in new], config_subentry_id=line.subentry_id)

    @callback
    def add_new(user_id: int | None) -> None:
        """Add what a line's change (or, with None, a poll of every line) made known."""
        if user_id is not None:
            if (line := runtime.lines.get(user_id)) is not None:
                add_line(line)
            return
        for gone in added.keys() - runtime.lines.keys():
            del added[gone]
        for line in runtime.lines.values():
            add_line(line)

    add_new(None)
    entry.async_on_unload(coordinator.async_add_line_change_listener(add_new))
