"""Push notifications: the body the API POSTs to a notification URL, read tolerantly.

``parse_push_body`` turns the raw bytes of a POST into a ``Notification`` or raises
``NotificationRefused`` with the HTTP status to answer (400 for what is not a
notification at all, 413 for a body over ``MAX_BODY_BYTES``). Entries that cannot be
parsed are skipped and counted; keys of unknown event kinds are listed.

No Home Assistant import: the integration's webhook reads the body and hands it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
import json
from typing import Any, Final, Self

from .assumptions import (
    PUSH_CALL_LOG_EVENTS_KEY,
    PUSH_FEATURE_EVENTS_KEY,
    PUSH_PRESENCE_EVENTS_KEY,
    PUSH_PRESENCE_OBJECT_KEY,
    RESOURCE_CALL_LOG,
    RESOURCE_FEATURE,
    RESOURCE_PRESENCE,
)
from .exceptions import VtxResponseError
from .models import CallLog, Feature, Presence, _obj, _opt_int, _opt_str, _req_str, parse_datetime

# A push body larger than this is refused (413) without being read further.
MAX_BODY_BYTES: Final = 1024 * 1024
# At most this many entries per event list, and this long a subscription id.
MAX_EVENTS: Final = 1000
MAX_SUBSCRIPTION_ID: Final = 200
EVENT_KEYS: Final = (PUSH_FEATURE_EVENTS_KEY, PUSH_CALL_LOG_EVENTS_KEY, PUSH_PRESENCE_EVENTS_KEY)


class NotificationRefused(Exception):
    """A POST that is not a notification; ``status`` is the HTTP status to answer."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        """Keep the status and the reason (for a debug log)."""
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class EventContext:
    """The ``context`` of a push event (names and ids of user, site, enterprise)."""

    user_id: int | None
    user_name: str | None
    enterprise_name: str | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a context block tolerantly."""
        body: dict[str, Any] = data if isinstance(data, dict) else {}
        user = body.get("user")
        enterprise = body.get("enterprise")
        user = user if isinstance(user, dict) else {}
        enterprise = enterprise if isinstance(enterprise, dict) else {}
        return cls(
            user_id=_opt_int(user, "id"),
            user_name=_opt_str(user, "name"),
            enterprise_name=_opt_str(enterprise, "name"),
        )


@dataclass(frozen=True, slots=True)
class FeatureEvent:
    """One entry of ``featureEvents``."""

    change_type: str | None
    feature: Feature
    previous_value: Feature | None
    event_time: datetime | None
    context: EventContext


@dataclass(frozen=True, slots=True)
class CallLogEvent:
    """One entry of ``callLogEvents``."""

    change_type: str | None
    call_log: CallLog
    event_time: datetime | None
    context: EventContext


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """One entry of the (INFERRED) ``presenceEvents``."""

    change_type: str | None
    presence: Presence
    event_time: datetime | None
    context: EventContext

    @property
    def user_id(self) -> int | None:
        """The user the presence belongs to."""
        return self.presence.user_id if self.presence.user_id is not None else self.context.user_id


@dataclass(frozen=True, slots=True)
class Notification:
    """A push body. Entries that cannot be parsed are counted in ``skipped``."""

    subscription_id: str
    feature_events: tuple[FeatureEvent, ...] = ()
    call_log_events: tuple[CallLogEvent, ...] = ()
    presence_events: tuple[PresenceEvent, ...] = ()
    skipped: int = 0
    unknown_keys: tuple[str, ...] = ()

    def lines(self) -> dict[int, str | None]:
        """Return the userIds the events are about, each with its login name when a context gives it."""
        named: dict[int, str | None] = {}
        for event in self.feature_events:
            named.setdefault(event.feature.user_id, event.context.user_name)
        for call_event in self.call_log_events:
            named.setdefault(call_event.call_log.user_id, call_event.context.user_name)
        for presence_event in self.presence_events:
            if (user_id := presence_event.user_id) is not None:
                named.setdefault(user_id, presence_event.context.user_name)
        return named

    def login_names(self) -> dict[int, str]:
        """Return the login names the contexts give for the userIds they are about (``context.user``)."""
        contexts = [
            *(event.context for event in self.feature_events),
            *(event.context for event in self.call_log_events),
            *(event.context for event in self.presence_events),
        ]
        return {
            context.user_id: context.user_name
            for context in contexts
            if context.user_id is not None and context.user_name
        }

    def resources(self) -> frozenset[str]:
        """Return the kinds of event it carries, as resource types (FEATURE, CALL_LOG, PRESENCE)."""
        kinds = (
            (RESOURCE_FEATURE, self.feature_events),
            (RESOURCE_CALL_LOG, self.call_log_events),
            (RESOURCE_PRESENCE, self.presence_events),
        )
        return frozenset(resource for resource, events in kinds if events)


