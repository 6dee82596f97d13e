"""Fixtures: Home Assistant running the integration against the simulator over loopback.

The simulator's pushes are handed to Home Assistant's HTTP test client (the test server
does not listen on a real port), so a push takes the same path as in production:
HTTP POST -> webhook component -> the integration's handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
import contextlib
import copy
from datetime import UTC, datetime
from enum import Enum
import functools
import importlib
import json
from pathlib import Path
import sys
from types import ModuleType
from typing import Any
from unittest.mock import AsyncMock, PropertyMock, patch

from homeassistant import components
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util.aiohttp import MockRequest
from homeassistant.util.signal_type import SignalType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from yarl import URL

from custom_components.vtx_voip.const import DOMAIN
from vtx_simulator import Simulator
from vtx_simulator.const import DEFAULT_DATA_PATH, DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME

ROOM_101 = 176125
ROOM_102 = 176129
WEBHOOK_ID = "0123456789abcdef" * 4
PUSH_BASE_URL = "http://127.0.0.1:8123"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations in every test."""


@pytest.fixture(autouse=True)
def no_deprecated_use(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail a test in which Home Assistant reports a use of ours it deprecates or refuses.

    Home Assistant's frame helper logs "Detected that custom integration 'vtx_voip' ..."
    for calls that break in a later release; caught here, they never reach a user's log.
    """
    yield
    reports = [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.name == "homeassistant.helpers.frame" and f"integration '{DOMAIN}'" in record.getMessage()
    ]
    assert reports == [], reports


@pytest.fixture(autouse=True)
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Generator[Path]:
    """Put each test's call ledgers in a folder of its own (not the shared test config dir)."""
    folder = tmp_path_factory.mktemp("ledger")
    with patch(
        "custom_components.vtx_voip.billing.calls.ledger_path",
        lambda hass, entry_id: folder / f"vtx_voip.{entry_id}.ledger.db",
    ):
        yield folder


@pytest.fixture
async def simulator(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, socket_enabled: None
) -> AsyncGenerator[Simulator]:
    """A simulator on 127.0.0.1 whose pushes reach Home Assistant's webhook."""
    # The HTTP test client is made on the first push (making it freezes HA's router, so
    # not before the integration registered its webhook), in a task of its own: a
    # delivery cancelled at teardown must not leave a half-made client session behind.
    making: asyncio.Task[Any] | None = None

    async def transport(url: str, body: bytes, headers: dict[str, str]) -> int:
        nonlocal making
        if making is None:
            making = hass.async_create_task(hass_client_no_auth())
        client = await asyncio.shield(making)
        response = await client.post(URL(url).path, data=body, headers=headers)
        return int(response.status)

    sim = Simulator(push_transport=transport)
    await sim.start()
    yield sim
    # Let deliveries in flight finish before the HTTP test client goes away.
    with contextlib.suppress(TimeoutError):
        await sim.wait_for_pushes(within=2)
    await sim.stop()
    if making is not None:
        await making


FIRST_USER_ID = 400_000
FIRST_FEATURE_ID = 9_000_000


def seed_with_lines(count: int) -> dict[str, Any]:
    """The default seed with ``count`` clones of its first line (new userIds, feature ids, logins)."""
    seed = json.loads(DEFAULT_DATA_PATH.read_text(encoding="utf-8"))
    template = seed["lines"][0]
    lines = []
    for index in range(count):
        user_id = FIRST_USER_ID + index
        number = f"+4122{7_000_000 + index}"
        line = copy.deepcopy(template)
        line.update(userId=user_id, loginName=f"{number}@m.ipvoip.ch", phoneNumber=number, name=f"Bench {index}")
        for position, feature in enumerate(line["features"]):
            feature["id"] = FIRST_FEATURE_ID + index * 100 + position
            feature["userId"] = user_id
        lines.append(line)
    seed["lines"] = lines
    return seed


def line_subentry(user_id: int, name: str) -> ConfigSubentryData:
    """The sub-entry of one line."""
    return ConfigSubentryData(
        data={"user_id": user_id, "name": name}, subentry_type="line", title=name, unique_id=str(user_id)
    )


@pytest.fixture
def push_options() -> dict[str, Any]:
    """Entry options; push to the test instance by default."""
    return {"push_base_url": PUSH_BASE_URL}


def demo_entry(url: str, **kwargs: Any) -> MockConfigEntry:
    """An entry for the simulator's demo account at ``url`` (options, sub-entries as given)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=DEMO_USERNAME,
        unique_id=DEMO_USERNAME.lower(),
        data={
            "url": url,
            "username": DEMO_USERNAME,
            "password": DEMO_PASSWORD,
            "application_id": DEMO_APPLICATION_ID,
            "webhook_id": WEBHOOK_ID,
        },
        **kwargs,
    )


@pytest.fixture
def config_entry(simulator: Simulator, push_options: dict[str, Any]) -> MockConfigEntry:
    """An entry for the simulator's demo account with Room 101 and Room 102."""
    return demo_entry(
        simulator.base_url,
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


# --- Entity, device and snapshot helpers (runtime tests) --------------------------------
SNAPSHOT_ENTRY_ID = "01JVTXV01PSNAPSH0TENTRY000"
# modifiedOn of the presence of the snapshot lines, so snapshots do not depend on the clock.
PINNED_TIME = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable every entity, including those disabled by default (as core's fixture does)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


def with_entry_id(entry: MockConfigEntry, entry_id: str = SNAPSHOT_ENTRY_ID) -> MockConfigEntry:
    """Return a copy of an entry with a fixed entry id (unique ids of account entities use it)."""
    return MockConfigEntry(
        domain=entry.domain,
        title=entry.title,
        unique_id=entry.unique_id,
        entry_id=entry_id,
        data=dict(entry.data),
        options=dict(entry.options),
        subentries_data=[
            ConfigSubentryData(
                data=dict(subentry.data),
                subentry_type=subentry.subentry_type,
                title=subentry.title,
                unique_id=subentry.unique_id,
            )
            for subentry in entry.subentries.values()
        ],
    )


def pin_presence(simulator: Simulator, user_id: int, activity: str, enhanced_activity: str) -> None:
    """Set a line's presence as of ``PINNED_TIME`` (before set-up: nothing is pushed)."""
    simulator.state.set_presence(user_id, "PINNING", "NONE", at=PINNED_TIME)
    simulator.state.set_presence(user_id, activity, enhanced_activity, at=PINNED_TIME)


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry, platforms: list[Platform] | None = None) -> None:
    """Add and set up an entry, with only ``platforms`` when given (snapshots need one)."""
    entry.add_to_hass(hass)
    if platforms is None:
        assert await hass.config_entries.async_setup(entry.entry_id)
    else:
        with patch("custom_components.vtx_voip.PLATFORMS", platforms):
            assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's extension (registry entries, states; in ``snapshots/``)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


# --- Home Assistant Cloud (push through a cloudhook) ------------------------------------
CLOUDHOOK_URL = "https://hooks.nabu.casa/vtx-voip-test-cloudhook"


@functools.cache
def _cloud_module() -> ModuleType:
    """``homeassistant.components.cloud``, or a stand-in with the API the integration uses.

    The real module imports half of Home Assistant (alexa, camera, conversation...), whose
    requirements the test environment does not install. The stand-in copies the names and
    signatures of Home Assistant 2026.10's cloud API; the tests patch its functions as
    they would patch the real ones.
    """
    try:
        return importlib.import_module("homeassistant.components.cloud")
    except ImportError:
        pass
    module = ModuleType("homeassistant.components.cloud")

    class CloudNotAvailable(HomeAssistantError):
        """Raised when an action requires the cloud but it's not available."""

    class CloudNotConnected(CloudNotAvailable):
        """Raised when an action requires the cloud but it's not connected."""

    class CloudConnectionState(Enum):
        """Cloud connection state."""

        CLOUD_CONNECTED = "cloud_connected"
        CLOUD_DISCONNECTED = "cloud_disconnected"

    signal: SignalType[Any] = SignalType("CLOUD_CONNECTION_STATE")

    def async_active_subscription(hass: HomeAssistant) -> bool:
        return False

    async def async_get_or_create_cloudhook(hass: HomeAssistant, webhook_id: str) -> str:
        raise CloudNotConnected

    async def async_delete_cloudhook(hass: HomeAssistant, webhook_id: str) -> None:
        raise CloudNotAvailable

    def async_listen_connection_change(hass: HomeAssistant, target: Callable[[Any], Any]) -> Callable[[], None]:
        return async_dispatcher_connect(hass, signal, target)

    for name, value in {
        "CloudNotAvailable": CloudNotAvailable,
        "CloudNotConnected": CloudNotConnected,
        "CloudConnectionState": CloudConnectionState,
        "SIGNAL_CLOUD_CONNECTION_STATE": signal,
        "async_active_subscription": async_active_subscription,
        "async_get_or_create_cloudhook": async_get_or_create_cloudhook,
        "async_delete_cloudhook": async_delete_cloudhook,
        "async_listen_connection_change": async_listen_connection_change,
    }.items():
        setattr(module, name, value)
    return module


@pytest.fixture
def cloud(hass: HomeAssistant, simulator: Simulator) -> Generator[dict[str, Any]]:
    """Cloud loaded with an active subscription; its cloudhook reaches the webhook.

    Yields the cloud module (``module``) and the patched ``async_get_or_create_cloudhook``
    (``create``) and ``async_delete_cloudhook`` (``delete``). Pushes to ``CLOUDHOOK_URL``
    are handed to the webhook component as the cloud does: a ``MockRequest`` without a
    socket.
    """
    http_transport = simulator.push.transport

    async def transport(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        if url != CLOUDHOOK_URL:
            assert http_transport is not None
            return await http_transport(url, body, headers)
        webhook_id = hass.config_entries.async_entries(DOMAIN)[0].data["webhook_id"]
        request = MockRequest(content=body, mock_source="cloud", method="POST", headers=dict(headers))
        response = await webhook.async_handle_webhook(hass, webhook_id, request)
        return int(response.status)

    module = _cloud_module()
    hass.config.components.add("cloud")
    simulator.push.transport = transport
    with (
        patch.dict(sys.modules, {module.__name__: module}),
        patch.object(components, "cloud", module, create=True),
        patch.object(module, "async_active_subscription", return_value=True),
        patch.object(module, "async_get_or_create_cloudhook", AsyncMock(return_value=CLOUDHOOK_URL)) as create,
        patch.object(module, "async_delete_cloudhook", AsyncMock(return_value=None)) as delete,
    ):
        yield {"module": module, "create": create, "delete": delete}
    simulator.push.transport = http_transport
