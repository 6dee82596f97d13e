"""The simulator's pure model: lines, features, presence, subscriptions and call logs.

No I/O here. Every change is announced to the registered listeners (the push dispatcher)
as a ``FeatureChange``, ``PresenceChange`` or ``CallLogCreated``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any
import uuid

from yarl import URL

from .assumed import A
from .clock import Clock, format_instant, format_local_micros, format_local_millis, format_seconds_z, parse_instant
from .const import (
    ACTIVITY_ONLINE,
    ACTIVITY_UNKNOWN,
    CALL_STATUS_ANSWERED,
    CALL_STATUS_MISSED,
    CALL_TYPE_VOICE,
    CREATOR_ROLE,
    ENHANCED_IN_A_CALL,
    ENHANCED_NONE,
    FEATURE_DND,
    FORWARD_KINDS,
    forward_feature_name,
)

JsonDict = dict[str, Any]


class SimError(Exception):
    """A refused operation: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        """Initialise."""
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Named:
    """An ``{"id", "name"}`` pair of a push ``context``."""

    id: int
    name: str

    def to_json(self) -> JsonDict:
        """Return the JSON form."""
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class Line:
    """One phone line (a C5 user)."""

    user_id: int
    login_name: str
    phone_number: str
    name: str


@dataclass(slots=True)
class Subscription:
    """A push subscription, in the wiki's field order."""

    id: str
    resource_type: str
    notification_url: str
    expires: datetime
    created: datetime
    modified: datetime
    creator_id: str
    application_id: str
    user_ids: tuple[int, ...] = ()
    login_names: tuple[str, ...] = ()
    enterprise_names: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()

    def to_json(self) -> JsonDict:
        """Return the API's JSON form (absent lists are left out, like the examples)."""
        body: JsonDict = {"id": self.id, "resourceType": self.resource_type}
        if self.user_ids:
            body["resourceIds"] = [str(user_id) for user_id in self.user_ids]
        if self.resource_names:
            body["resourceNames"] = list(self.resource_names)
        if self.user_ids:
            body["userIds"] = list(self.user_ids)
        if self.login_names:
            body["loginNames"] = list(self.login_names)
        if self.enterprise_names:
            body["enterpriseNames"] = list(self.enterprise_names)
        body.update(
            {
                "notificationUrl": self.notification_url,
                "expires": format_instant(self.expires),
                "creatorId": self.creator_id,
                "creatorRole": CREATOR_ROLE,
                "creatorIsImpersonated": False,
                "applicationId": self.application_id,
                "created": format_local_micros(self.created),
                "modified": format_local_micros(self.modified),
            }
        )
        return body

    def matches(self, line: Line, enterprise: str, feat_name: str | None = None) -> bool:
        """Return whether an event of ``line`` (and feature ``feat_name``) is for this one."""
        if feat_name is not None and self.resource_names and feat_name not in self.resource_names:
            return False
        return (
            line.user_id in self.user_ids or line.login_name in self.login_names or enterprise in self.enterprise_names
        )


@dataclass(frozen=True, slots=True)
class ActiveCall:
    """A call in progress."""

    start: datetime
    direction: str
    number: str
    dial_number: str


@dataclass(frozen=True, slots=True)
class FeatureChange:
    """A feature changed (``previous`` -> ``feature``)."""

    user_id: int
    feature: JsonDict
    previous: JsonDict
    time: datetime


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """A user's presence changed; ``presence`` is the whole GET body after the change."""

    user_id: int
    presence: JsonDict
    time: datetime


@dataclass(frozen=True, slots=True)
class CallLogCreated:
    """A call ended and was logged."""

    user_id: int
    call_log: JsonDict
    time: datetime


Change = FeatureChange | PresenceChange | CallLogCreated
Listener = Callable[[Change], None]


def load_data(path: str | Path) -> JsonDict:
    """Read a seed file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TypeError(f"{path}: the seed must be a JSON object")
    return data


def _named(data: Mapping[str, Any], key: str) -> Named:
    value = data.get(key)
    if not isinstance(value, dict) or not isinstance(value.get("id"), int) or not isinstance(value.get("name"), str):
        raise TypeError(f"seed: {key!r} must be an object with an integer id and a name")
    return Named(value["id"], value["name"])


def national_number(number: str) -> str:
    """Return the number as dialled in Switzerland (``+41225117902`` -> ``0225117902``)."""
    return "0" + number[3:] if number.startswith("+41") else number


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _merge_ordered(old: Mapping[str, Any], new: Mapping[str, Any]) -> JsonDict:
    """``new``'s values in ``old``'s key order, then ``new``'s extra keys."""
    merged = {key: new[key] for key in old}
    merged.update({key: value for key, value in new.items() if key not in merged})
    return merged


