"""What a loaded entry holds: its lines and the one runtime data object that owns the rest.

The parts the runtime data names (coordinators, call tracker, line manager, push) import
neither this module nor one another's entry type: each is given its collaborators and a
plain ``ConfigEntry`` in its constructor, so the modules form no import cycle
(scripts/import_cycles.py checks it, type-only imports included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

from .const import CONF_SIP_DOMAIN
from .lines.config import LineConfig, configured_lines

__all__ = ["LineConfig", "VtxConfigEntry", "VtxRuntimeData", "configured_lines", "reload_key"]

if TYPE_CHECKING:
    from .api import ServerInfo, VtxClient
    from .billing.calls import CallTracker
    from .billing.stays import StayManager
    from .coordinator import VtxFeatureCoordinator, VtxPresenceCoordinator
    from .lines.manager import LineManager
    from .push import PushManager


def reload_key(entry: ConfigEntry) -> tuple[dict[str, object], dict[str, object]]:
    """Return the entry data and options whose change reloads the entry.

    The SIP domain learned from the API (a push context, a resolved login name) is kept in
    the entry data but changes nothing that runs: it is left out.
    """
    data = {key: value for key, value in entry.data.items() if key != CONF_SIP_DOMAIN}
    return data, dict(entry.options)


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
