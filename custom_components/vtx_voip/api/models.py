"""Typed models of the VTX OpenAPI's JSON.

Parsing is tolerant: unknown keys are kept (a feature read and written back is the same
JSON apart from what was changed) and a missing optional field becomes ``None``. A body
whose required fields are missing or of the wrong type raises ``VtxResponseError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from .assumptions import (
    CALL_HISTORY_WRAPPER_KEY,
    DIRECTION_INCOMING,
    DIRECTION_OUTGOING,
    STATUS_ACTIVE,
    STATUS_INACTIVE,
    feature_data_key,
    is_missed_call,
    supports_login_names,
)
from .exceptions import VtxResponseError

type JsonObject = dict[str, Any]


# --- field helpers ---------------------------------------------------------------------
def _copy_json(value: Any) -> Any:
    """Copy decoded JSON (objects, arrays, scalars): what ``copy.deepcopy`` does, at a third of its cost.

    Deeper nesting than the interpreter's recursion limit raises ``RecursionError``, as
    ``copy.deepcopy`` does.
    """
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _obj(value: Any, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise VtxResponseError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def _int_from_text(value: str, *, signed: bool) -> int | None:
    """Parse a decimal integer written with ASCII digits; ``None`` for anything else.

    ``str.isdigit`` alone is not enough: it accepts "²" and other digits ``int()`` refuses,
    and ``int()`` refuses more than 4300 digits.
    """
    text = value.strip()
    digits = text[1:] if signed and text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _req_int(data: Mapping[str, Any], key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool):
        raise VtxResponseError(f"{what}: {key} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (number := _int_from_text(value, signed=True)) is not None:
        return number
    raise VtxResponseError(f"{what}: {key} is missing or not an integer")


def _req_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if isinstance(value, str) and value:
        return value
    raise VtxResponseError(f"{what}: {key} is missing or not a string")


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return _int_from_text(value, signed=False)
    return None


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return value if isinstance(value, bool) else None


def parse_datetime(value: Any) -> datetime | None:
    """Parse the API's ISO instants ("...Z", "+01:00", "+0200"); naive means UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # "+0200" (server-info buildDate) -> "+02:00"
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_datetime(value: datetime) -> str:
    """Format an instant the way the API's examples write it: UTC, milliseconds, "Z"."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _str_list(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(str(item) for item in value if isinstance(item, (str, int)) and not isinstance(item, bool))


def _int_list(data: Mapping[str, Any], key: str) -> tuple[int, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    result: list[int] = []
    for item in value:
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            result.append(item)
        elif isinstance(item, str) and (number := _int_from_text(item, signed=False)) is not None:
            result.append(number)
    return tuple(result)


# --- server ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServerInfo:
    """``GET v1/system/server``."""

    build_version: str
    build_customer: str | None
    build_number: str | None
    build_date: datetime | None
    bulk_limit_common: int | None
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse the server-info body."""
        body = _obj(data, "server info")
        return cls(
            build_version=_req_str(body, "buildVersion", "server info"),
            build_customer=_opt_str(body, "buildCustomer"),
            build_number=_opt_str(body, "buildNumber"),
            build_date=parse_datetime(body.get("buildDate")),
            bulk_limit_common=_opt_int(body, "bulkLimitCommon"),
            raw=body,
        )

    @property
    def supports_login_names(self) -> bool:
        """Whether the platform resolves login names on user paths (7.8+, see ``assumptions``)."""
        return supports_login_names(self.build_version)


