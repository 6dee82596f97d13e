"""A simulator of the VTX VoIP OpenAPI (Communi5 C5) for tests, demos and benchmarks.

Usage: ``async with Simulator() as sim:`` then configure the integration with
``sim.base_url`` and the demo credentials; ``sim.set_dnd(176125, True)`` acts as the phone
and pushes to matching FEATURE subscriptions.

The names below are imported lazily so that ``python -m vtx_simulator ctl`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME

if TYPE_CHECKING:
    from .clock import Clock
    from .faults import ApiFault
    from .push import Delivery
    from .simulator import Simulator
    from .state import SimError

_LAZY = {
    "ApiFault": ".faults",
    "Clock": ".clock",
    "Delivery": ".push",
    "SimError": ".state",
    "Simulator": ".simulator",
}

__all__ = [
    "DEMO_APPLICATION_ID",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "ApiFault",
    "Clock",
    "Delivery",
    "SimError",
    "Simulator",
]


def __getattr__(name: str) -> Any:
    """Import the public classes on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
