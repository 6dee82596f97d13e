"""The webhook handler: what a push changes, and everything it must refuse or ignore.

Bodies are POSTed through Home Assistant's HTTP test client (HTTP -> webhook component ->
the handler), by the simulator or by the test itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import copy
from datetime import datetime, timedelta
import itertools
import json
import logging
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED, STATE_ON
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vtx_voip.api import Presence
from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.push import MAX_BODY_BYTES, PushManager
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102, WEBHOOK_ID
from .test_push import settle

PATH = f"/api/webhook/{WEBHOOK_ID}"
OTHER_LINE = 176133  # a line of the simulator that is not in the entry
WIKI_FIXTURES = Path(__file__).parent.parent / "fixtures" / "wiki"
WIKI_REFERENCE = Path("/work/shared/reference/vtx-openapi-wiki.txt")
DND = "switch.room_101_do_not_disturb"


def _push(hass: HomeAssistant) -> PushManager:
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.push is not None
    return entry.runtime_data.push


def sub_id(hass: HomeAssistant, resource: str = "FEATURE") -> str:
    """The id of one of this run's subscriptions."""
    return _push(hass).subscriptions[resource].id


def iso(when: datetime) -> str:
    """An event time as the API writes it."""
    return dt_util.as_local(when).isoformat(timespec="milliseconds")


def feature_push(subscription_id: str, feature: dict[str, Any], event_time: datetime) -> dict[str, Any]:
    """A featureEvents push (the wiki's shape) carrying ``feature``."""
    return {
        "subscriptionId": subscription_id,
        "featureEvents": [
            {"changeType": "MODIFIED", "feature": feature, "previousValue": feature, "eventTime": iso(event_time)}
        ],
    }


def with_status(feature: dict[str, Any], status: str) -> dict[str, Any]:
    """A copy of a feature with another status."""
    return {**copy.deepcopy(feature), "status": status}


def feature_snapshot(hass: HomeAssistant) -> dict[int, dict[str, Any]]:
    """Every feature of every line, as raw JSON."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    return {
        user_id: {name: feature.raw for name, feature in features.items()}
        for user_id, features in (entry.runtime_data.features.data or {}).items()
    }


def presence_snapshot(hass: HomeAssistant) -> dict[int, Presence]:
    """Every line's presence."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    return dict(entry.runtime_data.presence.data or {})


@pytest.fixture
async def client(hass_client_no_auth: ClientSessionGenerator, init_integration: MockConfigEntry) -> Any:
    """An HTTP client of Home Assistant, the entry set up."""
    return await hass_client_no_auth()


async def post(client: Any, body: Any, **kwargs: Any) -> int:
    """POST a body (JSON unless bytes) to the webhook; return the status."""
    data = body if isinstance(body, (bytes, AsyncIterator)) else json.dumps(body).encode()
    response = await client.post(PATH, data=data, headers={"Content-Type": "application/json"}, **kwargs)
    return int(response.status)


