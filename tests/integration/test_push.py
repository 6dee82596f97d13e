"""Push subscriptions: created, renewed, repaired, cleaned up; health and polling cadence.

Every test runs Home Assistant against the simulator; the simulator POSTs its pushes into
Home Assistant's webhook. Time travel (freezer + ``async_fire_time_changed``) moves the
simulator's clock too (it reads ``datetime.now``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.vtx_voip.api import parse_datetime
from custom_components.vtx_voip.const import (
    DOMAIN,
    FEATURE_POLL_INTERVAL,
    FEATURE_RECONCILE_INTERVAL,
    PRESENCE_POLL_INTERVAL,
)
from custom_components.vtx_voip.push import RETRY_DELAY, STALL_GRACE, SUBSCRIPTION_LIFETIME
from vtx_simulator import Simulator

from .conftest import PUSH_BASE_URL, ROOM_101, ROOM_102, WEBHOOK_ID

OUR_URL = f"{PUSH_BASE_URL}/api/webhook/{WEBHOOK_ID}"
ROOM_102_SIM = 176133  # a third line of the simulator, not in the entry
SUBS = "/openapi/v1/subscriptions"
RENEW = "PATCH /openapi/v1/subscriptions/{subscription_id}"
CREATE = "POST /openapi/v1/subscriptions"


async def settle(hass: HomeAssistant, simulator: Simulator) -> None:
    """Let every push be delivered and every task (background ones too) finish."""
    await simulator.wait_for_pushes()
    await hass.async_block_till_done(wait_background_tasks=True)


async def travel(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Move time forward, fire what became due and wait for it.

    Then a second passes: with time frozen, a phone change at the very instant of a poll
    would carry an event time (milliseconds) older than the poll, which is ignored.
    """
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    freezer.tick(timedelta(seconds=1))


def ours(simulator: Simulator, url: str = OUR_URL) -> list[dict[str, Any]]:
    """The live subscriptions at the simulator pointing at this entry's webhook."""
    return [sub for sub in simulator.subscriptions() if sub["notificationUrl"] == url]


def by_type(simulator: Simulator) -> dict[str, dict[str, Any]]:
    """This entry's live subscriptions by resource type (exactly one of each)."""
    subs = ours(simulator)
    result = {sub["resourceType"]: sub for sub in subs}
    assert len(result) == len(subs), subs
    return result