def _str_list(body: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise SimError(400, f"'{key}' must be a list of strings")
    return tuple(value)


def _int_list(body: Mapping[str, Any], key: str) -> tuple[int, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        raise SimError(400, f"'{key}' must be a list of integers")
    return tuple(value)


class SimulatorState:
    """Everything the simulated platform knows."""

    def __init__(
        self,
        data: Mapping[str, Any],
        clock: Clock,
        *,
        username: str,
        application_id: str,
        presence_push: bool = True,
    ) -> None:
        """Build the state from a seed (see ``data/default.json``)."""
        self.clock = clock
        self.username = username
        self.application_id = application_id
        self.presence_push_enabled = presence_push
        self.listeners: list[Listener] = []
        server = data.get("server")
        if not isinstance(server, dict):
            raise TypeError("seed: 'server' must be an object")
        self.server_info: JsonDict = copy.deepcopy(server)
        self.service_provider = _named(data, "serviceProvider")
        self.enterprise = _named(data, "enterprise")
        self.site = _named(data, "site")
        self.lines: dict[int, Line] = {}
        self.features: dict[int, JsonDict] = {}
        self.user_features: dict[int, list[int]] = {}
        self.presence: dict[int, JsonDict] = {}
        self.call_logs: dict[int, list[JsonDict]] = {}
        self.active_calls: dict[int, ActiveCall] = {}
        self.subscriptions: dict[str, Subscription] = {}
        lines = data.get("lines")
        if not isinstance(lines, list) or not lines:
            raise ValueError("seed: 'lines' must be a non-empty list")
        for raw in lines:
            self._load_line(raw)

    def _load_line(self, raw: Any) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("userId"), int):
            raise TypeError("seed: every line needs an integer 'userId'")
        user_id: int = raw["userId"]
        if user_id in self.lines:
            raise ValueError(f"seed: duplicate userId {user_id}")
        number = str(raw.get("phoneNumber", ""))
        login = str(raw.get("loginName") or f"{number}@m.ipvoip.ch")
        self.lines[user_id] = Line(user_id, login, number, str(raw.get("name") or number or user_id))
        self.user_features[user_id] = []
        for feature in raw.get("features", []):
            if not isinstance(feature, dict) or not isinstance(feature.get("id"), int) or "featName" not in feature:
                raise ValueError(f"seed: a feature of user {user_id} needs an integer 'id' and a 'featName'")
            if feature["id"] in self.features:
                raise ValueError(f"seed: duplicate feature id {feature['id']}")
            stored = copy.deepcopy(feature)
            stored["userId"] = user_id
            self.features[feature["id"]] = stored
            self.user_features[user_id].append(feature["id"])
        now = format_local_millis(self.clock.now())
        presence = raw.get("presence")
        if not isinstance(presence, dict):
            presence = {}
        state = {
            "activity": str(presence.get("activity", ACTIVITY_ONLINE)),
            "enhancedActivity": str(presence.get("enhancedActivity", ENHANCED_NONE)),
            "modifiedOn": now,
        }
        self.presence[user_id] = {
            "userId": user_id,
            "domainId": self.site.id,
            "current": dict(state),
            "c5": dict(state),
            "lastC5": {"activity": ACTIVITY_ONLINE, "enhancedActivity": ENHANCED_NONE, "modifiedOn": now},
            "thirdParty": {"activity": ACTIVITY_UNKNOWN, "enhancedActivity": ENHANCED_NONE},
        }
        logs = raw.get("callLogs", [])
        self.call_logs[user_id] = [dict(log, userId=user_id) for log in logs if isinstance(log, dict)]

    # --- helpers -----------------------------------------------------------------------
    def _emit(self, change: Change) -> None:
        for listener in list(self.listeners):
            listener(change)

    def line(self, user_id: int) -> Line:
        """Return a line or raise a 404."""
        try:
            return self.lines[user_id]
        except KeyError:
            raise SimError(404, f"User {user_id} not found") from None

    def line_by_login(self, login: str) -> Line:
        """Return the line of a login name (the domain in any case) or raise a 404."""
        wanted = login.strip().lower()
        for line in self.lines.values():
            if line.login_name.lower() == wanted:
                return line
        raise SimError(404, f"User {login} not found")

    def context(self, user_id: int) -> JsonDict:
        """Return the ``context`` block of a push event about a user."""
        line = self.line(user_id)
        return {
            "user": {"id": line.user_id, "name": line.login_name},
            "site": self.site.to_json(),
            "enterprise": self.enterprise.to_json(),
            "serviceProvider": self.service_provider.to_json(),
        }

    # --- features ----------------------------------------------------------------------
    def list_features(self, user_id: int) -> list[JsonDict]:
        """Every feature of a user (404 if unknown)."""
        self.line(user_id)
        return [copy.deepcopy(self.features[fid]) for fid in self.user_features[user_id]]

    def get_feature(self, feature_id: int) -> JsonDict:
        """One feature (404 if unknown)."""
        try:
            return copy.deepcopy(self.features[feature_id])
        except KeyError:
            raise SimError(404, f"Feature {feature_id} not found") from None

    def find_feature(self, user_id: int, feat_name: str) -> JsonDict:
        """Return the feature of a user by featName (404 if none)."""
        for fid in self.user_features[self.line(user_id).user_id]:
            if self.features[fid]["featName"] == feat_name:
                return copy.deepcopy(self.features[fid])
        raise SimError(404, f"User {user_id} has no feature {feat_name}")

    def put_feature(self, feature_id: int, body: Any) -> JsonDict:
        """Replace a feature with the whole object ``body`` (the API's PUT); return it."""
        old = self.get_feature(feature_id)
        if isinstance(body, dict) and "id" not in body and isinstance(body.get("feature"), dict):
            body = body["feature"]
        if not isinstance(body, dict):
            raise SimError(400, "The request body must be a feature object")
        missing = [key for key in old if key not in body]
        if missing:
            raise SimError(400, f"Incomplete feature: missing {', '.join(missing)} (PUT takes the whole feature)")
        for key in ("id", "featName", "userId"):
            if body[key] != old[key] or _json_type(body[key]) != _json_type(old[key]):
                raise SimError(400, f"'{key}' cannot be changed")
        if body["status"] not in (A.STATUS_ACTIVE, A.STATUS_INACTIVE):
            raise SimError(400, f"Invalid status {body['status']!r}: expected {A.STATUS_ACTIVE} or {A.STATUS_INACTIVE}")
        new: JsonDict = {}
        for key, value in _merge_ordered(old, body).items():
            if key in old and old[key] is not None and _json_type(value) != _json_type(old[key]):
                raise SimError(400, f"JSON parse error: '{key}' must be of type {_json_type(old[key])}")
            if key in old and isinstance(old[key], dict):
                missing = [inner for inner in old[key] if inner not in value]
                if missing:
                    raise SimError(400, f"Incomplete '{key}': missing {', '.join(missing)}")
                value = _merge_ordered(old[key], value)
            new[key] = copy.deepcopy(value)
        self._store_feature(old, new)
        return copy.deepcopy(new)

    def _store_feature(self, old: JsonDict, new: JsonDict) -> bool:
        if new == old:
            return False
        self.features[old["id"]] = new
        self._emit(FeatureChange(old["userId"], copy.deepcopy(new), old, self.clock.now()))
        return True

    def update_feature(
        self, user_id: int, feat_name: str, *, status: str | None = None, data: Mapping[str, Any] | None = None
    ) -> bool:
        """Change a feature as a phone would (status and/or data keys); return if it changed."""
        old = self.find_feature(user_id, feat_name)
        new = copy.deepcopy(old)
        if status is not None:
            if status not in (A.STATUS_ACTIVE, A.STATUS_INACTIVE):
                raise SimError(400, f"Invalid status {status!r}")
            new["status"] = status
        if data:
            key = A.feature_data_key(feat_name)
            block = new.get(key)
            new[key] = {**(block if isinstance(block, dict) else {}), **data}
        return self._store_feature(old, new)

    def set_dnd(self, user_id: int, on: bool) -> bool:
        """Switch Do Not Disturb (``CENTRAL_DND``) as from the phone."""
        return self.update_feature(user_id, FEATURE_DND, status=A.STATUS_ACTIVE if on else A.STATUS_INACTIVE)

    def set_forward(self, user_id: int, kind: str, on: bool, destination: str | None = None) -> bool:
        """Switch a forward (``unconditional``, ``busy``, ...) and optionally its destination."""
        if kind not in FORWARD_KINDS:
            raise SimError(400, f"Unknown forward {kind!r}: one of {', '.join(FORWARD_KINDS)}")
        data = {"destinationUri": destination} if destination else None
        status = A.STATUS_ACTIVE if on else A.STATUS_INACTIVE
        return self.update_feature(user_id, forward_feature_name(kind), status=status, data=data)

    def feature_names(self) -> set[str]:
        """Every featName known."""
        return {feature["featName"] for feature in self.features.values()}

    # --- presence ----------------------------------------------------------------------
    def get_presence(self, user_id: int) -> JsonDict:
        """Return the presence body of a user (404 if unknown)."""
        self.line(user_id)
        return copy.deepcopy(self.presence[user_id])

    def set_presence(self, user_id: int, activity: str, enhanced_activity: str, *, at: datetime | None = None) -> bool:
        """Set the platform (``c5``) presence; ``lastC5`` keeps the previous one."""
        presence = self.presence[self.line(user_id).user_id]
        old = presence["c5"]
        if old.get("activity") == activity and old.get("enhancedActivity") == enhanced_activity:
            return False
        now = self.clock.now()
        state = {
            "activity": activity,
            "enhancedActivity": enhanced_activity,
            "modifiedOn": format_local_millis(at or now),
        }
        presence["lastC5"] = old
        presence["c5"] = state
        presence["current"] = dict(state)
        self._emit(PresenceChange(user_id, copy.deepcopy(presence), now))
        return True

    # --- calls -------------------------------------------------------------------------
    @staticmethod
    def _direction(direction: str) -> str:
        upper = direction.strip().upper()
        if upper in (A.DIRECTION_INCOMING, A.DIRECTION_OUTGOING):
            return upper
        raise SimError(400, f"Unknown direction {direction!r}: incoming or outgoing")

    @staticmethod
    def _number(number: str) -> str:
        if not isinstance(number, str) or not number.strip():
            raise SimError(400, "A call needs the other party's number")
        return number.strip()

    def start_call(self, user_id: int, direction: str, number: str, dial_number: str | None = None) -> None:
        """Start an answered call: presence goes ``IN_A_CALL``."""
        self.line(user_id)
        if user_id in self.active_calls:
            raise SimError(409, f"User {user_id} is already in a call")
        number = self._number(number)
        call = ActiveCall(self.clock.now(), self._direction(direction), number, dial_number or national_number(number))
        self.active_calls[user_id] = call
        self.set_presence(user_id, ACTIVITY_ONLINE, ENHANCED_IN_A_CALL)

    def end_call(self, user_id: int) -> JsonDict:
        """End the call in progress: presence back to ``NONE``, then the call is logged."""
        self.line(user_id)
        call = self.active_calls.pop(user_id, None)
        if call is None:
            raise SimError(409, f"User {user_id} is not in a call")
        duration = max(0, round((self.clock.now() - call.start).total_seconds()))
        self.set_presence(user_id, ACTIVITY_ONLINE, ENHANCED_NONE)
        return self._log_call(user_id, call, duration, CALL_STATUS_ANSWERED)

    def make_call(
        self,
        user_id: int,
        direction: str,
        number: str,
        duration: int = 0,
        *,
        missed: bool = False,
        dial_number: str | None = None,
    ) -> JsonDict:
        """Record a whole call that just ended, lasting ``duration`` seconds; return its log.

        An answered call passes presence through ``IN_A_CALL`` (since its start) back to
        ``NONE`` unless another call is in progress. A missed call is an unanswered
        incoming one (duration 0, A.is_missed_call), leaving presence alone.
        """
        self.line(user_id)
        direction = self._direction(direction)
        number = self._number(number)
        if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
            raise SimError(400, "duration must be a non-negative integer")
        if missed:
            if direction != A.DIRECTION_INCOMING:
                raise SimError(400, "Only an incoming call can be missed")
            duration = 0
        start = self.clock.now() - timedelta(seconds=duration)
        call = ActiveCall(start, direction, number, dial_number or national_number(number))
        if not missed and user_id not in self.active_calls:
            self.set_presence(user_id, ACTIVITY_ONLINE, ENHANCED_IN_A_CALL, at=start)
            self.set_presence(user_id, ACTIVITY_ONLINE, ENHANCED_NONE)
        status = CALL_STATUS_MISSED if missed else CALL_STATUS_ANSWERED
        return self._log_call(user_id, call, duration, status)

    def _log_call(self, user_id: int, call: ActiveCall, duration: int, status: int) -> JsonDict:
        log: JsonDict = {
            "id": str(uuid.uuid4()),
            "userId": user_id,
            "callStart": format_seconds_z(call.start),
            "duration": duration,
            "direction": call.direction,
            "callType": CALL_TYPE_VOICE,
            "status": status,
            "callPartyNumber": call.number,
            "callPartyDialNumber": call.dial_number,
        }
        self.call_logs[user_id].append(log)
        self._emit(CallLogCreated(user_id, copy.deepcopy(log), self.clock.now()))
        return copy.deepcopy(log)

    def call_history(
        self, user_id: int, start: datetime | None, end: datetime | None, limit: int, offset: int
    ) -> list[JsonDict]:
        """Return a page of a user's call logs, newest first, ``start <= callStart <= end``."""
        self.line(user_id)
        selected: list[tuple[datetime, int, JsonDict]] = []
        for index, log in enumerate(self.call_logs[user_id]):
            when = parse_instant(log.get("callStart"))
            if when is None:
                continue
            if (start is not None and when < start) or (end is not None and when > end):
                continue
            selected.append((when, index, log))
        selected.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [copy.deepcopy(log) for _, _, log in selected[offset : offset + limit]]

    # --- subscriptions -----------------------------------------------------------------
    def purge_expired(self) -> list[str]:
        """Delete every subscription whose ``expires`` has passed; return their ids."""
        now = self.clock.now()
        gone = [sub_id for sub_id, sub in self.subscriptions.items() if sub.expires <= now]
        for sub_id in gone:
            del self.subscriptions[sub_id]
        return gone

    def _expires(self, body: Mapping[str, Any]) -> datetime:
        key = A.SUBSCRIPTION_EXPIRES_KEY
        expires = parse_instant(body.get(key))
        if expires is None:
            raise SimError(400, f"'{key}' must be an ISO-8601 instant, e.g. 2024-11-06T00:00:00.000Z")
        now = self.clock.now()
        if expires <= now:
            raise SimError(400, f"'{key}' must be in the future")
        if expires - now > A.SUBSCRIPTION_MAX_LIFETIME:
            millis = int(A.SUBSCRIPTION_MAX_LIFETIME.total_seconds() * 1000)
            raise SimError(400, f"Maximum subscription lifetime is {millis} milliseconds")
        return expires

    def create_subscription(self, body: Any) -> Subscription:
        """Validate and store a new subscription (the API's POST)."""
        if not isinstance(body, dict):
            raise SimError(400, "The request body must be a subscription object")
        resource_type = body.get("resourceType")
        if resource_type not in A.RESOURCE_TYPES:
            raise SimError(400, f"Invalid resourceType {resource_type!r}: one of {', '.join(A.RESOURCE_TYPES)}")
        if resource_type == A.RESOURCE_PRESENCE and not self.presence_push_enabled:
            raise SimError(400, f"resourceType {A.RESOURCE_PRESENCE} is not supported")
        expires = self._expires(body)
        url = body.get("notificationUrl")
        if not isinstance(url, str):
            raise SimError(400, "'notificationUrl' must be an http(s) URL")
        try:
            parsed = URL(url)
        except ValueError:
            raise SimError(400, "'notificationUrl' must be an http(s) URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise SimError(400, "'notificationUrl' must be an http(s) URL")
        user_ids = _int_list(body, "userIds")
        login_names = _str_list(body, "loginNames")
        enterprise_names = _str_list(body, "enterpriseNames")
        resource_names = _str_list(body, "resourceNames")
        if not (user_ids or login_names or enterprise_names):
            raise SimError(400, "One of userIds, loginNames or enterpriseNames is required")
        if unknown := [str(uid) for uid in user_ids if uid not in self.lines]:
            raise SimError(400, f"Unknown userIds: {', '.join(unknown)}")
        logins = {line.login_name for line in self.lines.values()}
        if unknown := [name for name in login_names if name not in logins]:
            raise SimError(400, f"Unknown loginNames: {', '.join(unknown)}")
        if unknown := [name for name in enterprise_names if name != self.enterprise.name]:
            raise SimError(400, f"Unknown enterpriseNames: {', '.join(unknown)}")
        if resource_names and resource_type != A.RESOURCE_FEATURE:
            raise SimError(400, f"resourceNames only apply to {A.RESOURCE_FEATURE} subscriptions")
        names = self.feature_names()
        if unknown := [name for name in resource_names if name not in names]:
            raise SimError(400, f"Unknown resourceNames: {', '.join(unknown)}")
        now = self.clock.now()
        sub = Subscription(
            id=str(uuid.uuid4()),
            resource_type=resource_type,
            notification_url=url,
            expires=expires,
            created=now,
            modified=now,
            creator_id=self.username,
            application_id=self.application_id,
            user_ids=user_ids,
            login_names=login_names,
            enterprise_names=enterprise_names,
            resource_names=resource_names,
        )
        self.subscriptions[sub.id] = sub
        return sub

    def get_subscription(self, sub_id: str) -> Subscription:
        """One live subscription (404 if unknown or expired)."""
        self.purge_expired()
        try:
            return self.subscriptions[sub_id]
        except KeyError:
            raise SimError(404, f"Subscription {sub_id} not found") from None

    def renew_subscription(self, sub_id: str, body: Any) -> Subscription:
        """Move a subscription's ``expires`` (the API's PATCH)."""
        sub = self.get_subscription(sub_id)
        if not isinstance(body, dict):
            raise SimError(400, "The request body must be an object")
        sub.expires = self._expires(body)
        sub.modified = self.clock.now()
        return sub

    def delete_subscription(self, sub_id: str) -> None:
        """Delete a subscription (404 if unknown)."""
        self.get_subscription(sub_id)
        del self.subscriptions[sub_id]

    def expire_subscription(self, sub_id: str) -> None:
        """Make a subscription reach its ``expires`` now (it is then deleted)."""
        self.get_subscription(sub_id).expires = self.clock.now()
        self.purge_expired()

    def matching_subscriptions(
        self, resource_type: str, user_id: int, feat_name: str | None = None
    ) -> list[Subscription]:
        """Live subscriptions of a type that an event about ``user_id`` goes to."""
        self.purge_expired()
        line = self.line(user_id)
        return [
            sub
            for sub in self.subscriptions.values()
            if sub.resource_type == resource_type and sub.matches(line, self.enterprise.name, feat_name)
        ]

    # --- dump --------------------------------------------------------------------------
    def to_json(self) -> JsonDict:
        """Return a dump of everything (the control API's ``state``)."""
        self.purge_expired()
        return {
            "now": format_local_millis(self.clock.now()),
            "clockOffset": self.clock.offset,
            "presencePushEnabled": self.presence_push_enabled,
            "server": copy.deepcopy(self.server_info),
            "serviceProvider": self.service_provider.to_json(),
            "enterprise": self.enterprise.to_json(),
            "site": self.site.to_json(),
            "lines": [
                {
                    "userId": line.user_id,
                    "loginName": line.login_name,
                    "phoneNumber": line.phone_number,
                    "name": line.name,
                    "features": self.list_features(line.user_id),
                    "presence": self.get_presence(line.user_id),
                    "activeCall": _active_call_json(self.active_calls.get(line.user_id)),
                    "callLogs": copy.deepcopy(self.call_logs[line.user_id]),
                }
                for line in self.lines.values()
            ],
            "subscriptions": [sub.to_json() for sub in self.subscriptions.values()],
        }


def _active_call_json(call: ActiveCall | None) -> JsonDict | None:
    if call is None:
        return None
    return {
        "start": format_seconds_z(call.start),
        "direction": call.direction,
        "number": call.number,
        "dialNumber": call.dial_number,
    }
