"""The coordinators: what a poll, a push or a write's answer does to the data held."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.api import Feature, Presence
from custom_components.vtx_voip.coordinator import FeatureContext
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102

DND = "switch.room_101_do_not_disturb"


def _feature(simulator: Simulator, user_id: int, feat_name: str, **changes: object) -> Feature:
    return Feature.from_json({**simulator.feature(user_id, feat_name), **changes})


async def test_apply_feature(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """A pushed feature applies once; older, unknown and unchanged ones are ignored."""
    features = init_integration.runtime_data.features
    now = dt_util.utcnow()
    on = _feature(simulator, ROOM_101, "CENTRAL_DND", status="ACTIVE")
    assert features.async_apply_feature(on, now + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_ON
    # The same again (a duplicate push) changes nothing.
    assert not features.async_apply_feature(on, now + timedelta(seconds=2))
    # An event older than the one applied is stale.
    off = _feature(simulator, ROOM_101, "CENTRAL_DND", status="INACTIVE")
    assert not features.async_apply_feature(off, now)
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_ON
    # Unknown line, unknown feature id: ignored.
    assert not features.async_apply_feature(_feature(simulator, 176133, "CENTRAL_DND", status="ACTIVE"))
    assert not features.async_apply_feature(
        _feature(simulator, ROOM_101, "CENTRAL_DND", status="INACTIVE", id=999), now + timedelta(seconds=3)
    )
    assert hass.states.get(DND).state == STATE_ON
    # A newer one applies.
    assert features.async_apply_feature(off, now + timedelta(seconds=4))
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_OFF


async def test_apply_presence(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """A pushed presence applies once; older, unknown-line and unchanged ones are ignored."""
    presence = init_integration.runtime_data.presence
    now = dt_util.utcnow()
    simulator.drop_pushes()
    simulator.set_presence(ROOM_101, "ONLINE", "IN_A_CALL")
    on_call = Presence.from_json(simulator.presence(ROOM_101))
    assert presence.async_apply_presence(ROOM_101, on_call, now + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == STATE_ON
    assert not presence.async_apply_presence(ROOM_101, on_call, now + timedelta(seconds=2))
    assert not presence.async_apply_presence(176133, on_call, now + timedelta(seconds=3))
    # Equal modifiedOn: pushes are ordered among themselves by eventTime (server clock).
    same_time_idle = Presence.from_json(
        {
            **simulator.presence(ROOM_101),
            "current": {**simulator.presence(ROOM_101)["current"], "enhancedActivity": "NONE"},
        }
    )
    assert not presence.async_apply_presence(ROOM_101, same_time_idle, now)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == STATE_ON
    # A newer modifiedOn (the server's own time of the state) wins, whatever the eventTime
    # (a minute later: modifiedOn has milliseconds, and both changes may fall in one).
    simulator.state.set_presence(ROOM_101, "ONLINE", "NONE", at=simulator.clock.now() + timedelta(minutes=1))
    idle = Presence.from_json(simulator.presence(ROOM_101))
    assert presence.async_apply_presence(ROOM_101, idle, now - timedelta(hours=1))
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == STATE_OFF
    # An older modifiedOn never wins.
    assert not presence.async_apply_presence(ROOM_101, on_call, now + timedelta(hours=1))


async def test_feature_gone_and_back(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A feature the API stops listing makes its switch unavailable until it is back."""
    dnd = simulator.feature(ROOM_101, "CENTRAL_DND")
    state = simulator.state
    state.user_features[ROOM_101].remove(dnd["id"])
    features = init_integration.runtime_data.features
    await features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_UNAVAILABLE
    assert hass.states.get("switch.room_101_forward_all_calls").state == STATE_OFF
    assert hass.states.get("switch.room_102_do_not_disturb").state == STATE_OFF
    state.user_features[ROOM_101].append(dnd["id"])
    await features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_OFF