def _events(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise VtxResponseError(f"notification: '{key}' is not a list")
    return [item if isinstance(item, dict) else {} for item in value]


def parse_notification(data: Any) -> Notification:
    """Parse a push body of any shape, tolerantly.

    Raises ``VtxResponseError`` when it is not an object or has no subscription id; an
    entry that cannot be parsed is skipped (and counted), keys of unknown event kinds are
    listed in ``unknown_keys``.
    """
    body = _obj(data, "notification")
    subscription_id = _req_str(body, "subscriptionId", "notification")
    skipped = 0
    features: list[FeatureEvent] = []
    for item in _events(body, PUSH_FEATURE_EVENTS_KEY):
        try:
            previous = item.get("previousValue")
            features.append(
                FeatureEvent(
                    change_type=_opt_str(item, "changeType"),
                    feature=Feature.from_json(item.get("feature")),
                    # Only compared with what is held, never kept: not copied.
                    previous_value=Feature.from_json(previous, copy=False) if isinstance(previous, dict) else None,
                    event_time=parse_datetime(item.get("eventTime")),
                    context=EventContext.from_json(item.get("context")),
                )
            )
        except VtxResponseError:
            skipped += 1
    calls: list[CallLogEvent] = []
    for item in _events(body, PUSH_CALL_LOG_EVENTS_KEY):
        try:
            calls.append(
                CallLogEvent(
                    change_type=_opt_str(item, "changeType"),
                    call_log=CallLog.from_json(item.get("callLog")),
                    event_time=parse_datetime(item.get("eventTime")),
                    context=EventContext.from_json(item.get("context")),
                )
            )
        except VtxResponseError:
            skipped += 1
    presences: list[PresenceEvent] = []
    for item in _events(body, PUSH_PRESENCE_EVENTS_KEY):
        try:
            presences.append(
                PresenceEvent(
                    change_type=_opt_str(item, "changeType"),
                    presence=Presence.from_json(item.get(PUSH_PRESENCE_OBJECT_KEY)),
                    event_time=parse_datetime(item.get("eventTime")),
                    context=EventContext.from_json(item.get("context")),
                )
            )
        except VtxResponseError:
            skipped += 1
    known = {"subscriptionId", *EVENT_KEYS}
    unknown = tuple(sorted(key for key in body if key not in known and key.endswith("Events")))
    return Notification(
        subscription_id=subscription_id,
        feature_events=tuple(features),
        call_log_events=tuple(calls),
        presence_events=tuple(presences),
        skipped=skipped,
        unknown_keys=unknown,
    )


def _check_envelope(body: Any) -> None:
    """Refuse (400) what is not a notification's envelope: an object with a subscription id."""
    if not isinstance(body, dict):
        raise NotificationRefused(HTTPStatus.BAD_REQUEST, "not a JSON object")
    subscription_id = body.get("subscriptionId")
    if not isinstance(subscription_id, str) or not 1 <= len(subscription_id) <= MAX_SUBSCRIPTION_ID:
        raise NotificationRefused(HTTPStatus.BAD_REQUEST, "no valid subscriptionId")
    for key in EVENT_KEYS:
        value = body.get(key)
        if value is not None and (not isinstance(value, list) or len(value) > MAX_EVENTS):
            raise NotificationRefused(HTTPStatus.BAD_REQUEST, f"'{key}' is not a list of at most {MAX_EVENTS}")


def parse_push_body(raw: bytes) -> Notification:
    """Read a POSTed body: JSON, the envelope, then the entries (tolerantly).

    Raises ``NotificationRefused`` (400, or 413 over ``MAX_BODY_BYTES``) for what is not
    a notification.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise NotificationRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise NotificationRefused(HTTPStatus.BAD_REQUEST, f"not JSON: {err}") from None
    _check_envelope(body)
    try:
        return parse_notification(body)
    except (ValueError, TypeError, RecursionError, VtxResponseError) as err:
        raise NotificationRefused(HTTPStatus.BAD_REQUEST, str(err)) from None