# --- state follows push -------------------------------------------------------------------
async def test_state_follows_push(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """DND, forwards and presence follow the phone by push alone, at once; health shows it."""
    entry = init_integration
    registry = er.async_get(hass)
    last_push = registry.async_get_entity_id("sensor", DOMAIN, f"{entry.entry_id}_last_push")
    assert last_push is not None
    assert hass.states.get(last_push).state == "unknown"
    simulator.reset_request_counts()

    simulator.set_dnd(ROOM_101, True)
    simulator.set_forward(ROOM_102, "unconditional", True, "+41791234567")
    simulator.start_call(ROOM_102, number="+41225117902")
    await settle(hass, simulator)

    assert hass.states.get(DND).state == STATE_ON
    assert hass.states.get("switch.room_102_forward_all_calls").state == STATE_ON
    assert hass.states.get("text.room_102_forward_all_calls_to").state == "+41791234567"
    assert hass.states.get("sensor.room_102_presence").state == "on_call"
    assert hass.states.get("binary_sensor.room_102_on_a_call").state == STATE_ON
    # Nothing was polled for it.
    assert simulator.total_requests() == 0
    assert {delivery["status"] for delivery in simulator.deliveries()} == {200}
    state = hass.states.get(last_push)
    assert state is not None
    assert dt_util.parse_datetime(state.state) is not None
    assert _push(hass).pushes_received == len(simulator.deliveries())


async def test_last_push_restored_after_restart(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The last push time survives a reload until the next push."""
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{init_integration.entry_id}_last_push")
    assert entity_id is not None
    before = hass.states.get(entity_id).state
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == before


# --- methods, ids, bodies -----------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_wrong_methods(hass: HomeAssistant, client: Any, method: str) -> None:
    """Only POST reaches the handler; others are answered 405 by the webhook component."""
    body = json.dumps(feature_push(sub_id(hass), {}, dt_util.utcnow())).encode()
    response = await client.request(method, PATH, data=body)
    assert response.status == 405
    push = _push(hass)
    assert push.pushes_received == 0
    assert push.pushes_rejected == 0


async def test_unknown_subscription_about_our_line_is_taken(
    hass: HomeAssistant, simulator: Simulator, client: Any
) -> None:
    """A push about a configured line is taken whatever its subscription id (an earlier run's, one being replaced)."""
    dnd = simulator.feature(ROOM_101, "CENTRAL_DND")
    calls = async_capture_events(hass, "vtx_voip_call")
    # Dated after the second of the set-up's read (within it, previousValue would decide).
    later = dt_util.utcnow() + timedelta(seconds=1)
    body = feature_push("fc544ab6-590f-43be-9134-d37d93a22e4e", with_status(dnd, "ACTIVE"), later)
    body["callLogEvents"] = [{"callLog": {"id": "x1", "userId": ROOM_101, "direction": "OUTGOING", "duration": 5}}]
    assert await post(client, body) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_ON
    assert len(calls) == 1
    assert _push(hass).pushes_rejected == 0
    assert _push(hass).pushes_received == 1


async def test_unknown_subscription_about_other_lines_changes_nothing(
    hass: HomeAssistant, simulator: Simulator, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A push on a subscription not of this entry, about no line of it: 403, logged at debug, ignored."""
    other = simulator.feature(OTHER_LINE, "CENTRAL_DND")
    calls = async_capture_events(hass, "vtx_voip_call")
    before = feature_snapshot(hass)
    caplog.set_level(logging.DEBUG, logger="custom_components.vtx_voip")
    body = feature_push("fc544ab6-590f-43be-9134-d37d93a22e4e", with_status(other, "ACTIVE"), dt_util.utcnow())
    body["callLogEvents"] = [{"callLog": {"id": "x1", "userId": OTHER_LINE, "direction": "OUTGOING", "duration": 5}}]
    assert await post(client, body) == 403
    await hass.async_block_till_done()
    assert feature_snapshot(hass) == before
    assert calls == []
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    records = [r for r in caplog.records if "unknown subscription" in r.getMessage()]
    assert [r.levelno for r in records] == [logging.DEBUG]
    assert _push(hass).pushes_rejected == 1
    assert _push(hass).pushes_received == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"not json", 400),
        (b"\xff\xfe\x00", 400),
        (b"[]", 400),
        (b"null", 400),
        (b'"subscriptionId"', 400),
        (b"{}", 400),
        (b'{"subscriptionId": 5}', 400),
        (b'{"subscriptionId": ""}', 400),
        (b'{"subscriptionId": "' + b"a" * 201 + b'"}', 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b'{"subscriptionId": "unknown", "featureEvents": []}', 403),
    ],
)
async def test_bad_bodies(hass: HomeAssistant, client: Any, body: bytes, status: int) -> None:
    """Bodies that are not a notification are refused with a 4xx and change nothing."""
    before = feature_snapshot(hass)
    assert await post(client, body) == status
    assert feature_snapshot(hass) == before
    assert _push(hass).pushes_rejected == 1


@pytest.mark.parametrize(
    "events",
    [
        {"featureEvents": {}},
        {"featureEvents": "x"},
        {"callLogEvents": [{}] * 1001},
        {"presenceEvents": 5},
    ],
)
async def test_bad_event_lists(hass: HomeAssistant, client: Any, events: dict[str, Any]) -> None:
    """A known id with event lists of the wrong type or size: 400, nothing applied."""
    before = feature_snapshot(hass)
    assert await post(client, {"subscriptionId": sub_id(hass), **events}) == 400
    assert feature_snapshot(hass) == before
    assert _push(hass).pushes_received == 0


async def test_huge_bodies(hass: HomeAssistant, client: Any) -> None:
    """Bodies over 1 MiB are refused (413), announced or streamed without a length."""
    padding = "x" * (MAX_BODY_BYTES + 10)
    body = json.dumps({"subscriptionId": sub_id(hass), "padding": padding}).encode()
    assert await post(client, body) == 413

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"subscriptionId": "' + sub_id(hass).encode() + b'", "padding": "'
        for _ in range(20):
            yield b"y" * 64 * 1024
        yield b'"}'

    assert await post(client, chunks()) == 413
    assert _push(hass).pushes_rejected == 2
    assert _push(hass).pushes_received == 0
    # A large body under the limit is fine.
    body = json.dumps({"subscriptionId": sub_id(hass), "padding": "z" * (MAX_BODY_BYTES // 2)}).encode()
    assert await post(client, body) == 200


async def test_extra_fields_tolerated(hass: HomeAssistant, simulator: Simulator, client: Any) -> None:
    """Unknown keys (envelope, events, features) and unknown event kinds do not stop a push."""
    dnd = with_status(simulator.feature(ROOM_101, "CENTRAL_DND"), "ACTIVE")
    dnd["newField"] = {"nested": [1, 2]}
    body = feature_push(sub_id(hass), dnd, dt_util.utcnow() + timedelta(seconds=1))
    body["featureEvents"][0]["unexpected"] = True
    body["version"] = 2
    body["voicemailEvents"] = [{"what": "ever"}]
    assert await post(client, body) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_ON
    assert feature_snapshot(hass)[ROOM_101]["CENTRAL_DND"]["newField"] == {"nested": [1, 2]}


async def test_unparsable_number_refused(hass: HomeAssistant, simulator: Simulator, client: Any) -> None:
    """A number too long for Python's int() (over 4300 digits) skips that entry: nothing changes."""
    dnd = with_status(simulator.feature(ROOM_101, "CENTRAL_DND"), "ACTIVE")
    dnd["id"] = "9" * 5000
    before = feature_snapshot(hass)
    assert await post(client, feature_push(sub_id(hass), dnd, dt_util.utcnow() + timedelta(seconds=1))) == 200
    await hass.async_block_till_done()
    assert feature_snapshot(hass) == before


async def test_bad_entries_skipped_good_ones_applied(hass: HomeAssistant, simulator: Simulator, client: Any) -> None:
    """An entry that cannot be parsed is skipped; the others of the same push apply."""
    dnd = with_status(simulator.feature(ROOM_101, "CENTRAL_DND"), "ACTIVE")
    body = feature_push(sub_id(hass), dnd, dt_util.utcnow() + timedelta(seconds=1))
    body["featureEvents"][:0] = [{"feature": {"featName": "CENTRAL_DND"}}, "not an object", {"feature": None}]
    assert await post(client, body) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_ON


async def test_unknown_lines_and_features_ignored(hass: HomeAssistant, simulator: Simulator, client: Any) -> None:
    """Events about a line or a feature the entry does not have change nothing."""
    before = feature_snapshot(hass)
    presence_before = presence_snapshot(hass)
    later = dt_util.utcnow() + timedelta(seconds=1)
    other = with_status(simulator.feature(OTHER_LINE, "CENTRAL_DND"), "ACTIVE")
    assert await post(client, feature_push(sub_id(hass), other, later)) == 200
    unknown_feature = with_status(simulator.feature(ROOM_101, "CENTRAL_DND"), "ACTIVE")
    unknown_feature["id"] = 999_999_999
    assert await post(client, feature_push(sub_id(hass), unknown_feature, later)) == 200
    presence = simulator.presence(OTHER_LINE)
    presence["current"]["enhancedActivity"] = "IN_A_CALL"
    body = {
        "subscriptionId": sub_id(hass, "PRESENCE"),
        "presenceEvents": [{"changeType": "MODIFIED", "presence": presence, "eventTime": iso(later)}],
    }
    assert await post(client, body) == 200
    calls = async_capture_events(hass, "vtx_voip_call")
    body = {
        "subscriptionId": sub_id(hass, "CALL_LOG"),
        "callLogEvents": [{"callLog": {"id": "c-other", "userId": OTHER_LINE, "direction": "OUTGOING", "duration": 3}}],
    }
    assert await post(client, body) == 200
    await hass.async_block_till_done()
    assert feature_snapshot(hass) == before
    assert presence_snapshot(hass) == presence_before
    assert calls == []


# --- duplicates and order -----------------------------------------------------------------
def _state_changes(hass: HomeAssistant, entity_id: str) -> list[Event]:
    events = async_capture_events(hass, EVENT_STATE_CHANGED)
    return [event for event in events if event.data["entity_id"] == entity_id]


async def test_duplicate_deliveries(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Every push delivered twice: each change and each call is applied once."""
    changes = async_capture_events(hass, EVENT_STATE_CHANGED)
    calls = async_capture_events(hass, "vtx_voip_call")
    simulator.set_push_duplicate(True)
    simulator.set_dnd(ROOM_101, True)
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=30)
    await settle(hass, simulator)
    deliveries = simulator.deliveries()
    assert sorted(delivery["copy"] for delivery in deliveries if delivery["resourceType"] == "FEATURE") == [1, 2]
    assert {delivery["status"] for delivery in deliveries} == {200}
    assert hass.states.get(DND).state == STATE_ON
    assert len([event for event in changes if event.data["entity_id"] == DND]) == 1
    assert len(calls) == 1
    call_events = [event for event in changes if event.data["entity_id"] == "event.room_101_call"]
    assert len(call_events) == 1


async def test_out_of_order_deliveries(hass: HomeAssistant, simulator: Simulator, client: Any) -> None:
    """An event older than the state held does not roll it back; a replay changes nothing."""
    dnd = simulator.feature(ROOM_101, "CENTRAL_DND")
    now = dt_util.utcnow()
    newer = feature_push(sub_id(hass), with_status(dnd, "ACTIVE"), now + timedelta(seconds=2))
    older = feature_push(sub_id(hass), with_status(dnd, "INACTIVE"), now + timedelta(seconds=1))
    changes = async_capture_events(hass, EVENT_STATE_CHANGED)
    assert await post(client, newer) == 200
    assert await post(client, older) == 200
    assert await post(client, newer) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_ON
    assert len([event for event in changes if event.data["entity_id"] == DND]) == 1
    # An event older than the last poll does not roll the polled state back either.
    stale = feature_push(sub_id(hass), with_status(dnd, "INACTIVE"), now - timedelta(minutes=5))
    assert await post(client, stale) == 200
    await hass.async_block_till_done()
    assert hass.states.get(DND).state == STATE_ON


async def test_presence_out_of_order(hass: HomeAssistant, simulator: Simulator, client: Any) -> None:
    """Presence events apply in event-time order too."""
    on_call = simulator.presence(ROOM_101)
    for block in ("current", "c5"):
        on_call[block]["enhancedActivity"] = "IN_A_CALL"
    idle = simulator.presence(ROOM_101)
    now = dt_util.utcnow()
    for presence, delta in ((on_call, 2), (idle, 1)):
        body = {
            "subscriptionId": sub_id(hass, "PRESENCE"),
            "presenceEvents": [
                {"changeType": "MODIFIED", "presence": presence, "eventTime": iso(now + timedelta(seconds=delta))}
            ],
        }
        assert await post(client, body) == 200
    await hass.async_block_till_done()
    assert hass.states.get("sensor.room_101_presence").state == "on_call"


# --- the wiki's examples ------------------------------------------------------------------
def _wiki_from_reference(marker: str) -> dict[str, Any]:
    """Cut the JSON body that contains ``marker`` out of the stored wiki page."""
    lines = WIKI_REFERENCE.read_text(encoding="utf-8").splitlines()
    start = next(index for index, line in enumerate(lines) if marker in line) - 1
    assert lines[start].strip() == "{"
    depth = 0
    for end in range(start, len(lines)):
        depth += lines[end].count("{") + lines[end].count("[") - lines[end].count("}") - lines[end].count("]")
        if depth == 0:
            body: dict[str, Any] = json.loads("\n".join(lines[start : end + 1]))
            return body
    raise AssertionError(f"unbalanced JSON after {marker}")


def wiki_push(key: str) -> dict[str, Any]:
    """The wiki's push example with events under ``key`` (fixture folder first, else the page)."""
    if WIKI_FIXTURES.is_dir():
        for path in sorted(WIKI_FIXTURES.rglob("*.json")):
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
            if isinstance(body, dict) and "subscriptionId" in body and key in body:
                return body
    return _wiki_from_reference(
        '"subscriptionId" : "fc544ab6' if key == "featureEvents" else '"subscriptionId" : "dfaa8ef2'
    )


async def test_wiki_examples(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The wiki's two push examples, pointed at our line: DND goes on, the call event fires.

    Home Assistant (and the simulator) run on 4 November 2024, before the example's
    eventTime, so the example is news and not an out-of-order event.
    """
    freezer.move_to("2024-11-04T11:00:00+00:00")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    feature_body = wiki_push("featureEvents")
    call_body = wiki_push("callLogEvents")
    calls = async_capture_events(hass, "vtx_voip_call")
    before = feature_snapshot(hass)

    # As published: unknown subscription ids, unknown user and feature ids.
    assert await post(client, feature_body) == 403
    assert await post(client, call_body) == 403
    # Our subscription id, but the wiki's user and feature: nothing of ours changes.
    foreign = copy.deepcopy(feature_body)
    foreign["subscriptionId"] = sub_id(hass)
    assert await post(client, foreign) == 200
    await hass.async_block_till_done()
    assert feature_snapshot(hass) == before
    assert calls == []

    dnd_id = simulator.feature(ROOM_101, "CENTRAL_DND")["id"]
    feature_body["subscriptionId"] = sub_id(hass)
    event = feature_body["featureEvents"][0]
    for feature in (event["feature"], event["previousValue"]):
        feature["id"] = dnd_id
        feature["userId"] = ROOM_101
    event["context"]["user"]["id"] = ROOM_101
    assert await post(client, feature_body) == 200
    call_body["subscriptionId"] = sub_id(hass, "CALL_LOG")
    call_body["callLogEvents"][0]["callLog"]["userId"] = ROOM_101
    call_body["callLogEvents"][0]["context"]["user"]["id"] = ROOM_101
    assert await post(client, call_body) == 200
    await hass.async_block_till_done()

    assert hass.states.get(DND).state == STATE_ON
    assert len(calls) == 1
    data = calls[0].data
    assert data["type"] == "outgoing_call"
    assert data["call_id"] == "741f1e6a-8fb1-441e-9e0c-e57c68246d5d"
    assert data["number"] == "+41225117902"
    assert data["dialled_number"] == "0225117902"
    assert data["duration"] == 7
    assert data["line"] == "Room 101"
    assert data["call_log"] == call_body["callLogEvents"][0]["callLog"]
    state = hass.states.get("event.room_101_call")
    assert state is not None
    assert state.attributes["event_type"] == "outgoing_call"
    assert state.attributes["number"] == "+41225117902"
    # The call started at 15:26:45 and lasted 7 s: the last call is when it ended.
    assert hass.states.get("sensor.room_101_last_call").state == "2024-09-27T15:26:52+00:00"
    # The same call pushed again is not counted again.
    assert await post(client, call_body) == 200
    await hass.async_block_till_done()
    assert len(calls) == 1


# --- fuzzing ------------------------------------------------------------------------------
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_USER_IDS = st.sampled_from([ROOM_101, ROOM_102, OTHER_LINE, str(ROOM_101), -1, 0, None, "x", True])
_TIMES = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda value: value.isoformat() + "Z"
    ),
)
_CLOCK = itertools.count(1)
# Later than every event before: news, applied.
_FRESH = st.builds(lambda: iso(dt_util.utcnow() + timedelta(minutes=next(_CLOCK))))


def _mostly[T](likely: st.SearchStrategy[T], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``likely`` three times in four (so that many fuzzed pushes are applied)."""
    return st.integers(0, 3).flatmap(lambda n: other if n == 3 else likely)


def _strategies(hass: HomeAssistant, simulator: Simulator) -> st.SearchStrategy[tuple[bytes, dict[str, Any] | None]]:
    features = [feature for user_id in (ROOM_101, ROOM_102) for feature in simulator.features(user_id)]
    known_ids = [sub.id for sub in _push(hass).subscriptions.values()]
    feature_like = _mostly(
        st.sampled_from(features).flatmap(
            lambda base: st.fixed_dictionaries(
                {
                    "id": _mostly(st.just(base["id"]), st.sampled_from([base["id"] + 1, str(base["id"]), None])),
                    "featName": _mostly(st.just(base["featName"]), st.sampled_from(["CENTRAL_DND", "UNKNOWN", ""])),
                    "userId": _mostly(st.just(base["userId"]), _USER_IDS),
                    "status": st.sampled_from(["ACTIVE", "INACTIVE", "ACTIVE", "INACTIVE", "active", "WEIRD", 1, None]),
                },
                optional={
                    "centralDndData": _JSON,
                    "callForwardUnconditionalData": st.fixed_dictionaries(
                        {}, optional={"destinationUri": st.text(max_size=30) | _JSON, "type": _JSON}
                    ),
                    "extra": _JSON,
                },
            )
        ),
        _JSON,
    )
    feature_event = st.fixed_dictionaries(
        {"feature": feature_like},
        optional={
            "changeType": _JSON,
            "eventTime": _mostly(_FRESH, _TIMES),
            "previousValue": feature_like,
            "context": _JSON,
        },
    )
    call_event = st.fixed_dictionaries(
        {
            "callLog": st.fixed_dictionaries(
                {
                    "id": st.text(max_size=8) | st.integers(),
                    "userId": _mostly(st.sampled_from([ROOM_101, ROOM_102]), _USER_IDS),
                },
                optional={
                    "direction": st.sampled_from(["INCOMING", "OUTGOING", "MISSED", "x", None]),
                    "duration": st.integers(-5, 10**6) | st.text(max_size=5) | st.none(),
                    "callStart": _TIMES,
                    "callPartyNumber": _JSON,
                },
            )
            | _JSON
        },
        optional={"eventTime": _TIMES},
    )
    presence_event = st.fixed_dictionaries(
        {
            "presence": st.fixed_dictionaries(
                {"userId": _mostly(st.sampled_from([ROOM_101, ROOM_102]), _USER_IDS)},
                optional={
                    "current": st.fixed_dictionaries(
                        {},
                        optional={
                            "activity": st.sampled_from(["ONLINE", "OFFLINE", "UNKNOWN", ""]) | _JSON,
                            "enhancedActivity": st.sampled_from(["IN_A_CALL", "NONE", "RINGING"]) | _JSON,
                            "modifiedOn": _TIMES,
                        },
                    ),
                    "c5": _JSON,
                },
            )
            | _JSON
        },
        optional={"eventTime": _mostly(_FRESH, _TIMES), "context": _JSON},
    )
    notification = st.fixed_dictionaries(
        {"subscriptionId": _mostly(st.sampled_from(known_ids), st.sampled_from(["unknown", ""]) | _JSON)},
        optional={
            "featureEvents": _mostly(st.lists(feature_event, max_size=4), _JSON),
            "callLogEvents": _mostly(st.lists(call_event, max_size=3), _JSON),
            "presenceEvents": _mostly(st.lists(presence_event, max_size=3), _JSON),
            "extra": _JSON,
        },
    )
    as_body: Callable[[Any], tuple[bytes, dict[str, Any] | None]] = lambda body: (
        json.dumps(body).encode(),
        body if isinstance(body, dict) else None,
    )
    return _mostly(notification.map(as_body), _JSON.map(as_body) | st.binary(max_size=200).map(lambda raw: (raw, None)))


def _features_in(body: dict[str, Any]) -> list[Any]:
    events = body.get("featureEvents")
    if not isinstance(events, list):
        return []
    return [event.get("feature") for event in events if isinstance(event, dict)]


def _names_a_line(body: dict[str, Any]) -> bool:
    """Whether a push body names a configured line (by a feature's, call's or presence's userId)."""
    lines = {ROOM_101, ROOM_102}
    for key, inner in (("featureEvents", "feature"), ("callLogEvents", "callLog"), ("presenceEvents", "presence")):
        events = body.get(key)
        for event in events if isinstance(events, list) else []:
            item = event.get(inner) if isinstance(event, dict) else None
            if isinstance(item, dict) and str(item.get("userId")) in {str(line) for line in lines}:
                return True
    return False


async def test_fuzzed_handler(
    hass: HomeAssistant, simulator: Simulator, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Hypothesis bodies: the handler never raises, answers 200 or a 4xx, changes only what it should."""
    known = {sub.id for sub in _push(hass).subscriptions.values()}
    strategy = _strategies(hass, simulator)
    calls = async_capture_events(hass, "vtx_voip_call")
    loop = hass.loop

    async def check(raw: bytes, body: dict[str, Any] | None) -> None:
        features_before = feature_snapshot(hass)
        presence_before = presence_snapshot(hass)
        calls_before = len(calls)
        status = await post(client, raw)
        await hass.async_block_till_done()
        assert status in (200, 400, 403), status
        accepted = status == 200
        if accepted:
            # One of the entry's subscriptions, or a push about one of its lines (any id).
            assert body is not None
            assert body["subscriptionId"] in known or _names_a_line(body)
        features_after = feature_snapshot(hass)
        assert features_after.keys() == features_before.keys()
        pushed = _features_in(body) if accepted and body else []
        for user_id, features in features_after.items():
            assert features.keys() == features_before[user_id].keys()
            for name, raw_feature in features.items():
                if raw_feature != features_before[user_id][name]:
                    # Only ever a feature of this line that the push carried, same id.
                    assert raw_feature in pushed
                    # (the parser takes an id written as a string of digits)
                    assert int(raw_feature["id"]) == int(features_before[user_id][name]["id"])
                    assert raw_feature["userId"] in (user_id, str(user_id))
        if not accepted:
            assert presence_snapshot(hass) == presence_before
            assert len(calls) == calls_before
        for event in calls[calls_before:]:
            assert event.data["user_id"] in (ROOM_101, ROOM_102)

    @settings(
        max_examples=250,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(example: tuple[bytes, dict[str, Any] | None]) -> None:
        asyncio.run_coroutine_threadsafe(check(*example), loop).result(timeout=30)

    await hass.async_add_executor_job(run)
    assert "Error processing webhook" not in caplog.text
    assert "Traceback" not in caplog.text
    # The entities still render.
    for entity_id in (DND, "sensor.room_101_presence", "text.room_101_forward_all_calls_to"):
        assert hass.states.get(entity_id) is not None
