"""Fixtures: Home Assistant running the integration against the simulator over loopback.

The simulator's pushes are handed to Home Assistant's HTTP test client (the test server
does not listen on a real port), so a push takes the same path as in production:
HTTP POST -> webhook component -> the integration's handler.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.vtx_voip.const import DOMAIN
from vtx_simulator import Simulator
from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME

ROOM_101 = 176125
ROOM_102 = 176129
WEBHOOK_ID = "0123456789abcdef" * 4
PUSH_BASE_URL = "http://127.0.0.1:8123"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations in every test."""


@pytest.fixture
async def simulator(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, socket_enabled: None
) -> AsyncGenerator[Simulator]:
    """A simulator on 127.0.0.1 whose pushes reach Home Assistant's webhook."""
    client: Any = None

    async def transport(url: str, body: bytes, headers: dict[str, str]) -> int:
        nonlocal client
        if client is None:
            client = await hass_client_no_auth()
        response = await client.post(URL(url).path, data=body, headers=headers)
        return int(response.status)

    sim = Simulator(push_transport=transport)
    await sim.start()
    yield sim
    await sim.stop()


def line_subentry(user_id: int, name: str) -> ConfigSubentryData:
    """The sub-entry of one line."""
    return ConfigSubentryData(
        data={"user_id": user_id, "name": name}, subentry_type="line", title=name, unique_id=str(user_id)
    )


@pytest.fixture
def push_options() -> dict[str, Any]:
    """Entry options; push to the test instance by default."""
    return {"push_base_url": PUSH_BASE_URL}


@pytest.fixture
def config_entry(simulator: Simulator, push_options: dict[str, Any]) -> MockConfigEntry:
    """An entry for the simulator's demo account with Room 101 and Room 102."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=DEMO_USERNAME,
        unique_id=DEMO_USERNAME.lower(),
        data={
            "url": simulator.base_url,
            "username": DEMO_USERNAME,
            "password": DEMO_PASSWORD,
            "application_id": DEMO_APPLICATION_ID,
            "webhook_id": WEBHOOK_ID,
        },
        options=push_options,
        subentries_data=[line_subentry(ROOM_101, "Room 101"), line_subentry(ROOM_102, "Room 102")],
    )


@pytest.fixture
async def init_integration(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry, set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry
