"""The webhook between two runs of an entry: pushes checked and held, handed to the next run; let go on removal."""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vtx_voip.push import RETRY_DELAY
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, WEBHOOK_ID
from .test_push import by_type, ours, settle, travel

PATH = f"/api/webhook/{WEBHOOK_ID}"
OTHER_LINE = 176133


def dnd_push(simulator: Simulator, user_id: int, status: str, subscription_id: str = "some-old-one") -> bytes:
    """A featureEvents push turning a line's DND to ``status``."""
    feature = simulator.feature(user_id, "CENTRAL_DND")
    event = {"changeType": "MODIFIED", "feature": {**feature, "status": status}, "previousValue": feature}
    event["eventTime"] = dt_util.utcnow().isoformat()
    return json.dumps({"subscriptionId": subscription_id, "featureEvents": [event]}).encode()


async def test_pushes_held_between_runs(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Unloaded, the webhook still checks pushes (4xx for garbage and strangers) and holds ours for the next run.

    The push is made up (the simulator's DND stays off), so time is frozen: the next run's
    first read falls within the push's second, where its previousValue decides. A read in a
    later second would rightly make the held push stale (its state is older than the read's).
    """
    client = await hass_client_no_auth()
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    async def post(body: bytes) -> int:
        return int((await client.post(PATH, data=body)).status)

    assert await post(b"not json") == 400
    assert await post(dnd_push(simulator, OTHER_LINE, "ACTIVE")) == 403
    with patch("custom_components.vtx_voip.push.gate.MAX_HELD", 1):
        assert await post(dnd_push(simulator, ROOM_101, "ACTIVE")) == 200
        assert await post(dnd_push(simulator, ROOM_102, "ACTIVE")) == 503
    # The next run takes the held push over.
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert init_integration.runtime_data.push.pushes_received == 1


async def test_removing_the_entry_deletes_its_subscriptions_and_webhook(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Only removing the entry deletes its subscriptions at the API; its webhook goes too."""
    assert len(ours(simulator)) == 3
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert len(ours(simulator)) == 3
    assert WEBHOOK_ID in hass.data["webhook"]
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert ours(simulator) == []
    assert WEBHOOK_ID not in hass.data["webhook"]


async def test_failed_replacement_keeps_the_old_subscription(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A line added while the API refuses new subscriptions: the old ones stay (and bring pushes) until replaced."""
    before = {resource: sub["id"] for resource, sub in by_type(simulator).items()}
    simulator.add_fault("status", status=503, count=None, method="POST", path="/openapi/v1/subscriptions")
    subentry = ConfigSubentry(
        data={"user_id": OTHER_LINE, "name": "Room 103"}, subentry_type="line", title="Room 103", unique_id="176133"
    )
    assert hass.config_entries.async_add_subentry(init_integration, subentry)
    await settle(hass, simulator)
    push = init_integration.runtime_data.push
    assert {resource: sub["id"] for resource, sub in by_type(simulator).items()} == before
    assert push.subscriptions["CALL_LOG"].id == before["CALL_LOG"]
    assert push.calls_pushed
    bus: list[Any] = []
    hass.bus.async_listen("vtx_voip_call", bus.append)
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=30)
    await settle(hass, simulator)
    assert len(bus) == 1
    simulator.clear_faults()
    await travel(hass, freezer, RETRY_DELAY + timedelta(seconds=1))
    subs = by_type(simulator)
    assert subs["CALL_LOG"]["id"] != before["CALL_LOG"]
    assert subs["CALL_LOG"]["userIds"] == [ROOM_101, ROOM_102, OTHER_LINE]
    assert subs["FEATURE"]["id"] == before["FEATURE"]  # the enterprise-wide one covers every line
