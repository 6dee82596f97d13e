"""The front desk board: a dashboard strategy and its card, one plain JavaScript module.

The module is served by Home Assistant's HTTP server under ``URL_BASE`` and added to every
frontend page (``add_extra_js_url``), so ``strategy: type: custom:vtx-voip-front-desk``
works without adding a dashboard resource. Its URL carries a hash of the file, so a new
version is loaded although the file is served with long cache headers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components.frontend import add_extra_js_url
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant

from ..const import LOGGER

MODULE: Final = Path(__file__).parent / "vtx-voip-front-desk.js"
URL_BASE: Final = "/vtx_voip_static"
MODULE_URL: Final = f"{URL_BASE}/{MODULE.name}"


def _version() -> str:
    return hashlib.sha256(MODULE.read_bytes()).hexdigest()[:12]


async def async_register_frontend(hass: HomeAssistant) -> None:
    """Serve the module and load it on every frontend page (when the frontend runs)."""
    await hass.http.async_register_static_paths([StaticPathConfig(MODULE_URL, str(MODULE), cache_headers=True)])
    if "frontend" not in hass.config.components:
        LOGGER.debug("No frontend: the front desk board is served but not added to any page")
        return
    version = await hass.async_add_executor_job(_version)
    add_extra_js_url(hass, f"{MODULE_URL}?v={version}")
