"""Subscriptions belong to the entry, not to a run; a push must prove itself, per resource.

Each test here fails on d5f356d (where unload deleted the subscriptions, a push of an
unknown subscription was answered 403 until adoption, a silent PRESENCE push was trusted
and FEATURE per line went by userIds) and passes since, unless its docstring says it
guards what worked. Home Assistant runs for real against the simulator; the
``wiki`` profile serves only what the wiki documents (no call history: a call whose push
is lost is lost for good, no renewal, no PRESENCE subscription).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_PASSWORD, STATE_OFF, STATE_ON
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.vtx_voip.const import CONF_APPLICATION_ID, FEATURE_RECONCILE_INTERVAL, PRESENCE_POLL_INTERVAL
from custom_components.vtx_voip.lines.discovery import signal_line_login
from custom_components.vtx_voip.push import CALL_RECONCILE_INTERVAL, SILENT_RETRY, STALL_GRACE
from custom_components.vtx_voip.push.const import LOGIN_SAVE_DELAY
from vtx_simulator import Simulator
from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD

from .conftest import ROOM_101, ROOM_102, demo_entry
from .test_push import by_type, ours, push_entity, settle, travel

DELETE = "DELETE /openapi/v1/subscriptions/{subscription_id}"
NUMBER = "+41791112233"


def our_ids(simulator: Simulator) -> set[str]:
    """The ids of this entry's live subscriptions at the simulator."""
    return {sub["id"] for sub in ours(simulator)}


async def billed(hass: HomeAssistant, entry: MockConfigEntry, user_id: int) -> list[str]:
    """The ids of a line's calls in the ledger (what a bill of the day lists)."""
    now = int(dt_util.utcnow().timestamp())
    ledger = entry.runtime_data.calls.ledger
    calls = await hass.async_add_executor_job(ledger.calls, user_id, now - 86_400, now + 86_400)
    return [call.call_id for call in calls]