async def test_poll_without_change_keeps_state(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A poll that finds what is held changes nothing (and does not declare push stalled)."""
    runtime = init_integration.runtime_data
    before = hass.states.get(DND)
    await runtime.features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(DND).last_updated == before.last_updated
    assert runtime.push is not None
    assert runtime.push.healthy
    assert set(runtime.features.data) == {ROOM_101, ROOM_102}


async def test_push_of_one_feature_does_not_hide_an_older_push_of_another(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Events are ordered per feature: DND at t+2 does not make a forward event of t+1 stale."""
    coordinator = init_integration.runtime_data.features
    dnd = coordinator.feature(ROOM_101, "CENTRAL_DND")
    cfu = coordinator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")
    assert dnd is not None
    assert cfu is not None
    now = dt_util.utcnow()
    assert coordinator.async_apply_feature(dnd.with_status(True), now + timedelta(seconds=2))
    assert coordinator.async_apply_feature(cfu.with_status(True), now + timedelta(seconds=1))
    # Older than what is held for the same feature: ignored.
    assert not coordinator.async_apply_feature(dnd.with_status(False), now + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert hass.states.get("switch.room_101_forward_all_calls").state == STATE_ON


async def test_poll_keeps_a_feature_pushed_while_it_ran(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A push applied while a poll is in flight wins over the poll's older answer, for that feature only."""
    coordinator = init_integration.runtime_data.features
    dnd = coordinator.feature(ROOM_101, "CENTRAL_DND")
    assert dnd is not None
    simulator.drop_pushes()
    simulator.set_forward(ROOM_101, "unconditional", True)  # only a poll can see this
    # The poll's answer for Room 101 is made now (DND off), and arrives late.
    simulator.add_fault("hang", seconds=0.3, count=1, path=f"/users/{ROOM_101}/feat")
    refresh = hass.async_create_task(coordinator.async_refresh())
    await asyncio.sleep(0.1)
    # Meanwhile the phone switches DND on and the push arrives first (no eventTime: order by arrival).
    assert coordinator.async_apply_feature(dnd.with_status(True), None, previous=dnd)
    await refresh
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert hass.states.get("switch.room_101_forward_all_calls").state == STATE_ON
    simulator.clear_push_faults()


async def test_feature_change_tells_the_entities_of_that_feature(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A pushed feature calls the listeners of its line made of it (or of any of the line's data), not those of
    its line's other features nor of other lines; a change that may change availability calls them all."""
    coordinator = init_integration.runtime_data.features
    calls: list[str] = []
    unsubs = [
        coordinator.async_add_listener(
            lambda: calls.append("dnd"), FeatureContext(ROOM_101, frozenset({"CENTRAL_DND"}))
        ),
        coordinator.async_add_listener(
            lambda: calls.append("cfu"), FeatureContext(ROOM_101, frozenset({"CALL_FORWARD_UNCONDITIONAL"}))
        ),
        coordinator.async_add_listener(lambda: calls.append("line"), ROOM_101),
        coordinator.async_add_listener(lambda: calls.append("other line"), ROOM_102),
    ]
    dnd = coordinator.feature(ROOM_101, "CENTRAL_DND")
    cfu = coordinator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")
    assert dnd is not None
    assert cfu is not None
    assert coordinator.async_apply_feature(dnd.with_status(not dnd.active), None, previous=dnd)
    assert sorted(calls) == ["dnd", "line"]
    calls.clear()
    assert coordinator.async_apply_feature(cfu.with_status(not cfu.active), None, previous=cfu)
    assert sorted(calls) == ["cfu", "line"]
    calls.clear()
    # The line's data was not current (its read failed: 404): every listener of the line hears of it.
    simulator.add_fault("status", status=404, count=None, path=f"/users/{ROOM_101}/feat")
    await coordinator.async_refresh()
    assert ROOM_101 not in coordinator.data
    calls.clear()
    held = coordinator.last_known(ROOM_101)
    assert held is not None
    current = held["CENTRAL_DND"]
    assert coordinator.async_apply_feature(current.with_status(not current.active), None, previous=current)
    assert sorted(calls) == ["cfu", "dnd", "line"]
    assert hass.states.get("switch.room_101_forward_all_calls").state != STATE_UNAVAILABLE
    for unsub in unsubs:
        unsub()
    calls.clear()
    assert coordinator.async_apply_feature(cfu, None, previous=coordinator.feature(ROOM_101, cfu.name))
    assert calls == []


async def test_line_change_listeners_hear_of_new_features_not_of_pushed_values(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A pushed value of a feature a line has does not tell the line-change listeners (which features a line
    has is unchanged); a poll does, with None."""
    coordinator = init_integration.runtime_data.features
    told: list[int | None] = []
    unsub = coordinator.async_add_line_change_listener(told.append)
    dnd = coordinator.feature(ROOM_101, "CENTRAL_DND")
    assert dnd is not None
    data = coordinator.data
    assert coordinator.async_apply_feature(dnd.with_status(not dnd.active), None, previous=dnd)
    assert told == []
    # The line's data changed in place (not a copy of every line's).
    assert coordinator.data is data
    assert coordinator.feature(ROOM_101, "CENTRAL_DND") == dnd.with_status(not dnd.active)
    await coordinator.async_refresh()
    assert None in told
    unsub()