def push_entity(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The entity id of the entry's push binary sensor."""
    entity_id = er.async_get(hass).async_get_entity_id("binary_sensor", DOMAIN, f"{entry.entry_id}_push")
    assert entity_id is not None
    return entity_id


def issue(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> ir.IssueEntry | None:
    """A repair issue of this entry."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{key}_{entry.entry_id}")


def add_foreign_subscription(simulator: Simulator, url: str = "https://other.example.com/hook") -> str:
    """A subscription of someone else (another application or instance) at the simulator."""
    expires = dt_util.utcnow() + timedelta(days=1)
    body = {"resourceType": "FEATURE", "notificationUrl": url, "expires": expires.isoformat(), "userIds": [ROOM_101]}
    return simulator.state.create_subscription(body).id


async def test_subscriptions_at_setup(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """FEATURE for the enterprise, CALL_LOG and PRESENCE by userIds, to the webhook, nearly 3 days; push healthy."""
    entry = init_integration
    subs = by_type(simulator)
    assert set(subs) == {"FEATURE", "CALL_LOG", "PRESENCE"}
    assert subs["FEATURE"]["enterpriseNames"] == ["291908.bus.ent"]
    assert "userIds" not in subs["FEATURE"]
    now = dt_util.utcnow()
    for sub in subs.values():
        assert sub.get("userIds", [ROOM_101, ROOM_102]) == [ROOM_101, ROOM_102]
        expires = parse_datetime(sub["expires"])
        assert expires is not None
        assert timedelta(days=2) < expires - now <= timedelta(days=3)
    runtime = entry.runtime_data
    assert runtime.features.update_interval == FEATURE_RECONCILE_INTERVAL
    assert runtime.presence.update_interval == FEATURE_RECONCILE_INTERVAL
    state = hass.states.get(push_entity(hass, entry))
    assert state is not None
    assert state.state == STATE_ON
    assert state.attributes["device_class"] == "connectivity"
    entity = er.async_get(hass).async_get(push_entity(hass, entry))
    assert entity is not None
    assert entity.entity_category is er.EntityCategory.DIAGNOSTIC
    # The webhook id was kept, not generated anew.
    assert entry.data["webhook_id"] == WEBHOOK_ID
    diagnostics = runtime.push.diagnostics() if runtime.push else {}
    assert diagnostics["healthy"] is True
    assert diagnostics["url_source"] == "option"
    assert set(diagnostics["subscriptions"]) == {"FEATURE", "CALL_LOG", "PRESENCE"}


async def test_webhook_id_generated_once(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """An entry without a webhook id gets one at its first set-up and keeps it."""
    config_entry.add_to_hass(hass)
    data = dict(config_entry.data)
    del data["webhook_id"]
    hass.config_entries.async_update_entry(config_entry, data=data)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    webhook_id = config_entry.data["webhook_id"]
    assert len(webhook_id) >= 32
    assert {sub["notificationUrl"] for sub in simulator.subscriptions()} == {
        f"{PUSH_BASE_URL}/api/webhook/{webhook_id}"
    }
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.data["webhook_id"] == webhook_id


async def test_presence_refused_is_polled(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A refused PRESENCE subscription leaves push healthy and presence polled every 30 s."""
    simulator.presence_push_enabled = False
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG"}
    runtime = config_entry.runtime_data
    assert runtime.push is not None
    assert runtime.push.presence_refused
    assert runtime.push.healthy
    assert runtime.features.update_interval == FEATURE_RECONCILE_INTERVAL
    assert runtime.presence.update_interval == PRESENCE_POLL_INTERVAL
    assert hass.states.get(push_entity(hass, config_entry)).state == STATE_ON

    simulator.start_call(ROOM_101, number="+41791112233")
    await settle(hass, simulator)
    assert hass.states.get("sensor.room_101_presence").state == "available"
    await travel(hass, freezer, PRESENCE_POLL_INTERVAL)
    assert hass.states.get("sensor.room_101_presence").state == "on_call"
    # Renewals do not ask for PRESENCE again.
    simulator.reset_request_counts()
    await travel(hass, freezer, timedelta(days=2, hours=1))
    assert simulator.request_counts().get(CREATE, 0) == 0
    assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG"}


async def test_leftovers_deleted_at_startup(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """Subscriptions an earlier run left for this webhook are deleted; others' are kept."""
    expires = (dt_util.utcnow() + timedelta(days=1)).isoformat()
    for resource in ("FEATURE", "CALL_LOG"):
        simulator.state.create_subscription(
            {"resourceType": resource, "notificationUrl": OUR_URL, "expires": expires, "userIds": [ROOM_101]}
        )
    # Same webhook behind another base URL (the option changed since): ours too.
    old_base = simulator.state.create_subscription(
        {
            "resourceType": "FEATURE",
            "notificationUrl": f"https://old.example.com/api/webhook/{WEBHOOK_ID}",
            "expires": expires,
            "userIds": [ROOM_101],
        }
    ).id
    foreign = add_foreign_subscription(simulator)
    assert len(simulator.subscriptions()) == 4

    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    ids = {sub["id"] for sub in simulator.subscriptions()}
    assert foreign in ids
    assert old_base not in ids
    assert len(ours(simulator)) == 3
    assert len(ids) == 4


async def test_lines_added_and_removed_update_subscriptions(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Adding or removing a line reloads the entry; the subscriptions follow its lines."""
    entry = init_integration
    subentry = ConfigSubentry(
        data={"user_id": ROOM_102_SIM, "name": "Room 103"}, subentry_type="line", title="Room 103", unique_id="176133"
    )
    assert hass.config_entries.async_add_subentry(entry, subentry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    subs = by_type(simulator)
    assert len(subs) == 3
    assert all(
        sub.get("userIds", [ROOM_101, ROOM_102, ROOM_102_SIM]) == [ROOM_101, ROOM_102, ROOM_102_SIM]
        for sub in subs.values()
    )

    # A push for the new line reaches it.
    simulator.set_dnd(ROOM_102_SIM, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_103_do_not_disturb").state == STATE_ON

    assert hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    subs = by_type(simulator)
    assert len(subs) == 3
    assert all(sub.get("userIds", [ROOM_101, ROOM_102]) == [ROOM_101, ROOM_102] for sub in subs.values())


async def test_unload_cancels_timers(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """After unload the subscriptions stay at the API (they are the entry's), and no timer of the entry runs."""
    held = {sub["id"] for sub in ours(simulator)}
    assert len(held) == 3
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert {sub["id"] for sub in ours(simulator)} == held
    simulator.reset_request_counts()
    for _ in range(4):
        await travel(hass, freezer, timedelta(days=1))
    assert simulator.total_requests() == 0
    # No run took the webhook over: it was let go.
    assert WEBHOOK_ID not in hass.data.get("webhook", {})
    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_setup_unload_cycles(hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry) -> None:
    """20 set-up/unload cycles: the same 3 live subscriptions throughout, adopted at each set-up, never deleted."""
    foreign = add_foreign_subscription(simulator)
    config_entry.add_to_hass(hass)
    first: set[str] | None = None
    for _ in range(20):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
        held = {sub["id"] for sub in ours(simulator)}
        assert len(held) == 3
        first = first or held
        assert held == first
        assert len(simulator.subscriptions()) == 4
        assert await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()
        assert {sub["id"] for sub in simulator.subscriptions()} == first | {foreign}
    assert simulator.request_counts().get(CREATE, 0) == 3


async def test_renewal_never_lapses(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Across 10 lifetimes (30 days) the simulator always holds the same 3 live subscriptions."""
    first = {resource: sub["id"] for resource, sub in by_type(simulator).items()}
    simulator.reset_request_counts()
    step = timedelta(hours=12)
    steps = int(SUBSCRIPTION_LIFETIME * 10 / step) + 1
    for _ in range(steps):
        await travel(hass, freezer, step)
        subs = by_type(simulator)
        assert {resource: sub["id"] for resource, sub in subs.items()} == first
        for sub in subs.values():
            expires = parse_datetime(sub["expires"])
            assert expires is not None
            # Renewed well before expiry: never less than a day left.
            assert expires - dt_util.utcnow() > timedelta(hours=23)
    counts = simulator.request_counts()
    assert counts.get(CREATE, 0) == 0
    # About one renewal per subscription every two days.
    assert 3 * 14 <= counts[RENEW] <= 3 * 16
    # Push still works.
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON


async def test_renewal_404_creates_new(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A subscription gone at renewal time (404) is created anew, and its pushes work."""
    old = by_type(simulator)["FEATURE"]["id"]
    simulator.state.delete_subscription(old)
    simulator.reset_request_counts()
    await travel(hass, freezer, timedelta(days=2, hours=1))
    counts = simulator.request_counts()
    assert counts[RENEW] == 3
    assert counts[CREATE] == 1
    subs = by_type(simulator)
    assert len(subs) == 3
    assert subs["FEATURE"]["id"] != old
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON


async def test_renewal_failure_retries_paced(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A failing renewal is retried every few minutes (never in a loop) until it works."""
    await travel(hass, freezer, timedelta(days=1, hours=23))
    simulator.reset_request_counts()
    simulator.add_fault("status", count=None, status=503, method="PATCH")
    for _ in range(12):
        await travel(hass, freezer, timedelta(minutes=5))
    renewals = simulator.request_counts().get(RENEW, 0)
    # 3 subscriptions, one attempt each per retry: a handful of rounds in an hour.
    assert 3 <= renewals <= 3 * 12
    assert len(ours(simulator)) == 3
    simulator.clear_faults()
    await travel(hass, freezer, RETRY_DELAY)
    for sub in ours(simulator):
        expires = parse_datetime(sub["expires"])
        assert expires is not None
        assert expires - dt_util.utcnow() > timedelta(days=2)
    simulator.reset_request_counts()
    await travel(hass, freezer, RETRY_DELAY * 2)
    assert simulator.request_counts().get(RENEW, 0) == 0


async def test_expired_during_outage_recreated(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """When renewals fail until the subscriptions expire, new ones are made once the API is back."""
    simulator.add_fault("status", count=None, status=503, path=SUBS)
    for _ in range(4):
        await travel(hass, freezer, timedelta(days=1))
    assert ours(simulator) == []
    push = init_integration.runtime_data.push
    assert push is not None
    assert not push.healthy
    assert issue(hass, init_integration, "subscribe_failed") is not None
    assert init_integration.runtime_data.features.update_interval == FEATURE_POLL_INTERVAL
    simulator.clear_faults()
    await travel(hass, freezer, RETRY_DELAY)
    assert len(by_type(simulator)) == 3
    assert push.healthy
    assert issue(hass, init_integration, "subscribe_failed") is None
    assert init_integration.runtime_data.features.update_interval == FEATURE_RECONCILE_INTERVAL


async def test_subscribe_failure_at_setup(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A refused FEATURE subscription: repair issue, polling, retried a few minutes later."""
    simulator.add_fault("status", count=None, status=400, method="POST", path=SUBS)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert ours(simulator) == []
    assert issue(hass, config_entry, "subscribe_failed") is not None
    assert hass.states.get(push_entity(hass, config_entry)).state == STATE_OFF
    runtime = config_entry.runtime_data
    assert runtime.features.update_interval == FEATURE_POLL_INTERVAL
    assert runtime.presence.update_interval == PRESENCE_POLL_INTERVAL
    # The PRESENCE refusal was the same 400 here, but it is only given up when the others work.
    simulator.clear_faults()
    await travel(hass, freezer, RETRY_DELAY)
    assert set(by_type(simulator)) >= {"FEATURE", "CALL_LOG"}
    assert issue(hass, config_entry, "subscribe_failed") is None
    assert hass.states.get(push_entity(hass, config_entry)).state == STATE_ON


async def test_stalled_push_detected_and_cleared(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Pushes that silently stop are found by the reconciliation; the next push clears it."""
    entry = init_integration
    runtime = entry.runtime_data
    simulator.drop_pushes()
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    # The reconciliation found it; without a push during the grace period, push is stalled.
    assert issue(hass, entry, "push_stalled") is None
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert issue(hass, entry, "push_stalled") is not None
    assert hass.states.get(push_entity(hass, entry)).state == STATE_OFF
    assert runtime.features.update_interval == FEATURE_POLL_INTERVAL
    assert runtime.presence.update_interval == PRESENCE_POLL_INTERVAL
    # Polling every minute now.
    simulator.set_dnd(ROOM_101, False)
    await travel(hass, freezer, FEATURE_POLL_INTERVAL)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF
    # The subscriptions were checked and are still there: nothing re-created.
    assert len(ours(simulator)) == 3
    # Push works again: the next push clears it.
    simulator.clear_push_faults()
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert issue(hass, entry, "push_stalled") is None
    assert hass.states.get(push_entity(hass, entry)).state == STATE_ON
    assert runtime.features.update_interval == FEATURE_RECONCILE_INTERVAL
    assert runtime.presence.update_interval == FEATURE_RECONCILE_INTERVAL


async def test_stall_from_lost_subscription_repaired(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A subscription the API dropped without telling is re-created when the stall is found."""
    old = by_type(simulator)["FEATURE"]["id"]
    simulator.state.delete_subscription(old)
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    subs = by_type(simulator)
    assert len(subs) == 3
    assert subs["FEATURE"]["id"] != old
    assert issue(hass, init_integration, "push_stalled") is not None
    simulator.set_dnd(ROOM_101, False)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_OFF
    assert issue(hass, init_integration, "push_stalled") is None


async def test_healthy_cadence_and_request_budget(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """With push healthy an hour costs 4 feature and 4 presence reads and 1 history read per line."""
    simulator.reset_request_counts()
    for _ in range(60):
        await travel(hass, freezer, timedelta(minutes=1))
    counts = simulator.request_counts()
    assert counts["GET /openapi/v1/users/{user_id}/feat"] == 4 * 2
    assert counts["GET /openapi/v1/users/{user_id}/presence"] == 4 * 2
    assert counts["GET /openapi/v1/users/{user_id}/calllogs"] == 1 * 2
    assert simulator.total_requests() == 9 * 2
    push = init_integration.runtime_data.push
    assert push is not None
    assert push.healthy
    assert issue(hass, init_integration, "push_stalled") is None


@pytest.mark.parametrize("push_options", [{"push_base_url": PUSH_BASE_URL, "enterprise_discovery": False}])
async def test_entry_without_lines(hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry) -> None:
    """Without discovery, an entry with no line subscribes to nothing and reports push off, without an issue."""
    config_entry.add_to_hass(hass)
    for subentry_id in list(config_entry.subentries):
        hass.config_entries.async_remove_subentry(config_entry, subentry_id)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert simulator.subscriptions() == []
    assert issue(hass, config_entry, "subscribe_failed") is None
    assert issue(hass, config_entry, "no_push_url") is None
    assert hass.states.get(push_entity(hass, config_entry)).state == STATE_OFF


async def test_staggered_renewals(
    freezer: FrozenDateTimeFactory, hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Subscriptions made at different times are each renewed when due, not all at once."""
    old = by_type(simulator)["FEATURE"]["id"]
    simulator.state.delete_subscription(old)
    simulator.set_dnd(ROOM_101, True)
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    # A push on the re-created one clears the stall (else it would be replaced 6 hours later).
    simulator.set_dnd(ROOM_101, False)
    await settle(hass, simulator)
    # Re-created 15 minutes after the others: due 15 minutes after them (a day before expiry).
    expires = {resource: parse_datetime(sub["expires"]) for resource, sub in by_type(simulator).items()}
    assert expires["FEATURE"] is not None
    assert expires["CALL_LOG"] is not None
    assert expires["FEATURE"] - expires["CALL_LOG"] >= timedelta(minutes=15)
    simulator.reset_request_counts()
    await travel(hass, freezer, expires["CALL_LOG"] - timedelta(days=1) - dt_util.utcnow() + timedelta(minutes=3))
    after = {resource: sub["expires"] for resource, sub in by_type(simulator).items()}
    assert simulator.request_counts()[RENEW] == 2
    assert parse_datetime(after["FEATURE"]) == expires["FEATURE"]
    assert parse_datetime(after["CALL_LOG"]) != expires["CALL_LOG"]
    assert parse_datetime(after["PRESENCE"]) != expires["PRESENCE"]
    # FEATURE was re-created 15 minutes and the stall grace after the others.
    await travel(hass, freezer, timedelta(minutes=15) + STALL_GRACE)
    assert simulator.request_counts()[RENEW] == 3
    assert parse_datetime(by_type(simulator)["FEATURE"]["expires"]) != expires["FEATURE"]


async def test_push_updates_only_its_line(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A pushed change of one line writes that line's entities only (not every line's).

    Every entity write is a ``state_changed`` or, when nothing changed, a
    ``state_reported`` event: the other line's entities must see neither.
    """
    registry = er.async_get(hass)
    room_102 = {
        entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, init_integration.entry_id)
        if entity.unique_id.startswith(f"{ROOM_102}_")
    }
    assert room_102
    written = _record_writes(hass)
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert "switch.room_101_do_not_disturb" in written
    assert not room_102 & set(written), sorted(room_102 & set(written))


async def test_push_writes_only_what_it_changed(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A pushed DND change writes the DND switch and the line status, not the line's other entities.

    The forward switches and destinations of the same line are made of other features:
    they see no ``state_reported`` (a write that changed nothing) either. A poll that
    finds the same values writes none of them again; a change of availability does.
    """
    registry = er.async_get(hass)
    room_101 = {
        entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, init_integration.entry_id)
        if entity.unique_id.startswith(f"{ROOM_101}_") and entity.domain in ("switch", "text")
    }
    untouched = room_101 - {"switch.room_101_do_not_disturb"}
    assert "switch.room_101_forward_all_calls" in untouched
    written = _record_writes(hass)
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get("switch.room_101_do_not_disturb").state == STATE_ON
    assert "switch.room_101_do_not_disturb" in written
    assert "sensor.room_101_line_status" in written
    assert not untouched & set(written), sorted(untouched & set(written))
    # Nor is push health written again at every push while it stays healthy.
    health = next(
        entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, init_integration.entry_id)
        if entity.domain == "binary_sensor" and entity.unique_id.endswith("_push")
    )
    assert hass.states.get(health).state == STATE_ON
    assert health not in written
    # A poll that finds what is held writes nothing again.
    written.clear()
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert not room_101 & set(written), sorted(room_101 & set(written))
    # A failed poll leaves what push and the last poll confirmed as it is: nothing written.
    simulator.add_fault("status", count=None, status=500)
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert not room_101 & set(written), sorted(room_101 & set(written))
    # Credentials refused make them unavailable: that is written.
    simulator.clear_faults()
    simulator.add_fault("status", count=None, status=401)
    await init_integration.runtime_data.features.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_forward_all_calls").state == STATE_UNAVAILABLE
    assert "switch.room_101_forward_all_calls" in written


def _record_writes(hass: HomeAssistant) -> list[str]:
    """The entity ids of every state write from now on (``state_changed`` and ``state_reported``)."""
    written: list[str] = []

    @callback
    def note(event: Any) -> None:
        written.append(event.data["entity_id"])

    @callback
    def every(event_data: Any) -> bool:
        return True

    for event_type in ("state_changed", "state_reported"):
        hass.bus.async_listen(event_type, note, event_filter=every)
    return written
