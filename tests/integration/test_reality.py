"""Where the real API may differ from the simulator's defaults: clocks, payloads, endpoints.

The simulator normally shares Home Assistant's clock and serves every assumed endpoint.
Here its clock is skewed, its pushes are lost, late or malformed, and the endpoints the
wiki does not document (call history, subscription renewal) are absent. Nothing the
phone changed may be lost, nothing may be guessed, and an absent endpoint costs almost
no request.
"""

from __future__ import annotations

import copy
from datetime import timedelta
import json
import logging
from types import MappingProxyType
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState, ConfigSubentry
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vtx_voip.api.assumptions import UNSUPPORTED_RETRY
from custom_components.vtx_voip.const import FEATURE_POLL_INTERVAL, FEATURE_RECONCILE_INTERVAL
from custom_components.vtx_voip.coordinator import FAILED_LINE_RETRY
from custom_components.vtx_voip.push import STALL_GRACE, PushManager
from vtx_simulator import Simulator

from .conftest import ROOM_101, WEBHOOK_ID
from .test_push import CREATE, RENEW, by_type, issue, settle, travel

CALLLOGS = "GET /openapi/v1/users/{user_id}/calllogs"
GET_FEATURES = "GET /openapi/v1/users/{user_id}/feat"
DELETE = "DELETE /openapi/v1/subscriptions/{subscription_id}"
DND = "CENTRAL_DND"
DND_101 = "switch.room_101_do_not_disturb"
CFU = "CALL_FORWARD_UNCONDITIONAL"
CFU_DATA = "callForwardUnconditionalData"
CFU_TEXT_101 = "text.room_101_forward_all_calls_to"
WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
# The wiki's feature push example's eventTime: two years before "now" in these tests.
WIKI_EVENT_TIME = "2024-11-04T12:38:54.753+01:00"


def push_of(entry: MockConfigEntry) -> PushManager:
    """The entry's push manager."""
    return entry.runtime_data.push


def held_raw(entry: MockConfigEntry, user_id: int, name: str) -> dict[str, Any]:
    """A feature as Home Assistant holds it (raw JSON)."""
    return copy.deepcopy(entry.runtime_data.features.data[user_id][name].raw)


def dnd_states(entry: MockConfigEntry) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The FEATURE subscription id, and Room 101's DND as held and the same turned on."""
    inactive = held_raw(entry, ROOM_101, DND)
    return push_of(entry).subscriptions["FEATURE"].id, inactive, {**copy.deepcopy(inactive), "status": "ACTIVE"}


def feature_event(
    subscription_id: str, feature: dict[str, Any], previous: dict[str, Any] | None, event_time: str
) -> dict[str, Any]:
    """A push with one feature event, in the wiki's shape."""
    event: dict[str, Any] = {"changeType": "MODIFIED", "feature": feature, "eventTime": event_time}
    if previous is not None:
        event["previousValue"] = previous
    return {"subscriptionId": subscription_id, "featureEvents": [event]}


async def post(hass_client_no_auth: ClientSessionGenerator, body: Any) -> int:
    """POST a push body to the entry's webhook; return the HTTP status."""
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    return int(response.status)


def now_local_millis(offset: float = 0.0) -> str:
    """An eventTime as the API writes it, ``offset`` seconds from Home Assistant's clock."""
    return dt_util.as_local(dt_util.utcnow() + timedelta(seconds=offset)).isoformat(timespec="milliseconds")


# --- 1. Ordering that never compares two clocks ---------------------------------------


async def test_wiki_push_as_published_is_applied(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """The wiki's DND push turns DND on when dated after the read of the state held; as published
    (November 2024, before that read) it is stale although its previousValue is what is held."""
    entry = init_integration
    assert hass.states.get(DND_101).state == STATE_OFF
    previous = held_raw(entry, ROOM_101, DND)
    assert previous["status"] == "INACTIVE"
    feature = {**copy.deepcopy(previous), "status": "ACTIVE"}
    subscription = push_of(entry).subscriptions["FEATURE"].id
    assert await post(hass_client_no_auth, feature_event(subscription, feature, previous, WIKI_EVENT_TIME)) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND_101).state == STATE_OFF
    body = feature_event(subscription, feature, previous, now_local_millis(2))
    assert await post(hass_client_no_auth, body) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND_101).state == STATE_ON


