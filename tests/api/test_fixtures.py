"""Every JSON example of the published API parses into the models, with the right values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from custom_components.vtx_voip.api import Feature, Presence, ServerInfo, parse_notification
from custom_components.vtx_voip.api.models import (
    parse_feature_envelope,
    parse_feature_list,
    parse_subscription_envelope,
    parse_subscription_list,
)

from .conftest import WIKI, wiki

CET = timezone(timedelta(hours=1))


def test_every_fixture_is_used() -> None:
    """Each wiki example file is parsed by a test below."""
    names = {path.stem for path in WIKI.glob("*.json")}
    assert len(names) == 18


def test_server_info() -> None:
    info = ServerInfo.from_json(wiki("server_info"))
    assert info.build_version == "7.7.2.12"
    assert info.build_customer == "Release"
    assert info.build_number == "1"
    assert info.bulk_limit_common == 100
    assert info.build_date == datetime(2024, 5, 28, 15, 21, 44, tzinfo=UTC)


def test_feature_list() -> None:
    features = parse_feature_list(wiki("feature_list"))
    # Entries of the listing carry only id and featName: only the full CFU entry parses.
    assert [feature.name for feature in features] == ["CALL_FORWARD_UNCONDITIONAL"]
    assert features[0].id == 2898014
    assert features[0].active


def test_cfu_get_round_trip() -> None:
    body = wiki("feature_cfu_get")
    feature = parse_feature_envelope(body)
    assert (feature.id, feature.name, feature.user_id, feature.status) == (
        2898014,
        "CALL_FORWARD_UNCONDITIONAL",
        177059,
        "INACTIVE",
    )
    assert not feature.active
    assert feature.forward is not None
    assert feature.forward.destination_uri == "0225117902@s1.431569.bus.ipvoip.ch"
    assert feature.forward.condition == "ALWAYS"
    assert feature.forward.colp_allowed is True
    assert feature.dnd is None
    # Read and written back: the same JSON.
    assert feature.to_json() == body["feature"]
    # Switched on: only the status changes, exactly as the wiki's sed does.
    assert feature.with_status(True).to_json() == body["feature"] | {"status": "ACTIVE"}
    assert feature.with_status(True).to_json() == wiki("feature_cfu_put_answer")["feature"]
    assert Feature.from_json(wiki("feature_cfu_body_for_put")).to_json() == body["feature"]
    assert Feature.from_json(wiki("feature_cfu_list_entry")).status == "ACTIVE"


def test_cfu_destination_change_touches_only_the_destination() -> None:
    body = wiki("feature_cfu_get")["feature"]
    changed = parse_feature_envelope(wiki("feature_cfu_get")).with_destination("+41791234567").to_json()
    assert changed["callForwardUnconditionalData"] == body["callForwardUnconditionalData"] | {
        "destinationUri": "+41791234567"
    }
    assert {key: value for key, value in changed.items() if key != "callForwardUnconditionalData"} == {
        key: value for key, value in body.items() if key != "callForwardUnconditionalData"
    }


def test_dnd() -> None:
    feature = parse_feature_envelope(wiki("feature_dnd_get"))
    assert feature.name == "CENTRAL_DND"
    assert feature.dnd is not None
    assert (feature.dnd.condition, feature.dnd.mode) == ("ALWAYS", "USER")
    assert feature.forward is None
    assert feature.with_status(True).to_json() == wiki("feature_dnd_put_answer")["feature"]


def test_presence() -> None:
    presence = Presence.from_json(wiki("presence"))
    assert (presence.user_id, presence.domain_id) == (177059, 15200)
    assert presence.effective is not None
    assert presence.effective.activity == "ONLINE"
    assert presence.effective.enhanced_activity == "IN_A_CALL"
    assert presence.effective.modified_on == datetime(2024, 11, 4, 14, 17, 49, 457000, tzinfo=CET)
    assert presence.last_c5 is not None
    assert presence.last_c5.enhanced_activity == "NONE"
    assert presence.third_party is not None
    assert presence.third_party.activity == "UNKNOWN"
    assert presence.third_party.modified_on is None


def test_subscription_requests_match_what_the_client_sends() -> None:
    for name, resource in (
        ("subscription_request_feature_users", "FEATURE"),
        ("subscription_request_feature_enterprise", "FEATURE"),
        ("subscription_request_call_log", "CALL_LOG"),
    ):
        body = wiki(name)
        assert body["resourceType"] == resource
        assert body["expires"].endswith(".000Z")


def test_subscriptions() -> None:
    users = parse_subscription_envelope(wiki("subscription_created_feature_users"))
    assert users.id == "b014b9a4-99f8-4ef7-a83d-87d0606a6af5"
    assert users.resource_names == ("CALL_FORWARD_UNCONDITIONAL", "CALL_FORWARD_TIMEOUT")
    assert users.login_names == ("+41215776366@m.ipvoip.ch",)
    assert users.expires == datetime(2024, 11, 6, tzinfo=UTC)
    enterprise = parse_subscription_envelope(wiki("subscription_created_feature_enterprise"))
    assert enterprise.enterprise_names == ("431569.bus.ent",)
    calls = parse_subscription_envelope(wiki("subscription_created_call_log"))
    assert calls.resource_type == "CALL_LOG"
    assert calls.user_ids == (168382, 168386, 168390)
    assert calls.notification_url == "http://recovery.ipvoip.ch/openapi"
    listed = parse_subscription_list(wiki("subscription_list"))
    assert [item.id for item in listed] == ["5b14a0bf-da8a-4c32-9979-1bc7017a3b84"]


def test_feature_push() -> None:
    notification = parse_notification(wiki("push_feature_events"))
    assert notification.subscription_id == "fc544ab6-590f-43be-9134-d37d93a22e4e"
    (event,) = notification.feature_events
    assert event.change_type == "MODIFIED"
    assert event.feature.active
    assert event.previous_value is not None
    assert not event.previous_value.active
    assert event.event_time == datetime(2024, 11, 4, 12, 38, 54, 753000, tzinfo=CET)
    assert (event.context.user_id, event.context.user_name, event.context.enterprise_name) == (
        177059,
        "+41215776366@m.ipvoip.ch",
        "431569.bus.ent",
    )
    assert notification.skipped == 0


def test_call_log_push() -> None:
    notification = parse_notification(wiki("push_call_log_events"))
    (event,) = notification.call_log_events
    call = event.call_log
    assert call.id == "741f1e6a-8fb1-441e-9e0c-e57c68246d5d"
    assert (call.user_id, call.duration, call.direction, call.status) == (168382, 7, "OUTGOING", 804)
    assert call.call_start == datetime(2024, 9, 27, 15, 26, 45, tzinfo=UTC)
    assert (call.call_party_number, call.call_party_dial_number) == ("+41225117902", "0225117902")
    assert call.outgoing
    assert not call.incoming
    assert not call.missed
