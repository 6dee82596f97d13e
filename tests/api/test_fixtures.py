"""Every JSON example of the published API parses into the models, with the right values.

The files under ``tests/fixtures/wiki`` are the examples of the VTX wiki page
"VoIP:OpenAPI" (and the presence body of a later revision), values and key order as
published. The client's own requests are checked against the request examples.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
import json
from typing import Any

import aiohttp
import pytest

from custom_components.vtx_voip.api import (
    Feature,
    Notification,
    Presence,
    ServerInfo,
    Subscription,
    parse_datetime,
    parse_notification,
)
from custom_components.vtx_voip.api.assumptions import feature_data_key
from custom_components.vtx_voip.api.models import (
    parse_feature_envelope,
    parse_feature_list,
    parse_subscription_envelope,
    parse_subscription_list,
)

from .conftest import RawServer, make_client, wiki, wiki_names

CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))

# Each answer or push example and the parser the client applies to it.
PARSERS: dict[str, Callable[[Any], object]] = {
    "server_info": ServerInfo.from_json,
    "feature_list": parse_feature_list,
    "feature_cfu_list_entry": Feature.from_json,
    "feature_cfu_get": parse_feature_envelope,
    "feature_cfu_body_for_put": Feature.from_json,
    "feature_cfu_put_answer": parse_feature_envelope,
    "feature_dnd_get": parse_feature_envelope,
    "feature_dnd_put_answer": parse_feature_envelope,
    "presence": Presence.from_json,
    "subscription_created_feature_users": parse_subscription_envelope,
    "subscription_created_feature_enterprise": parse_subscription_envelope,
    "subscription_created_call_log": parse_subscription_envelope,
    "subscription_list": parse_subscription_list,
    "push_feature_events": parse_notification,
    "push_call_log_events": parse_notification,
}
# The request examples: bodies the client sends (checked against what it really sends).
REQUESTS = {
    "subscription_request_feature_users",
    "subscription_request_feature_enterprise",
    "subscription_request_call_log",
}
# Every feature object of the examples: (fixture, path to the object).
FEATURE_OBJECTS: list[tuple[str, tuple[str | int, ...]]] = [
    ("feature_cfu_list_entry", ()),
    ("feature_cfu_body_for_put", ()),
    ("feature_cfu_get", ("feature",)),
    ("feature_cfu_put_answer", ("feature",)),
    ("feature_dnd_get", ("feature",)),
    ("feature_dnd_put_answer", ("feature",)),
    ("feature_list", ("features", 18)),
    ("push_feature_events", ("featureEvents", 0, "feature")),
    ("push_feature_events", ("featureEvents", 0, "previousValue")),
]
# The wiki's listing of user 177059's features (jq '.features | .[] | {"id","featName"}').
LISTING = [
    (2897999, "CALLING_LINE_IDENTIFICATION_RESTRICTION"),
    (2898019, "PARALLEL_RINGING"),
    (2898079, "PRESENCE"),
    (2898034, "CALL_TRANSFER"),
    (2898069, "AD_HOC_CONFERENCING"),
    (2898084, "LOCK_CODE"),
    (2898004, "CALL_FORWARD_BUSY"),
    (2898049, "MUSIC_ON_HOLD"),
    (2898064, "PHONE_BOOK_LOOKUP"),
    (2898074, "PICKUP_CALL"),
    (2898089, "CENTRAL_DND"),
    (2898039, "CALL_HOLD"),
    (2898044, "CALL_WAITING"),
    (2898059, "CALL_FORWARD_TIMEOUT"),
    (2898009, "CALL_FORWARD_NOT_REACHABLE"),
    (2898029, "FORWARDED_CALL_REJECTION"),
    (2898054, "CALL_FORWARD_UNREGISTERED"),
    (2898024, "EARLY_MEDIA"),
    (2898014, "CALL_FORWARD_UNCONDITIONAL"),
]


def _at(body: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        body = body[step]
    return body


def _same(left: Any, right: Any) -> bool:
    """Equal, key order included (what the API sees on the wire)."""
    return json.dumps(left) == json.dumps(right)


# --- the fixture set ---------------------------------------------------------------------
def test_every_fixture_is_covered() -> None:
    assert wiki_names() == set(PARSERS) | REQUESTS
    assert len(wiki_names()) == 18


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_example_parses(name: str) -> None:
    body = wiki(name)
    before = json.dumps(body)
    assert PARSERS[name](body) is not None
    assert json.dumps(body) == before  # parsing never changes its input


# --- system ------------------------------------------------------------------------------
def test_server_info() -> None:
    info = ServerInfo.from_json(wiki("server_info"))
    assert info.build_version == "7.7.2.12"
    assert info.build_customer == "Release"
    assert info.build_number == "1"
    assert info.bulk_limit_common == 100
    # "+0200" without a colon.
    assert info.build_date == datetime(2024, 5, 28, 15, 21, 44, tzinfo=UTC)
    assert info.build_date is not None
    assert info.build_date.utcoffset() == timedelta(hours=2)
    assert info.raw["bulkLimitAddAddressBookEntry"] == 1000


# --- features ----------------------------------------------------------------------------
def test_feature_list_listing() -> None:
    body = wiki("feature_list")
    assert [(entry["id"], entry["featName"]) for entry in body["features"]] == LISTING
    features = parse_feature_list(body)
    # The listing shows only id and featName; the full CFU object is the only complete one.
    assert [(feature.id, feature.name, feature.user_id, feature.status) for feature in features] == [
        (2898014, "CALL_FORWARD_UNCONDITIONAL", 177059, "ACTIVE")
    ]
    assert features[0].forward is not None
    assert features[0].forward.destination_uri == "0225117902@s1.431569.bus.ipvoip.ch"


def test_feature_list_of_full_objects() -> None:
    """The same listing as the API sends it (every entry a full feature) parses whole."""
    body = wiki("feature_list")
    for entry in body["features"]:
        entry.setdefault("userId", 177059)
        entry.setdefault("status", "INACTIVE")
    features = parse_feature_list(body)
    assert [(feature.id, feature.name) for feature in features] == LISTING
    assert all(feature.user_id == 177059 for feature in features)
    by_name = {feature.name: feature for feature in features}
    assert by_name["CALL_FORWARD_UNCONDITIONAL"].active
    assert not by_name["CENTRAL_DND"].active
    assert by_name["CALLING_LINE_IDENTIFICATION_RESTRICTION"].data_key == "callingLineIdentificationRestrictionData"
    assert by_name["CENTRAL_DND"].data is None  # no data block in the listing
    assert by_name["CENTRAL_DND"].dnd is None


def test_cfu_get() -> None:
    feature = parse_feature_envelope(wiki("feature_cfu_get"))
    assert (feature.id, feature.name, feature.user_id, feature.status) == (
        2898014,
        "CALL_FORWARD_UNCONDITIONAL",
        177059,
        "INACTIVE",
    )
    assert not feature.active
    assert feature.data_key == "callForwardUnconditionalData"
    forward = feature.forward
    assert forward is not None
    assert forward.destination_uri == "0225117902@s1.431569.bus.ipvoip.ch"
    assert forward.condition == "ALWAYS"
    assert forward.colp_allowed is True
    assert forward.type == "CallForwardUnconditional"
    assert feature.dnd is None
    # The bare object (jq '.feature') is the same feature.
    assert Feature.from_json(wiki("feature_cfu_body_for_put")) == feature


def test_dnd_get() -> None:
    feature = parse_feature_envelope(wiki("feature_dnd_get"))
    assert (feature.id, feature.name, feature.user_id, feature.status) == (2898089, "CENTRAL_DND", 177059, "INACTIVE")
    assert feature.data_key == "centralDndData"
    assert feature.dnd is not None
    assert (feature.dnd.condition, feature.dnd.mode) == ("ALWAYS", "USER")
    assert feature.forward is None


@pytest.mark.parametrize(("name", "path"), FEATURE_OBJECTS)
def test_feature_round_trip(name: str, path: tuple[str | int, ...]) -> None:
    """Parsed and written back: the same JSON, key order included; the input untouched."""
    body = _at(wiki(name), path)
    feature = Feature.from_json(body)
    assert _same(feature.to_json(), body)
    # The copy is the caller's: changing it changes neither the feature nor the input.
    written = feature.to_json()
    written["status"] = "CHANGED"
    written[feature.data_key]["mutated"] = True  # a deep copy: nested blocks too
    assert _same(feature.to_json(), body)
    assert _same(_at(wiki(name), path), body)


@pytest.mark.parametrize(("name", "path"), FEATURE_OBJECTS)
@pytest.mark.parametrize("active", [True, False])
def test_with_status_changes_only_the_status(name: str, path: tuple[str | int, ...], active: bool) -> None:
    body = _at(wiki(name), path)
    switched = Feature.from_json(body).with_status(active)
    expected = dict(body) | {"status": "ACTIVE" if active else "INACTIVE"}
    assert _same(switched.to_json(), expected)
    assert switched.active is active
    assert (switched.id, switched.name, switched.user_id) == (body["id"], body["featName"], body["userId"])
    assert _same(_at(wiki(name), path), body)


@pytest.mark.parametrize(
    ("get", "put"), [("feature_cfu_get", "feature_cfu_put_answer"), ("feature_dnd_get", "feature_dnd_put_answer")]
)
def test_switching_on_reproduces_the_wikis_put(get: str, put: str) -> None:
    """GET, set ACTIVE (the wiki's ``sed s/INACTIVE/ACTIVE/``), PUT: the body the wiki sent."""
    fetched = parse_feature_envelope(wiki(get))
    sent = fetched.with_status(True).to_json()
    sed = json.loads(json.dumps(wiki(get)["feature"]).replace("INACTIVE", "ACTIVE"))
    assert _same(sent, sed)
    assert _same(sent, wiki(put)["feature"])
    answer = parse_feature_envelope(wiki(put))
    assert answer.active
    assert answer == fetched.with_status(True)


def test_cfu_destination_change_touches_only_the_destination() -> None:
    body = wiki("feature_cfu_get")["feature"]
    changed = parse_feature_envelope(wiki("feature_cfu_get")).with_destination("+41791234567").to_json()
    expected = dict(body)
    expected["callForwardUnconditionalData"] = body["callForwardUnconditionalData"] | {"destinationUri": "+41791234567"}
    assert _same(changed, expected)


# --- presence ----------------------------------------------------------------------------
def test_presence() -> None:
    presence = Presence.from_json(wiki("presence"))
    assert (presence.user_id, presence.domain_id) == (177059, 15200)
    assert presence.current is not None
    assert presence.current.activity == "ONLINE"
    assert presence.current.enhanced_activity == "IN_A_CALL"
    assert presence.current.modified_on == datetime(2024, 11, 4, 14, 17, 49, 457000, tzinfo=CET)
    assert presence.c5 == presence.current
    assert presence.effective == presence.current
    assert presence.last_c5 is not None
    assert (presence.last_c5.activity, presence.last_c5.enhanced_activity) == ("ONLINE", "NONE")
    assert presence.last_c5.modified_on == datetime(2024, 11, 4, 14, 2, 3, 389000, tzinfo=CET)
    assert presence.third_party is not None
    assert (presence.third_party.activity, presence.third_party.enhanced_activity) == ("UNKNOWN", "NONE")
    assert presence.third_party.modified_on is None


# --- subscriptions -----------------------------------------------------------------------
def test_subscription_created_for_users() -> None:
    sub = parse_subscription_envelope(wiki("subscription_created_feature_users"))
    assert sub.id == "b014b9a4-99f8-4ef7-a83d-87d0606a6af5"
    assert sub.resource_type == "FEATURE"
    assert sub.resource_names == ("CALL_FORWARD_UNCONDITIONAL", "CALL_FORWARD_TIMEOUT")
    assert sub.login_names == ("+41215776366@m.ipvoip.ch",)
    assert (sub.user_ids, sub.enterprise_names) == ((), ())
    assert sub.notification_url == "http://recovery.ipvoip.ch/openapi"
    assert sub.expires == datetime(2024, 11, 6, tzinfo=UTC)
    assert parse_datetime(sub.raw["created"]) == datetime(2024, 11, 4, 12, 31, 12, 329907, tzinfo=CET)
    assert sub.raw["applicationId"] == "71c177e5-7417-4265-b97f-4595016dceb8"


def test_subscription_created_for_an_enterprise() -> None:
    sub = parse_subscription_envelope(wiki("subscription_created_feature_enterprise"))
    assert sub.id == "fc544ab6-590f-43be-9134-d37d93a22e4e"
    assert sub.resource_type == "FEATURE"
    assert sub.enterprise_names == ("431569.bus.ent",)
    assert (sub.user_ids, sub.login_names, sub.resource_names) == ((), (), ())
    assert sub.expires == datetime(2024, 11, 6, tzinfo=UTC)


def test_subscription_created_for_call_logs() -> None:
    sub = parse_subscription_envelope(wiki("subscription_created_call_log"))
    assert sub.id == "dfaa8ef2-ac51-4883-ad40-92de788e142c"
    assert sub.resource_type == "CALL_LOG"
    assert sub.user_ids == (168382, 168386, 168390)
    assert sub.raw["resourceIds"] == ["168382", "168386", "168390"]
    assert sub.notification_url == "http://recovery.ipvoip.ch/openapi"
    assert sub.expires == datetime(2024, 9, 29, tzinfo=UTC)
    assert parse_datetime(sub.raw["modified"]) == datetime(2024, 9, 27, 17, 21, 42, 272678, tzinfo=CEST)


def test_subscription_list() -> None:
    (sub,) = parse_subscription_list(wiki("subscription_list"))
    assert isinstance(sub, Subscription)
    assert sub.id == "5b14a0bf-da8a-4c32-9979-1bc7017a3b84"
    assert sub.resource_type == "CALL_LOG"
    assert sub.user_ids == (168382, 168386, 168390)
    assert sub.expires == datetime(2024, 9, 29, tzinfo=UTC)
    # Five digits of fraction.
    assert parse_datetime(sub.raw["created"]) == datetime(2024, 9, 27, 8, 43, 43, 769130, tzinfo=UTC)


@pytest.mark.parametrize(
    ("request_name", "answer_name", "arguments"),
    [
        (
            "subscription_request_feature_users",
            "subscription_created_feature_users",
            {
                "resource_type": "FEATURE",
                "resource_names": ["CALL_FORWARD_UNCONDITIONAL", "CALL_FORWARD_TIMEOUT"],
                "login_names": ["+41215776366@m.ipvoip.ch"],
            },
        ),
        (
            "subscription_request_feature_enterprise",
            "subscription_created_feature_enterprise",
            {"resource_type": "FEATURE", "enterprise_names": ["431569.bus.ent"]},
        ),
        (
            "subscription_request_call_log",
            "subscription_created_call_log",
            {"resource_type": "CALL_LOG", "user_ids": [168382, 168386, 168390]},
        ),
    ],
)
async def test_client_sends_the_wikis_subscription_requests(
    raw_server: RawServer,
    session: aiohttp.ClientSession,
    request_name: str,
    answer_name: str,
    arguments: dict[str, Any],
) -> None:
    example = wiki(request_name)
    raw_server.answer(wiki(answer_name))
    client = make_client(session, raw_server.url)
    created = await client.create_subscription(
        notification_url="http://recovery.ipvoip.ch/openapi",
        expires=parse_datetime(example["expires"]) or datetime.now(UTC),
        **arguments,
    )
    assert (raw_server.last.method, raw_server.last.path) == ("POST", "/openapi/v1/subscriptions")
    assert _same(raw_server.last.json(), example)
    assert created.id == wiki(answer_name)["subscription"]["id"]
    assert created.expires == parse_datetime(example["expires"])


async def test_client_puts_the_wikis_feature_body(raw_server: RawServer, session: aiohttp.ClientSession) -> None:
    client = make_client(session, raw_server.url)
    raw_server.answer(wiki("feature_cfu_get"))
    fetched = await client.get_feature(2898014)
    assert raw_server.last.path == "/openapi/v1/feat/2898014"
    raw_server.answer(wiki("feature_cfu_put_answer"))
    answer = await client.put_feature(fetched.with_status(True))
    assert (raw_server.last.method, raw_server.last.path) == ("PUT", "/openapi/v1/feat/2898014")
    assert _same(raw_server.last.json(), wiki("feature_cfu_put_answer")["feature"])
    assert answer.active


# --- pushes ------------------------------------------------------------------------------
def test_feature_push() -> None:
    body = wiki("push_feature_events")
    notification = parse_notification(body)
    assert isinstance(notification, Notification)
    assert notification.subscription_id == "fc544ab6-590f-43be-9134-d37d93a22e4e"
    assert (notification.call_log_events, notification.presence_events) == ((), ())
    assert (notification.skipped, notification.unknown_keys) == (0, ())
    (event,) = notification.feature_events
    assert event.change_type == "MODIFIED"
    assert (event.feature.id, event.feature.name, event.feature.user_id) == (2898089, "CENTRAL_DND", 177059)
    assert event.feature.active
    assert event.feature.dnd is not None
    assert event.feature.dnd.mode == "USER"
    assert event.previous_value is not None
    assert not event.previous_value.active
    assert _same(event.previous_value.to_json(), body["featureEvents"][0]["previousValue"])
    assert event.event_time == datetime(2024, 11, 4, 12, 38, 54, 753000, tzinfo=CET)
    assert (event.context.user_id, event.context.user_name, event.context.enterprise_name) == (
        177059,
        "+41215776366@m.ipvoip.ch",
        "431569.bus.ent",
    )
    assert feature_data_key(event.feature.name) in event.feature.raw


def test_call_log_push() -> None:
    notification = parse_notification(wiki("push_call_log_events"))
    assert notification.subscription_id == "dfaa8ef2-ac51-4883-ad40-92de788e142c"
    assert (notification.feature_events, notification.skipped) == ((), 0)
    (event,) = notification.call_log_events
    assert event.change_type == "CREATED"
    assert event.event_time == datetime(2024, 9, 27, 17, 26, 53, 273000, tzinfo=CEST)
    assert (event.context.user_id, event.context.user_name, event.context.enterprise_name) == (
        168382,
        "+41225662195@m.ipvoip.ch",
        "291908.bus.ent",
    )
    call = event.call_log
    assert call.id == "741f1e6a-8fb1-441e-9e0c-e57c68246d5d"
    assert (call.user_id, call.duration, call.direction, call.status) == (168382, 7, "OUTGOING", 804)
    assert call.call_type == "VOICE"
    assert call.call_start == datetime(2024, 9, 27, 15, 26, 45, tzinfo=UTC)
    assert (call.call_party_number, call.call_party_dial_number) == ("+41225117902", "0225117902")
    assert call.outgoing
    assert not call.incoming
    assert not call.missed