async def test_old_push_without_causal_link_is_ignored(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """A push older than the last one applied, not following on from what is held, is stale."""
    entry = init_integration
    sub, inactive, active = dnd_states(entry)
    # DND on, then off (in order), then the "on" delivered again late and without previousValue.
    assert await post(hass_client_no_auth, feature_event(sub, active, inactive, now_local_millis(-20))) == 200
    assert await post(hass_client_no_auth, feature_event(sub, inactive, active, now_local_millis(-10))) == 200
    assert await post(hass_client_no_auth, feature_event(sub, active, None, now_local_millis(-15))) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND_101).state == STATE_OFF


async def test_event_time_far_in_the_future_does_not_freeze(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """An event dated 2099 is applied; later real changes still are, with or without previousValue."""
    entry = init_integration
    sub, inactive, active = dnd_states(entry)
    future = "2099-01-01T00:00:00.000+01:00"
    assert await post(hass_client_no_auth, feature_event(sub, active, inactive, future)) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND_101).state == STATE_ON
    assert await post(hass_client_no_auth, feature_event(sub, inactive, None, now_local_millis(5))) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND_101).state == STATE_OFF


@pytest.mark.parametrize("offset", [-600, -60, 60, 600])
async def test_skewed_server_clock_loses_no_change(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    offset: int,
) -> None:
    """VTX's clock 10 min behind or ahead: changes right after a poll or a write all arrive."""
    simulator.advance_clock(offset)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    # Right after a reconciliation poll, the phone turns DND on, then off, then on.
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    for on in (True, False, True):
        simulator.set_dnd(ROOM_101, on)
        await settle(hass, simulator)
        assert hass.states.get(DND_101).state == (STATE_ON if on else STATE_OFF)
    # Right after Home Assistant's own write, the phone changes it back.
    await hass.services.async_call("switch", "turn_off", {"entity_id": DND_101}, blocking=True)
    await settle(hass, simulator)
    assert hass.states.get(DND_101).state == STATE_OFF
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get(DND_101).state == STATE_ON
    # The next reconciliations find nothing push did not bring: no stall.
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert issue(hass, config_entry, "push_stalled") is None
    assert push_of(config_entry).healthy
    assert hass.states.get(DND_101).state == STATE_ON


# --- 2. Strict validation of what is pushed -------------------------------------------


def _malformed(feature: dict[str, Any], kind: str) -> dict[str, Any]:
    bad = copy.deepcopy(feature)
    match kind:
        case "status-missing":
            del bad["status"]
        case "status-null":
            bad["status"] = None
        case "status-number":
            bad["status"] = 1
        case "status-list":
            bad["status"] = ["INACTIVE"]
        case "status-unknown":
            bad["status"] = "OFF"
        case "data-list":
            bad[CFU_DATA] = [bad[CFU_DATA]]
        case "data-string":
            bad[CFU_DATA] = "+41790000000"
        case "data-destination-number":
            bad[CFU_DATA] = {**bad[CFU_DATA], "destinationUri": 41790000000}
    return bad


