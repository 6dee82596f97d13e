"""Property: however pushes are lost, duplicated or reordered, on any server clock, state ends right.

Hypothesis draws a server clock offset (up to a day either way), a run of changes made on
the phone (DND and the unconditional forward's destination), and what reaches Home
Assistant: each change's push lost, delivered once or twice, with or without
``previousValue``, in any order, with a poll anywhere among them. Then:

- once the push of the last change has arrived, the state is the phone's, whatever came
  before or after it;
- a state Home Assistant shows is always one the phone had (nothing is guessed);
- after the next poll, the state is the phone's.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timedelta
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, given, settings, strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from vtx_simulator import Simulator

from .conftest import ROOM_101, WEBHOOK_ID

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
DND = "CENTRAL_DND"
CFU = "CALL_FORWARD_UNCONDITIONAL"
CFU_DATA = "callForwardUnconditionalData"
DESTINATIONS = ["+41791111111", "+41792222222", "+41793333333"]


def _changes() -> st.SearchStrategy[list[tuple[str, Any]]]:
    dnd = st.tuples(st.just(DND), st.booleans())
    forward = st.tuples(st.just(CFU), st.sampled_from(DESTINATIONS))
    return st.lists(st.one_of(dnd, forward), min_size=1, max_size=8)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A clock offset, the phone's changes, and what is delivered in which order."""
    changes = draw(_changes())
    copies = [draw(st.integers(min_value=0, max_value=2)) for _ in changes]
    deliveries = [index for index, count in enumerate(copies) for _ in range(count)]
    order = draw(st.permutations(deliveries))
    with_previous = [draw(st.booleans()) for _ in changes]
    poll_at = draw(st.none() | st.integers(min_value=0, max_value=len(order)))
    return {
        "offset": draw(st.sampled_from([-86_400, -600, -60, 0, 60, 600, 86_400])),
        "changes": changes,
        "order": list(order),
        "with_previous": with_previous,
        "gaps_ms": [draw(st.integers(min_value=1, max_value=900)) for _ in changes],
        "poll_at": poll_at,
    }


async def test_any_delivery_order_ends_in_the_phones_state(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Lost, duplicated, reordered pushes on any server clock: the last change wins, polls converge."""
    entry = init_integration
    coordinator = entry.runtime_data.features
    subscription = entry.runtime_data.push.subscriptions["FEATURE"].id
    client = await hass_client_no_auth()
    simulator.drop_pushes()  # every push of this test is delivered by hand
    loop = hass.loop

    def held(name: str) -> dict[str, Any]:
        return copy.deepcopy(coordinator.data[ROOM_101][name].raw)

    async def check(scenario: dict[str, Any]) -> None:
        simulator.advance_clock(scenario["offset"] - simulator.clock.offset)
        await coordinator.async_refresh()  # a poll learns the server's clock
        # The phone's changes come 5 s after that poll on the server's clock; the polls
        # below run 20 s after it (each more than the Date header's resolution apart).
        at = simulator.clock.now() + timedelta(seconds=5)
        simulator.advance_clock(20)
        state = {DND: held(DND), CFU: held(CFU)}
        seen: dict[str, list[dict[str, Any]]] = {DND: [state[DND]], CFU: [state[CFU]]}
        events = []
        for (name, value), gap in zip(scenario["changes"], scenario["gaps_ms"], strict=True):
            previous = state[name]
            feature = copy.deepcopy(previous)
            if name == DND:
                feature["status"] = "ACTIVE" if value else "INACTIVE"
            else:
                feature[CFU_DATA] = {**feature[CFU_DATA], "destinationUri": value}
            at += timedelta(milliseconds=gap)
            events.append((name, feature, previous, dt_util.as_local(at).isoformat(timespec="milliseconds")))
            state[name] = feature
            seen[name].append(feature)
        # The server holds the final state (a poll reads it).
        for name in (DND, CFU):
            simulator.state.features[state[name]["id"]] = copy.deepcopy(state[name])
        last_of = {event[0]: index for index, event in enumerate(events)}
        delivered: set[int] = set()
        for position, index in enumerate([*scenario["order"], None]):
            if position == scenario["poll_at"]:
                await coordinator.async_refresh()
                assert held(DND) == state[DND]
                assert held(CFU) == state[CFU]
            if index is None:
                break
            name, feature, previous, event_time = events[index]
            event: dict[str, Any] = {"changeType": "MODIFIED", "feature": feature, "eventTime": event_time}
            if scenario["with_previous"][index]:
                event["previousValue"] = previous
            body = json.dumps({"subscriptionId": subscription, "featureEvents": [event]}).encode()
            response = await client.post(WEBHOOK_PATH, data=body, headers={"Content-Type": "application/json"})
            assert response.status == 200
            delivered.add(index)
            for checked in (DND, CFU):
                assert held(checked) in seen[checked]  # never a state the phone did not have
        for name, last in last_of.items():
            if last in delivered:
                assert held(name) == state[name], (name, scenario)
        await coordinator.async_refresh()
        assert held(DND) == state[DND]
        assert held(CFU) == state[CFU]

    @settings(
        max_examples=120,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(scenarios())
    def run(scenario: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(check(scenario), loop).result(timeout=60)

    await hass.async_add_executor_job(run)


def _millis(at: datetime) -> str:
    return dt_util.as_local(at).isoformat(timespec="milliseconds")


async def test_stale_push_does_not_roll_back_a_poll(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """VTX's clock 60 s behind (Date header and eventTime alike): a push dated before the poll that
    read the state held is stale even though its previousValue is that state; within the poll's
    second, the previousValue decides; after it, pushes apply."""
    simulator.clock_offset = -60
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    features = config_entry.runtime_data.features
    subscription = config_entry.runtime_data.push.subscriptions["FEATURE"].id
    client = await hass_client_no_auth()
    simulator.drop_pushes()  # the phone's changes reach Home Assistant by the poll only

    # The phone: DND on, off 30 s before the poll, on again; the poll reads "on".
    simulator.set_dnd(ROOM_101, True)
    await features.async_refresh()
    held = copy.deepcopy(features.data[ROOM_101][DND].raw)
    assert held["status"] == "ACTIVE"
    off = {**held, "status": "INACTIVE"}
    read_second = simulator.clock.now().replace(microsecond=0)

    async def push(feature: dict[str, Any], previous: dict[str, Any] | None, at: datetime) -> str:
        event: dict[str, Any] = {"changeType": "MODIFIED", "feature": feature, "eventTime": _millis(at)}
        if previous is not None:
            event["previousValue"] = previous
        body = json.dumps({"subscriptionId": subscription, "featureEvents": [event]}).encode()
        response = await client.post(WEBHOOK_PATH, data=body, headers={"Content-Type": "application/json"})
        assert response.status == 200
        await hass.async_block_till_done()
        return hass.states.get("switch.room_101_do_not_disturb").state

    # Late push of the on -> off change made 30 s before the poll: stale, DND stays on.
    assert await push(off, held, read_second - timedelta(seconds=30)) == STATE_ON
    # Within the poll's second: not following on from what was read -> ignored ...
    assert await push(off, off, read_second + timedelta(milliseconds=500)) == STATE_ON
    # ... following on from it -> applied.
    assert await push(off, held, read_second + timedelta(milliseconds=500)) == STATE_OFF
    # After that second, pushes are ordered among themselves: a newer one applies.
    assert await push(held, None, read_second + timedelta(seconds=2)) == STATE_ON