# --- features --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallForwardData:
    """The data block of a call-forward feature (``callForward...Data``)."""

    destination_uri: str | None
    condition: str | None
    colp_allowed: bool | None
    type: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse a forward data block."""
        return cls(
            destination_uri=_opt_str(data, "destinationUri"),
            condition=_opt_str(data, "condition"),
            colp_allowed=_opt_bool(data, "colpAllowed"),
            type=_opt_str(data, "type"),
        )


@dataclass(frozen=True, slots=True)
class DndData:
    """The data block of CENTRAL_DND (``centralDndData``)."""

    condition: str | None
    mode: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse a DND data block."""
        return cls(condition=_opt_str(data, "condition"), mode=_opt_str(data, "mode"))


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature of a user. ``raw`` is the whole JSON, unknown keys included."""

    id: int
    name: str
    user_id: int
    status: str
    # Part of equality: a new destination makes a different feature (not of the hash).
    raw: JsonObject = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: Any, *, copy: bool = True) -> Self:
        """Parse a feature object (the bare one, not the ``{"feature": ...}`` wrapper).

        ``copy=False`` keeps ``data`` itself as ``raw``, for JSON only compared and never
        kept or written back (a push's ``previousValue``): the caller must not change it.
        """
        body = _obj(data, "feature")
        try:
            raw: JsonObject = _copy_json(body) if copy else body
        except RecursionError:
            raise VtxResponseError("feature: nested too deeply") from None
        name = _req_str(body, "featName", "feature")
        status = body.get("status")
        # The status is never guessed: a feature without a valid one is not a feature.
        if not isinstance(status, str) or status.strip().upper() not in (STATUS_ACTIVE, STATUS_INACTIVE):
            raise VtxResponseError(f"feature {name}: status is missing or not ACTIVE/INACTIVE")
        block = body.get(feature_data_key(name))
        if block is not None and not isinstance(block, dict):
            raise VtxResponseError(f"feature {name}: its data block is not an object")
        if isinstance(block, dict) and name.startswith("CALL_FORWARD_"):
            destination = block.get("destinationUri")
            if destination is not None and not isinstance(destination, str):
                raise VtxResponseError(f"feature {name}: destinationUri is not a string")
        return cls(
            id=_req_int(body, "id", "feature"),
            name=name,
            user_id=_req_int(body, "userId", "feature"),
            status=status.strip().upper(),
            raw=raw,
        )

    @property
    def active(self) -> bool:
        """Whether the feature is switched on."""
        return self.status.upper() == STATUS_ACTIVE

    @property
    def data_key(self) -> str:
        """The key of this feature's data block."""
        return feature_data_key(self.name)

    @property
    def data(self) -> JsonObject | None:
        """The feature's data block, if it has one."""
        block = self.raw.get(self.data_key)
        return block if isinstance(block, dict) else None

    @property
    def forward(self) -> CallForwardData | None:
        """The forward data, when this is a call-forward feature with a data block."""
        block = self.data
        if block is None or not self.name.startswith("CALL_FORWARD_"):
            return None
        return CallForwardData.from_json(block)

    @property
    def dnd(self) -> DndData | None:
        """The DND data, when this is CENTRAL_DND with a data block."""
        block = self.data
        if block is None or self.name != "CENTRAL_DND":
            return None
        return DndData.from_json(block)

    def differs_from(self, saved: Mapping[str, Any]) -> bool:
        """Whether its status or its data block differ from a feature's JSON saved earlier (a baseline)."""
        key = self.data_key
        return self.raw.get("status") != saved.get("status") or self.raw.get(key) != saved.get(key)

    def to_json(self) -> JsonObject:
        """Return a deep copy of the whole feature JSON, for a PUT."""
        copied: JsonObject = _copy_json(self.raw)
        return copied

    def with_status(self, active: bool) -> Feature:
        """Return a copy switched on or off; nothing else changes."""
        body = self.to_json()
        body["status"] = STATUS_ACTIVE if active else STATUS_INACTIVE
        return Feature.from_json(body)

    def with_destination(self, destination: str) -> Feature:
        """Return a copy of a forward feature with a new ``destinationUri``."""
        body = self.to_json()
        block = body.get(self.data_key)
        if not isinstance(block, dict):
            raise TypeError(f"{self.name} has no data block to hold a destination")
        block["destinationUri"] = destination
        return Feature.from_json(body)


def parse_feature_envelope(data: Any) -> Feature:
    """Parse ``{"feature": {...}}`` (or, tolerantly, a bare feature)."""
    body = _obj(data, "feature answer")
    inner = body.get("feature", body)
    return Feature.from_json(inner)


def parse_feature_list(data: Any) -> list[Feature]:
    """Parse ``{"features": [...]}``; entries that cannot be parsed are skipped."""
    return parse_feature_list_checked(data)[0]


def parse_feature_list_checked(data: Any) -> tuple[list[Feature], frozenset[str]]:
    """Parse ``{"features": [...]}``: the valid features, and the names of the invalid ones.

    An entry that is not valid (no valid status, a malformed data block) is skipped; its
    ``featName``, when it has one, is returned so that what is held for it stays as it was.
    """
    body = _obj(data, "feature list")
    items = body.get("features")
    if not isinstance(items, list):
        raise VtxResponseError("feature list: 'features' is missing or not a list")
    features: list[Feature] = []
    invalid: set[str] = set()
    for item in items:
        try:
            features.append(Feature.from_json(item))
        except VtxResponseError:
            if isinstance(item, dict) and isinstance(name := item.get("featName"), str):
                invalid.add(name)
    return features, frozenset(invalid)


# --- presence --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PresenceState:
    """One presence block: activity, enhancedActivity (open strings), modifiedOn."""

    activity: str | None
    enhanced_activity: str | None
    modified_on: datetime | None

    @classmethod
    def from_json(cls, data: Any) -> Self | None:
        """Parse a presence block; ``None`` when it is absent."""
        if not isinstance(data, dict):
            return None
        return cls(
            activity=_opt_str(data, "activity"),
            enhanced_activity=_opt_str(data, "enhancedActivity"),
            modified_on=parse_datetime(data.get("modifiedOn")),
        )


@dataclass(frozen=True, slots=True)
class Presence:
    """``GET v1/users/{id}/presence``.

    FOUND shape; INFERRED meaning: ``current`` is the effective state, ``c5`` the
    platform's own, ``last_c5`` the previous platform state, ``third_party`` set from
    outside. ``effective`` falls back to ``c5`` when ``current`` is absent.
    """

    user_id: int | None
    domain_id: int | None
    current: PresenceState | None
    c5: PresenceState | None
    last_c5: PresenceState | None
    third_party: PresenceState | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a presence body."""
        body = _obj(data, "presence")
        return cls(
            user_id=_opt_int(body, "userId"),
            domain_id=_opt_int(body, "domainId"),
            current=PresenceState.from_json(body.get("current")),
            c5=PresenceState.from_json(body.get("c5")),
            last_c5=PresenceState.from_json(body.get("lastC5")),
            third_party=PresenceState.from_json(body.get("thirdParty")),
        )

    @property
    def effective(self) -> PresenceState | None:
        """The state to show: ``current``, else ``c5``."""
        return self.current or self.c5


# --- subscriptions ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subscription:
    """A push subscription."""

    id: str
    resource_type: str
    notification_url: str | None
    expires: datetime | None
    user_ids: tuple[int, ...]
    login_names: tuple[str, ...]
    enterprise_names: tuple[str, ...]
    resource_names: tuple[str, ...]
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a bare subscription object."""
        body = _obj(data, "subscription")
        return cls(
            id=_req_str(body, "id", "subscription"),
            resource_type=_req_str(body, "resourceType", "subscription"),
            notification_url=_opt_str(body, "notificationUrl"),
            expires=parse_datetime(body.get("expires")),
            user_ids=_int_list(body, "userIds"),
            login_names=_str_list(body, "loginNames"),
            enterprise_names=_str_list(body, "enterpriseNames"),
            resource_names=_str_list(body, "resourceNames"),
            raw=body,
        )


def parse_subscription_envelope(data: Any) -> Subscription:
    """Parse ``{"subscription": {...}}`` (or, tolerantly, a bare subscription)."""
    body = _obj(data, "subscription answer")
    return Subscription.from_json(body.get("subscription", body))


def parse_subscription_list(data: Any) -> list[Subscription]:
    """Parse ``{"subscriptions": [...]}`` (or a bare list); bad entries are skipped."""
    items = data.get("subscriptions") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise VtxResponseError("subscription list: 'subscriptions' is missing or not a list")
    result: list[Subscription] = []
    for item in items:
        try:
            result.append(Subscription.from_json(item))
        except VtxResponseError:
            continue
    return result


# --- call logs -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallLog:
    """One call data record (the push example's ``callLog``)."""

    id: str
    user_id: int
    call_start: datetime | None
    duration: int
    direction: str | None
    call_type: str | None
    status: int | None
    call_party_number: str | None
    call_party_dial_number: str | None
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse a call log."""
        body = _obj(data, "call log")
        raw_id = body.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        if not isinstance(raw_id, str) or not raw_id:
            raise VtxResponseError("call log: id is missing")
        duration = _opt_int(body, "duration")
        return cls(
            id=raw_id,
            user_id=_req_int(body, "userId", "call log"),
            call_start=parse_datetime(body.get("callStart")),
            duration=max(duration or 0, 0),
            direction=_opt_str(body, "direction"),
            call_type=_opt_str(body, "callType"),
            status=_opt_int(body, "status"),
            call_party_number=_opt_str(body, "callPartyNumber"),
            call_party_dial_number=_opt_str(body, "callPartyDialNumber"),
            raw=body,
        )

    @property
    def missed(self) -> bool:
        """Whether this is a missed call (rule in ``assumptions.is_missed_call``)."""
        return is_missed_call(self.direction, self.duration)

    @property
    def incoming(self) -> bool:
        """Whether the call came in (missed calls included)."""
        return (self.direction or "").upper() == DIRECTION_INCOMING or self.missed

    @property
    def outgoing(self) -> bool:
        """Whether the call went out."""
        return (self.direction or "").upper() == DIRECTION_OUTGOING


def parse_call_log_list(data: Any) -> list[CallLog]:
    """Parse a bare JSON array of call logs, or ``{"callLogs": [...]}``."""
    items = data.get(CALL_HISTORY_WRAPPER_KEY) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise VtxResponseError("call history: expected a list of call logs")
    result: list[CallLog] = []
    for item in items:
        try:
            result.append(CallLog.from_json(item))
        except VtxResponseError:
            continue
    return result