@pytest.mark.parametrize("kind", ["status-missing", "status-null", "status-number", "status-list", "status-unknown"])
async def test_pushed_dnd_without_valid_status_keeps_state(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """DND on, then a push whose status is unusable: DND stays on (never read as off)."""
    entry = init_integration
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get(DND_101).state == STATE_ON
    held = held_raw(entry, ROOM_101, DND)
    sub = push_of(entry).subscriptions["FEATURE"].id
    for _ in range(2):
        assert await post(hass_client_no_auth, feature_event(sub, _malformed(held, kind), held, now_local_millis(1)))
        await hass.async_block_till_done()
    assert hass.states.get(DND_101).state == STATE_ON
    assert held_raw(entry, ROOM_101, DND) == held


@pytest.mark.parametrize("kind", ["data-list", "data-string", "data-destination-number"])
async def test_pushed_forward_with_malformed_data_keeps_destination(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    kind: str,
) -> None:
    """A forward whose data block is a list, a string or holds a number: destination kept."""
    entry = init_integration
    before = hass.states.get(CFU_TEXT_101)
    assert before is not None
    assert before.state not in ("unavailable", "unknown")
    held = held_raw(entry, ROOM_101, CFU)
    bad = {**_malformed(held, kind), "status": "ACTIVE"}
    sub = push_of(entry).subscriptions["FEATURE"].id
    assert await post(hass_client_no_auth, feature_event(sub, bad, held, now_local_millis(1))) == 200
    await hass.async_block_till_done()
    after = hass.states.get(CFU_TEXT_101)
    assert after is not None
    assert after.state == before.state
    assert hass.states.get("switch.room_101_forward_all_calls").state == STATE_OFF


async def test_polled_feature_without_valid_status_keeps_state(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A poll answering DND without a status keeps what is held, logged once at info."""
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    feature = simulator.feature(ROOM_101, DND)
    del feature["status"]
    simulator.state.features[feature["id"]] = feature
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    for _ in range(3):
        await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    assert hass.states.get(DND_101).state == STATE_ON
    logged = [record for record in caplog.records if "without a valid status or data" in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.INFO


# --- 3. Assumed endpoints fail quietly and safely -------------------------------------


@pytest.mark.parametrize("status", [404, 405, 501])
@pytest.mark.parametrize("push_options", [{"push_base_url": "http://127.0.0.1:8123"}, {}])
async def test_absent_call_history_asked_every_six_hours(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """A platform without the call-history endpoint: asked at most every 6 h, logged once."""
    simulator.add_fault("status", status=status, count=None, path="calllogs")
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    assert config_entry.state is ConfigEntryState.LOADED
    for _ in range(6 * 4):
        await travel(hass, freezer, timedelta(minutes=15))
    counts = simulator.request_counts()
    # Once at start-up (per line at most), once again after 6 hours: never once a minute.
    assert counts.get(CALLLOGS, 0) <= 2 * 2
    diagnostics = push_of(config_entry).diagnostics()
    assert "call_history" in diagnostics["unsupported_endpoints"]
    ours = [record for record in caplog.records if record.name.startswith("custom_components.vtx_voip")]
    info = [record for record in ours if record.levelno >= logging.INFO and "call_history" in record.getMessage()]
    assert len(info) <= 1
    assert not [
        record for record in caplog.records if record.levelno >= logging.WARNING and "calllogs" in record.getMessage()
    ]


async def test_rate_limit_pauses_requests(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A 429 with Retry-After: nothing is sent before it has passed, then work resumes."""
    simulator.add_fault("status", status=429, retry_after=600, count=1, method="GET")
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    simulator.reset_request_counts()
    for _ in range(4):  # 8 minutes of the 10 asked for
        await travel(hass, freezer, timedelta(minutes=2))
    assert simulator.total_requests() == 0
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    assert simulator.request_counts().get(GET_FEATURES, 0) >= 1


async def test_unauthorized_stops_every_request(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A 401 starts re-authentication and no request at all is sent after it (no lockout)."""
    entry = init_integration
    simulator.add_fault("status", status=401, count=None)
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    flows = hass.config_entries.flow.async_progress_by_handler("vtx_voip")
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    simulator.reset_request_counts()
    for _ in range(8):
        await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    assert simulator.total_requests() == 0
    assert entry.state is ConfigEntryState.LOADED


async def test_refused_renewal_replaced_without_gap(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Renewal answered 405: a new subscription first, then the old one deleted; rarely asked."""
    entry = init_integration
    push = push_of(entry)
    simulator.add_fault("status", status=405, count=None, method="PATCH")
    caplog.set_level(logging.INFO, logger="custom_components.vtx_voip")
    first = {resource: sub["id"] for resource, sub in by_type(simulator).items()}
    gaps: list[str] = []
    original_delete = push.client.delete_subscription

    async def delete_checking(subscription_id: str) -> None:
        # When an old subscription is deleted, its replacement already exists.
        live = [sub for sub in simulator.subscriptions() if sub["id"] != subscription_id]
        doomed = next(sub for sub in simulator.subscriptions() if sub["id"] == subscription_id)
        if not any(sub["resourceType"] == doomed["resourceType"] for sub in live):
            gaps.append(doomed["resourceType"])
        await original_delete(subscription_id)

    push.client.delete_subscription = delete_checking  # type: ignore[method-assign]
    simulator.reset_request_counts()
    for _ in range(10 * 4):  # ten days, six hours at a time
        await travel(hass, freezer, timedelta(hours=6))
        assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG", "PRESENCE"}
    assert gaps == []
    assert all(by_type(simulator)[resource]["id"] != first[resource] for resource in first)
    counts = simulator.request_counts()
    # Each of 3 subscriptions replaced about every 2 days: a handful of creates, and a
    # renewal asked at most once per replacement (an hour's memory of the refusal).
    assert counts.get(CREATE, 0) <= 3 * 6
    assert counts.get(RENEW, 0) <= counts.get(CREATE, 0)
    assert counts.get(DELETE, 0) == counts.get(CREATE, 0)
    refused = [record for record in caplog.records if "does not renew subscriptions" in record.getMessage()]
    assert len(refused) == 1
    assert push.healthy


async def test_subscription_found_at_the_api_is_adopted_not_duplicated(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A subscription the API made but whose answer was lost is taken over, not duplicated."""
    entry = init_integration
    push = push_of(entry)
    old = by_type(simulator)["FEATURE"]
    # The API made one for us (as a create whose 503 answer hid its id would) ...
    body = {
        "resourceType": "FEATURE",
        "notificationUrl": old["notificationUrl"],
        "expires": (dt_util.utcnow() + timedelta(days=2)).isoformat(),
        # The FEATURE subscription covers the enterprise (discovery on by default).
        "enterpriseNames": ["291908.bus.ent"],
    }
    made = simulator.state.create_subscription(body).id
    # ... and the one held is gone.
    simulator.state.delete_subscription(old["id"])
    simulator.reset_request_counts()
    await push.async_verify()
    await settle(hass, simulator)
    feature_subs = [sub for sub in simulator.subscriptions() if sub["resourceType"] == "FEATURE"]
    assert [sub["id"] for sub in feature_subs] == [made]
    assert push.subscriptions["FEATURE"].id == made
    assert simulator.request_counts().get(CREATE, 0) == 0
    # Pushes on it are accepted.
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get(DND_101).state == STATE_ON


async def test_lost_create_answer_leaves_no_duplicate(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """The API creates the subscription but the answer is lost (503): one subscription in the end."""
    entry = init_integration
    push = push_of(entry)
    simulator.state.delete_subscription(by_type(simulator)["FEATURE"]["id"])
    original_create = simulator.state.create_subscription
    lost: list[str] = []

    def create_then_fail(body: dict[str, Any]) -> Any:
        created = original_create(body)
        if not lost:
            lost.append(created.id)
            raise ConnectionResetError("answer lost")
        return created

    simulator.state.create_subscription = create_then_fail  # type: ignore[method-assign]
    try:
        await push.async_verify()
        await settle(hass, simulator)
    finally:
        simulator.state.create_subscription = original_create  # type: ignore[method-assign]
    await travel(hass, freezer, timedelta(minutes=10))  # the retry after the failed create
    feature_subs = [sub for sub in simulator.subscriptions() if sub["resourceType"] == "FEATURE"]
    assert len(feature_subs) == 1
    assert lost
    assert push.subscriptions["FEATURE"].id == feature_subs[0]["id"]


# --- 4. Stalls and polling -----------------------------------------------------------


async def test_reconcile_finding_a_change_whose_push_is_late_is_no_stall(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A poll reads a change whose push is still on its way; the push arrives: no stall."""
    entry = init_integration
    push = push_of(entry)
    inactive = held_raw(entry, ROOM_101, DND)
    simulator.drop_pushes(1)  # "on its way": delivered by hand below
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    await travel(hass, freezer, FEATURE_RECONCILE_INTERVAL)
    assert hass.states.get(DND_101).state == STATE_ON  # the poll found it
    late = feature_event(
        push.subscriptions["FEATURE"].id, simulator.feature(ROOM_101, DND), inactive, now_local_millis(-60)
    )
    assert await post(hass_client_no_auth, late) == 200
    await travel(hass, freezer, STALL_GRACE + timedelta(seconds=1))
    assert issue(hass, entry, "push_stalled") is None
    assert push.healthy
    assert entry.runtime_data.features.update_interval == FEATURE_RECONCILE_INTERVAL
    assert hass.states.get(DND_101).state == STATE_ON


async def test_push_lost_between_polls_polls_at_once(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """The FEATURE subscription is gone and cannot be made again: features are read at once."""
    entry = init_integration
    push = push_of(entry)
    simulator.state.delete_subscription(by_type(simulator)["FEATURE"]["id"])
    simulator.add_fault("status", status=503, count=None, method="POST", path="subscriptions")
    renew_at = push.lifecycle.renew_at("FEATURE")
    # Up to just before the renewal (polls due on the way run now, the next is 15 min away).
    await travel(hass, freezer, renew_at - dt_util.utcnow() - timedelta(seconds=30))
    simulator.reset_request_counts()
    await travel(hass, freezer, timedelta(seconds=40))
    assert not push.healthy
    assert entry.runtime_data.features.update_interval == FEATURE_POLL_INTERVAL
    assert simulator.request_counts().get(GET_FEATURES, 0) == 2  # both lines, without waiting


async def test_unsupported_endpoint_retry_constant_is_six_hours() -> None:
    """The one place that says how often an absent endpoint is asked again."""
    assert timedelta(hours=6) == UNSUPPORTED_RETRY


async def test_late_echo_of_an_earlier_write_is_ignored(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """On, then off, from Home Assistant; the push of the first write comes last: it stays off.

    The late push carries a newer eventTime than anything held (a server clock ahead), so
    only causality tells it is the echo of an older write.
    """
    entry = init_integration
    simulator.drop_pushes()
    await hass.services.async_call("switch", "turn_on", {"entity_id": DND_101}, blocking=True)
    echo = held_raw(entry, ROOM_101, DND)
    assert echo["status"] == "ACTIVE"
    await hass.services.async_call("switch", "turn_off", {"entity_id": DND_101}, blocking=True)
    assert hass.states.get(DND_101).state == STATE_OFF
    sub = push_of(entry).subscriptions["FEATURE"].id
    assert await post(hass_client_no_auth, feature_event(sub, echo, None, now_local_millis(300))) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND_101).state == STATE_OFF
    assert simulator.feature(ROOM_101, DND)["status"] == "INACTIVE"


async def test_line_added_while_the_api_fails_is_read_again(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """A line added while its reads fail shows unavailable, then its state once a retry works."""
    entry = init_integration
    room_103 = 176133
    simulator.add_fault("status", status=503, count=2, path=f"/users/{room_103}/")
    assert hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType({"user_id": room_103, "name": "Room 103"}),
            subentry_type="line",
            title="Room 103",
            unique_id=str(room_103),
        ),
    )
    await settle(hass, simulator)
    state = hass.states.get("switch.room_103_do_not_disturb")
    assert state is None or state.state == STATE_UNAVAILABLE
    assert hass.states.get(DND_101).state == STATE_OFF
    for _ in range(3):
        await travel(hass, freezer, FAILED_LINE_RETRY + timedelta(seconds=1))
    state = hass.states.get("switch.room_103_do_not_disturb")
    assert state is not None
    assert state.state == STATE_OFF
    assert room_103 in entry.runtime_data.features.lines


async def test_wiki_only_server(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
) -> None:
    """A server doing only what the wiki documents: push works, presence is polled, little is asked.

    No call history (404), no renewal (405), no PRESENCE subscription (400): over three
    days, FEATURE and CALL_LOG subscriptions are always held and replaced before they
    expire, the call history is asked at most every 6 hours, and phone changes arrive.
    """
    simulator.set_profile("wiki")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await settle(hass, simulator)
    push = push_of(config_entry)
    assert config_entry.state is ConfigEntryState.LOADED
    assert push.presence_refused
    assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG"}
    assert push.healthy
    simulator.reset_request_counts()
    for hour in range(3 * 24):
        await travel(hass, freezer, timedelta(hours=1))
        assert set(by_type(simulator)) == {"FEATURE", "CALL_LOG"}, hour
        if hour % 12 == 0:
            simulator.set_dnd(ROOM_101, hour % 24 == 0)
            await settle(hass, simulator)
            assert hass.states.get(DND_101).state == (STATE_ON if hour % 24 == 0 else STATE_OFF)
    counts = simulator.request_counts()
    assert counts.get(CALLLOGS, 0) <= 2 * (3 * 24 // 6 + 1)
    assert counts.get(RENEW, 0) <= counts.get(CREATE, 0) <= 2 * 3
    assert issue(hass, config_entry, "push_stalled") is None
    assert "call_history" in push.diagnostics()["unsupported_endpoints"]
