"""What a loaded entry holds: its lines and the one runtime data object that owns the rest.

This module imports none of the parts it names at runtime, so that the coordinators, the
call tracker, the line manager and push can each import ``LineConfig`` and
``VtxConfigEntry`` from here without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from .billing.tariffs import BILLING_OPTIONS
from .const import CONF_LINE_NAME, CONF_SIP_DOMAIN, CONF_USER_ID, SUBENTRY_TYPE_LINE

if TYPE_CHECKING:
    from .api import ServerInfo, VtxClient
    from .billing.calls import CallTracker
    from .billing.stays import StayManager
    from .coordinator import VtxFeatureCoordinator, VtxPresenceCoordinator
    from .lines.manager import LineManager
    from .push import PushManager


@dataclass(slots=True)
class LineConfig:
    """A phone line as configured by a sub-entry.

    One object per line for the life of the entry: a rename changes ``name`` in place, so
    every entity and action holding the line sees the new name.
    """

    user_id: int
    name: str
    subentry_id: str

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> LineConfig:
        """Read a line sub-entry."""
        return cls(
            user_id=int(subentry.data[CONF_USER_ID]),
            name=str(subentry.data.get(CONF_LINE_NAME) or subentry.title),
            subentry_id=subentry.subentry_id,
        )


def configured_lines(entry: ConfigEntry) -> dict[int, LineConfig]:
    """Return the lines an entry's sub-entries configure, by userId."""
    lines = (
        LineConfig.from_subentry(subentry)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_TYPE_LINE
    )
    return {line.user_id: line for line in lines}


def reload_key(entry: ConfigEntry) -> tuple[dict[str, object], dict[str, object]]:
    """Return the entry data and options whose change reloads the entry.

    The SIP domain learned from the API (a push context, a resolved login name) is kept in
    the entry data but changes nothing that runs: it is left out, as are the billing options.
    """
    data = {key: value for key, value in entry.data.items() if key != CONF_SIP_DOMAIN}
    # Tariffs, internal extensions and retention are applied in place (no reload: the
    # entities would flip unavailable and back, and the logbook with them).
    options = {key: value for key, value in entry.options.items() if key not in BILLING_OPTIONS}
    return data, options


@dataclass(slots=True, kw_only=True)
class VtxRuntimeData:
    """Everything a loaded entry runs (``entry.runtime_data``), complete once assigned.

    ``lines`` is the one mapping of the entry's lines: the coordinators, the call tracker
    and push read it, and only ``__init__`` changes it (when sub-entries change).
    """

    client: VtxClient
    server: ServerInfo
    lines: dict[int, LineConfig]
    features: VtxFeatureCoordinator
    presence: VtxPresenceCoordinator
    calls: CallTracker
    manager: LineManager
    push: PushManager
    stays: StayManager
    account_device_id: str
    # Entry data and options the runtime was built from: a change of these reloads.
    built_from: tuple[dict[str, object], dict[str, object]]


type VtxConfigEntry = ConfigEntry[VtxRuntimeData]
