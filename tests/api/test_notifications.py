"""Push bodies read by ``api.notifications``: the wiki's examples, garbage refused, entries tolerated."""

from __future__ import annotations

from http import HTTPStatus
import json

import pytest

from custom_components.vtx_voip.api import NotificationRefused, parse_push_body
from custom_components.vtx_voip.api.notifications import MAX_BODY_BYTES, MAX_EVENTS

from .conftest import wiki


def raw(body: object) -> bytes:
    """JSON bytes of a body."""
    return json.dumps(body).encode()


def test_wiki_feature_push() -> None:
    """The wiki's feature push: one event, its line, login, resource."""
    body = wiki("push_feature_events")
    notification = parse_push_body(raw(body))
    assert notification.subscription_id == body["subscriptionId"]
    [event] = notification.feature_events
    user_id = event.feature.user_id
    assert notification.lines() == {user_id: event.context.user_name}
    assert notification.resources() == frozenset({"FEATURE"})
    if event.context.user_id is not None and event.context.user_name:
        assert notification.login_names() == {event.context.user_id: event.context.user_name}


def test_wiki_call_log_push() -> None:
    """The wiki's call-log push: its line and resource."""
    notification = parse_push_body(raw(wiki("push_call_log_events")))
    [event] = notification.call_log_events
    assert set(notification.lines()) == {event.call_log.user_id}
    assert notification.resources() == frozenset({"CALL_LOG"})


def test_presence_push_and_login_names() -> None:
    """A presence event (INFERRED shape) names its user by the presence, else by the context."""
    body = {
        "subscriptionId": "s",
        "presenceEvents": [
            {
                "presence": {"userId": 7, "current": {"activity": "AVAILABLE"}},
                "context": {"user": {"id": 7, "name": "a@x"}},
            },
            {"presence": {"current": {"activity": "BUSY"}}, "context": {"user": {"id": 8, "name": "b@x"}}},
            {"presence": {"current": {}}, "context": {}},
        ],
    }
    notification = parse_push_body(raw(body))
    assert notification.lines() == {7: "a@x", 8: "b@x"}
    assert notification.login_names() == {7: "a@x", 8: "b@x"}
    assert notification.resources() == frozenset({"PRESENCE"})


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", HTTPStatus.BAD_REQUEST),
        (b"not json", HTTPStatus.BAD_REQUEST),
        (b"\xff\xfe", HTTPStatus.BAD_REQUEST),
        (b"[]", HTTPStatus.BAD_REQUEST),
        (b"{}", HTTPStatus.BAD_REQUEST),
        (b'{"subscriptionId": 5}', HTTPStatus.BAD_REQUEST),
        (b'{"subscriptionId": ""}', HTTPStatus.BAD_REQUEST),
        (raw({"subscriptionId": "a" * 201}), HTTPStatus.BAD_REQUEST),
        (raw({"subscriptionId": "s", "featureEvents": {}}), HTTPStatus.BAD_REQUEST),
        (raw({"subscriptionId": "s", "callLogEvents": [{}] * (MAX_EVENTS + 1)}), HTTPStatus.BAD_REQUEST),
        (b"[" * 100_000 + b"]" * 100_000, HTTPStatus.BAD_REQUEST),
        (b" " * (MAX_BODY_BYTES + 1), HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    ],
)
def test_garbage_refused(body: bytes, status: HTTPStatus) -> None:
    """What is not a notification is refused with the status to answer."""
    with pytest.raises(NotificationRefused) as err:
        parse_push_body(body)
    assert err.value.status == status


def test_bad_entries_skipped_and_unknown_kinds_listed() -> None:
    """Entries that cannot be parsed are counted; unknown event kinds listed; nothing raised."""
    body = {
        "subscriptionId": "s",
        "featureEvents": [{"feature": "nope"}, 3],
        "callLogEvents": [{"callLog": {}}],
        "somethingEvents": [],
    }
    notification = parse_push_body(raw(body))
    assert notification.skipped == 3
    assert notification.unknown_keys == ("somethingEvents",)
    assert notification.lines() == {}
    assert notification.resources() == frozenset()
