"""A simulator of the VTX VoIP OpenAPI (Communi5 C5) for tests, demos and benchmarks.

Usage: ``async with Simulator() as sim:`` then configure the integration with
``sim.base_url`` and the demo credentials; ``sim.set_dnd(176125, True)`` acts as the phone
and pushes to matching FEATURE subscriptions. ``Simulator(profile="wiki")`` serves only what
the wiki documents (``WIKI_ONLY`` lists what it refuses); ``Simulator(clock_offset=-600)``
runs the server's clock 10 minutes behind; ``Simulator(WIKI_DATA_PATH)`` seeds the wiki's
own account, so its examples apply as published.

The names below are imported lazily so that ``python -m vtx_simulator ctl`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .const import (
    DEFAULT_DATA_PATH,
    DEMO_APPLICATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    MALFORMED_PUSH_KINDS,
    PROFILE_DEFAULT,
    PROFILE_WIKI,
    PROFILES,
    WIKI_DATA_PATH,
    WIKI_ONLY,
    WIKI_SEED_PATH,
)

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
    "DEFAULT_DATA_PATH",
    "DEMO_APPLICATION_ID",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "MALFORMED_PUSH_KINDS",
    "PROFILES",
    "PROFILE_DEFAULT",
    "PROFILE_WIKI",
    "WIKI_DATA_PATH",
    "WIKI_ONLY",
    "WIKI_SEED_PATH",
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