def ha_down(simulator: Simulator) -> dict[str, bool]:
    """Let the test switch Home Assistant off the network: pushes then fail to connect."""
    transport = simulator.push.transport
    assert transport is not None
    switch = {"down": False}

    async def maybe_down(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        if switch["down"]:
            raise ConnectionRefusedError("Home Assistant is not running")
        return await transport(url, body, headers)

    simulator.push.transport = maybe_down
    return switch


async def test_reload_keeps_subscriptions_and_the_call_ending_meanwhile(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A call that ends between unload and set-up (a reload) is billed; no subscription is deleted."""
    simulator.set_profile("wiki")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    held = our_ids(simulator)
    assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG"}
    simulator.start_call(ROOM_101, direction="outgoing", number=NUMBER)
    simulator.reset_request_counts()

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert our_ids(simulator) == held
    call = simulator.end_call(ROOM_101)
    await simulator.wait_for_pushes()
    # The push reached the webhook, held between the two runs.
    assert [d["status"] for d in simulator.deliveries() if d["resourceType"] == "CALL_LOG"] == [200]

    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    assert await billed(hass, config_entry, ROOM_101) == [call["id"]]
    assert our_ids(simulator) == held
    assert simulator.request_counts().get(DELETE, 0) == 0
    assert config_entry.runtime_data.push.healthy


async def test_restart_takes_the_old_subscriptions_pushes(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A restart (no unload, same storage): a call ending while it starts is billed, its push answered 200.

    At a shutdown Home Assistant does not unload: here the unload deletes nothing at the
    API (its DELETEs fail, as if the process had died) and no push reaches Home Assistant
    meanwhile. It starts again (not running yet, as at a restart); listing the
    subscriptions is slow, and a call ends right after the set-up: its push, on the
    subscription of the run before, is taken, not refused with 403.
    """
    simulator.set_profile("wiki")
    network = ha_down(simulator)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    held = our_ids(simulator)
    simulator.start_call(ROOM_101, direction="outgoing", number=NUMBER)

    # Shutdown: nothing deleted, nothing reaches Home Assistant.
    network["down"] = True
    simulator.add_fault("status", status=503, count=None, method="DELETE")
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    simulator.clear_faults()
    assert our_ids(simulator) == held
    simulator.set_dnd(ROOM_102, True)  # while down: lost, the first poll reads it
    await simulator.wait_for_pushes()

    # Start: listing the subscriptions takes a while; the call ends just after the set-up.
    network["down"] = False
    simulator.clear_deliveries()
    simulator.add_fault("hang", seconds=0.5, method="GET", path="/openapi/v1/subscriptions")
    hass.set_state(CoreState.not_running)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    call = simulator.end_call(ROOM_101)
    await simulator.wait_for_pushes()
    hass.set_state(CoreState.running)
    await settle(hass, simulator)

    [delivery] = [d for d in simulator.deliveries() if d["resourceType"] == "CALL_LOG"]
    assert delivery["subscriptionId"] in held
    assert delivery["status"] == 200
    assert await billed(hass, config_entry, ROOM_101) == [call["id"]]
    assert hass.states.get("switch.room_102_do_not_disturb").state == STATE_ON
    assert our_ids(simulator) == held


async def test_options_and_reauth_lose_no_call(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """20 options changes and 5 reauths while calls are pushed: every call billed, FEATURE and CALL_LOG always live.

    Checked at every delete at the simulator: after it, a live FEATURE and CALL_LOG
    subscription of ours remain.
    """
    simulator.set_profile("wiki")
    gaps: list[set[str]] = []
    delete = simulator.state.delete_subscription

    def checked_delete(sub_id: str) -> None:
        delete(sub_id)
        live = {sub["resourceType"] for sub in ours(simulator)}
        if not {"FEATURE", "CALL_LOG"} <= live:
            gaps.append(live)

    simulator.state.delete_subscription = checked_delete  # type: ignore[method-assign]
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    made: dict[int, list[str]] = {ROOM_101: [], ROOM_102: []}
    for step in range(25):
        user_id = ROOM_101 if step % 2 else ROOM_102
        made[user_id].append(
            simulator.make_call(user_id, direction="outgoing", number=NUMBER, duration=30 + step)["id"]
        )
        if step % 5 == 4:
            result = await config_entry.start_reauth_flow(hass)
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_PASSWORD: DEMO_PASSWORD, CONF_APPLICATION_ID: DEMO_APPLICATION_ID}
            )
            assert result["type"] is FlowResultType.ABORT
            assert result["reason"] == "reauth_successful"
        else:
            interval = 30 + 10 * (step % 3)
            hass.config_entries.async_update_entry(
                config_entry, options={**config_entry.options, "presence_interval": interval}
            )
        # Another call is pushed while the change is being applied.
        user_id = ROOM_102 if step % 2 else ROOM_101
        made[user_id].append(simulator.make_call(user_id, direction="incoming", number=NUMBER, duration=5 + step)["id"])
        await settle(hass, simulator)
        assert config_entry.state is ConfigEntryState.LOADED
    await settle(hass, simulator)

    assert gaps == []
    for user_id, ids in made.items():
        assert sorted(await billed(hass, config_entry, user_id)) == sorted(ids)
    assert {d["status"] for d in simulator.deliveries()} == {200}
    assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG"}


async def test_silent_presence_push_found_and_retried(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A PRESENCE subscription that is accepted and never delivered is found out, polled, and tried again.

    The reconciliation finds the call push did not bring; after the grace presence is
    polled every 30 s, the entity and diagnostics say so; a finished call's presence is
    read at once; 6 hours later the subscription is replaced (new before old).
    """
    simulator.silence_pushes("PRESENCE")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    push = config_entry.runtime_data.push
    presence = config_entry.runtime_data.presence
    assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG", "PRESENCE"}
    assert push.presence_pushed
    assert presence.update_interval == FEATURE_RECONCILE_INTERVAL

    simulator.start_call(ROOM_101, number=NUMBER)
    await settle(hass, simulator)
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == STATE_OFF
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == STATE_ON
    assert push.silent_resources == []
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert push.silent_resources == ["presence"]
    assert push.healthy  # features still arrive by push
    assert not push.presence_pushed
    assert presence.update_interval == PRESENCE_POLL_INTERVAL
    state = hass.states.get(push_entity(hass, config_entry))
    assert state.state == STATE_ON
    assert state.attributes["silent"] == ["presence"]
    assert push.diagnostics()["silent"] == ["presence"]

    # The call ends: its presence is read at once, not at the next poll.
    simulator.end_call(ROOM_101)
    await settle(hass, simulator)
    assert hass.states.get("binary_sensor.room_101_on_a_call").state == STATE_OFF

    # 6 hours later the PRESENCE subscription is tried again: replaced, new before old.
    old = by_type(simulator)["PRESENCE"]["id"]
    await travel(hass, freezer, SILENT_RETRY)
    await settle(hass, simulator)
    subs = by_type(simulator)
    assert set(subs) == {"FEATURE", "CALL_LOG", "PRESENCE"}
    assert subs["PRESENCE"]["id"] != old
    assert push.silent_resources == []
    assert push.presence_pushed
    assert hass.states.get(push_entity(hass, config_entry)).attributes["silent"] == []


async def test_silent_presence_found_by_the_finished_call_read(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """The presence read after a finished call finds what a silent PRESENCE push did not bring."""
    simulator.silence_pushes("PRESENCE")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    push = config_entry.runtime_data.push
    simulator.make_call(ROOM_102, number=NUMBER, duration=60)
    await settle(hass, simulator)
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert push.silent_resources == ["presence"]
    assert config_entry.runtime_data.presence.update_interval == PRESENCE_POLL_INTERVAL


async def test_presence_push_that_works_is_trusted(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Calls with a working PRESENCE push mark nothing silent (the read after a call finds nothing new).

    Guards what worked: a trusted push stays trusted.
    """
    push = init_integration.runtime_data.push
    for _ in range(3):
        simulator.make_call(ROOM_101, number=NUMBER, duration=60)
        await settle(hass, simulator)
        await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert push.silent_resources == []
    assert push.presence_pushed


@pytest.mark.parametrize("push_options", [{"push_base_url": "http://127.0.0.1:8123", "enterprise_discovery": False}])
async def test_feature_subscription_by_login_names(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Per line, FEATURE is subscribed by userIds until the login names are known, then by loginNames."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    push = config_entry.runtime_data.push
    feature = by_type(simulator)["FEATURE"]
    assert feature["userIds"] == [ROOM_101, ROOM_102]
    assert "loginNames" not in feature
    # Pushes name the lines' logins in their context.
    simulator.set_dnd(ROOM_101, True)
    simulator.set_dnd(ROOM_102, True)
    await settle(hass, simulator)
    logins = {user_id: simulator.state.line(user_id).login_name for user_id in (ROOM_101, ROOM_102)}
    assert push.lifecycle.login_names == logins
    # The held subscription covers the same lines: kept (no churn).
    assert by_type(simulator)["FEATURE"]["id"] == feature["id"]
    # Made again (here: gone at the API), it names the lines by login.
    simulator.state.delete_subscription(feature["id"])
    await push.async_verify()
    feature = by_type(simulator)["FEATURE"]
    assert sorted(feature["loginNames"]) == sorted(logins.values())
    assert "userIds" not in feature
    simulator.set_dnd(ROOM_101, False)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF
    # Known after a reload too (kept with the notification URL).
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await settle(hass, simulator)
    assert config_entry.runtime_data.push.lifecycle.login_names == logins
    assert by_type(simulator)["FEATURE"]["id"] == feature["id"]


async def test_learned_login_names_saved_together(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The login names pushes teach are saved once, a little later, all together (not once per line)."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    key = f"vtx_voip.{config_entry.entry_id}.push"
    url = hass_storage[key]["data"]["notification_url"]
    assert hass_storage[key]["data"]["login_names"] == {}
    told: list[tuple[int, str]] = []
    config_entry.async_on_unload(
        async_dispatcher_connect(
            hass, signal_line_login(config_entry.entry_id), lambda user_id, login: told.append((user_id, login))
        )
    )
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    simulator.set_dnd(ROOM_101, False)
    await settle(hass, simulator)
    simulator.set_dnd(ROOM_102, True)
    await settle(hass, simulator)
    logins = {user_id: simulator.state.line(user_id).login_name for user_id in (ROOM_101, ROOM_102)}
    assert config_entry.runtime_data.push.lifecycle.login_names == logins
    # Each told once to the stays (not at every push).
    assert sorted(told) == sorted(logins.items())
    # Learned, not written yet.
    assert hass_storage[key]["data"]["login_names"] == {}
    await travel(hass, freezer, timedelta(seconds=LOGIN_SAVE_DELAY + 1))
    assert hass_storage[key]["data"] == {
        "notification_url": url,
        "login_names": {str(user_id): login for user_id, login in logins.items()},
    }


@pytest.mark.parametrize("push_options", [{"push_base_url": "http://127.0.0.1:8123", "enterprise_discovery": False}])
async def test_login_names_refused_falls_back_to_user_ids(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """An API that refuses loginNames (4xx) gets userIds, and is not asked again."""
    hass_storage[f"vtx_voip.{config_entry.entry_id}.push"] = {
        "version": 1,
        "key": f"vtx_voip.{config_entry.entry_id}.push",
        "data": {"login_names": {str(ROOM_101): "+41000000001@m.ipvoip.ch", str(ROOM_102): "+41000000002@m.ipvoip.ch"}},
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    push = config_entry.runtime_data.push
    feature = by_type(simulator)["FEATURE"]
    assert feature["userIds"] == [ROOM_101, ROOM_102]
    assert push.diagnostics()["login_names_refused"] is True
    assert push.healthy


async def test_silent_call_push_found_by_the_history_read(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A call the hourly history read finds and no push brought marks call push silent; the next call push clears it."""
    push = init_integration.runtime_data.push
    simulator.drop_pushes(1)
    simulator.make_call(ROOM_101, direction="incoming", number=NUMBER, missed=True)
    await settle(hass, simulator)
    await travel(hass, freezer, CALL_RECONCILE_INTERVAL)
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert push.silent_resources == ["call_log"]
    assert not push.calls_pushed
    assert push.healthy
    simulator.make_call(ROOM_102, direction="outgoing", number=NUMBER, duration=20)
    await settle(hass, simulator)
    assert push.silent_resources == []
    assert push.calls_pushed


@pytest.mark.parametrize("push_options", [{"push_base_url": "http://127.0.0.1:8123", "enterprise_discovery": False}])
@pytest.mark.parametrize("kept", ["login_name", "number"])
async def test_feature_subscription_by_login_names_from_the_lines_step(
    hass: HomeAssistant, simulator: Simulator, push_options: dict[str, Any], kept: str
) -> None:
    """Lines found in the lines step (7.8 look-up) keep their login name, or their number (login: number@SIP
    domain): FEATURE names them by login name from the first subscription."""
    lines = {user_id: simulator.state.line(user_id) for user_id in (ROOM_101, ROOM_102)}
    logins = {user_id: line.login_name for user_id, line in lines.items()}
    known = {user_id: logins[user_id] if kept == "login_name" else line.phone_number for user_id, line in lines.items()}
    entry = demo_entry(
        simulator.base_url,
        options=push_options,
        subentries_data=[
            ConfigSubentryData(
                data={"user_id": user_id, "name": f"Room {index}", kept: value},
                subentry_type="line",
                title=f"Room {index}",
                unique_id=str(user_id),
            )
            for index, (user_id, value) in enumerate(known.items(), start=101)
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass, simulator)
    feature = by_type(simulator)["FEATURE"]
    assert sorted(feature["loginNames"]) == sorted(logins.values())
    assert "userIds" not in feature
    simulator.set_dnd(ROOM_102, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_102_do_not_disturb").state == STATE_ON
