"""Every assumption about the VTX OpenAPI that its published pages do not settle.

The wiki's JSON examples are the truth. Where the API is silent, the client and the
bundled simulator (``vtx_simulator``) both read their behaviour from this module, so that
when the truth is known exactly one place changes.

Each constant says whether it was FOUND (seen in a published revision of the wiki) or is
INFERRED (our own reading; code relying on it parses tolerantly).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any, Final

# --- Subscriptions ---------------------------------------------------------------------
# FOUND: "Maximum subscription lifetime is 259200000 milliseconds (or 3 days)."
SUBSCRIPTION_MAX_LIFETIME: Final = timedelta(milliseconds=259_200_000)

# FOUND: resource types named on the wiki. PRESENCE is INFERRED from the use-case table;
# a server may refuse it (4xx), in which case presence is polled.
RESOURCE_FEATURE: Final = "FEATURE"
RESOURCE_CALL_LOG: Final = "CALL_LOG"
RESOURCE_PRESENCE: Final = "PRESENCE"
RESOURCE_TYPES: Final = (RESOURCE_FEATURE, RESOURCE_CALL_LOG, RESOURCE_PRESENCE)

# FOUND: the wiki's table of subscription scopes documents ``loginNames`` and
# ``enterpriseNames`` for FEATURE, and ``userIds`` for CALL_LOG only. So a per-line FEATURE
# subscription names its lines by login name when every line's login name is known (from a
# 7.8 look-up or a push's ``context.user.name``). INFERRED: a FEATURE subscription by
# ``userIds`` works too; it is sent only while some line's login name is unknown, or after
# the API refused ``loginNames`` (4xx).
FEATURE_SCOPE_BY_LOGIN_NAMES: Final = True

# INFERRED: renewal is ``PATCH v1/subscriptions/{id}`` with ``{"expires": "<ISO instant>"}``
# (the wiki's example is cut off). A 404 answer means the subscription is gone.
SUBSCRIPTION_RENEW_METHOD: Final = "PATCH"
SUBSCRIPTION_EXPIRES_KEY: Final = "expires"

# --- Endpoints that may not exist ---------------------------------------------------------
# The assumed endpoints above (the call history, the renewal PATCH). Answered 404, 405 or
# 501, such an endpoint is taken as absent on that platform: it is not asked again for
# this long (the client raises ``VtxUnsupportedError`` at once meanwhile).
ENDPOINT_CALL_HISTORY: Final = "call_history"
ENDPOINT_RENEW: Final = "subscription_renewal"
UNSUPPORTED_STATUSES: Final = frozenset({404, 405, 501})
UNSUPPORTED_RETRY: Final = timedelta(hours=6)

# --- Push payload keys -----------------------------------------------------------------
# FOUND: the two documented push payloads.
PUSH_FEATURE_EVENTS_KEY: Final = "featureEvents"
PUSH_CALL_LOG_EVENTS_KEY: Final = "callLogEvents"
# INFERRED: by the pattern of the two above. A presence event is assumed to look like
#   {"changeType": "MODIFIED", "presence": {<the GET .../presence body>},
#    "eventTime": "<ISO>", "context": {...}}
PUSH_PRESENCE_EVENTS_KEY: Final = "presenceEvents"
PUSH_PRESENCE_OBJECT_KEY: Final = "presence"

# --- Call history (CDR query) ----------------------------------------------------------
# INFERRED: no CDR query endpoint is published. We assume C5's usual provisioning shape:
#   GET v1/users/{userId}/calllogs?from=<ISO>&to=<ISO>&limit=<n>&offset=<n>
# answered with a bare JSON array of call logs (the push example's ``callLog`` shape),
# newest first. A wrapped answer ``{"callLogs": [...]}`` is accepted too.
CALL_HISTORY_PATH: Final = "v1/users/{user_id}/calllogs"
CALL_HISTORY_PARAM_FROM: Final = "from"
CALL_HISTORY_PARAM_TO: Final = "to"
CALL_HISTORY_PARAM_LIMIT: Final = "limit"
CALL_HISTORY_PARAM_OFFSET: Final = "offset"
CALL_HISTORY_WRAPPER_KEY: Final = "callLogs"
# INFERRED: ``bulkLimitCommon`` (100 in the server-info example) caps a page.
CALL_HISTORY_PAGE_SIZE: Final = 100

# --- Call direction and "missed" -------------------------------------------------------
# FOUND: "OUTGOING". INFERRED: "INCOMING" for the other way; any other value is kept as is.
DIRECTION_INCOMING: Final = "INCOMING"
DIRECTION_OUTGOING: Final = "OUTGOING"
# INFERRED: the meaning of the numeric ``status`` is not published (804 was seen on an
# answered outgoing call). A call is *missed* when it came in and lasted 0 seconds, or
# when its direction says so outright (a "MISSED" or "INCOMING_MISSED" value).
MISSED_DIRECTIONS: Final = frozenset({"MISSED", "INCOMING_MISSED", "MISSED_INCOMING"})


def is_missed_call(direction: str | None, duration: int | None) -> bool:
    """Return whether a call log describes a missed call (the one rule, see above)."""
    if direction is None:
        return False
    upper = direction.upper()
    if upper in MISSED_DIRECTIONS:
        return True
    return upper == DIRECTION_INCOMING and not duration


# --- Features --------------------------------------------------------------------------
# FOUND: the data block of a feature is named after its featName in camelCase plus
# "Data" (CENTRAL_DND -> centralDndData, CALL_FORWARD_UNCONDITIONAL ->
# callForwardUnconditionalData). INFERRED: the other forwards follow the same rule and carry
# the same keys as the unconditional one (``destinationUri`` ...).
@lru_cache(maxsize=64)  # a handful of featNames, asked at every push and state write (bounded: names come from the API)
def feature_data_key(feat_name: str) -> str:
    """Return the key of the data block of a feature, e.g. ``centralDndData``."""
    first, *rest = feat_name.lower().split("_")
    return first + "".join(part.capitalize() for part in rest) + "Data"


def feature_data_type(feat_name: str) -> str:
    """Return the ``type`` value of a forward data block, e.g. CallForwardUnconditional."""
    return "".join(part.capitalize() for part in feat_name.lower().split("_"))


STATUS_ACTIVE: Final = "ACTIVE"
STATUS_INACTIVE: Final = "INACTIVE"

# --- Errors ----------------------------------------------------------------------------
# INFERRED: Spring's default error body; 401 for bad credentials, 403 for a bad
# application id (or a blocked IP).
ERROR_BODY_KEYS: Final = ("timestamp", "status", "error", "message", "path")


def spring_error_body(status: int, error: str, message: str, path: str, timestamp: str) -> dict[str, Any]:
    """Build an error body in Spring's default shape (used by the simulator)."""
    return dict(zip(ERROR_BODY_KEYS, (timestamp, status, error, message, path), strict=True))


# --- Lines by login name or phone number -----------------------------------------------
# FOUND (missing-features table): "In version 7.8+ of the platform, all features should
# work with names and/or IDs", the names being login names (``/openapi/v1/users/{userLogin}/feat``).
# The server info's ``buildVersion`` (e.g. "7.7.2.12") tells the version.
LOGIN_NAME_MIN_VERSION: Final = (7, 8)
# INFERRED: the login name takes the userId's place in the user paths, percent-encoded
# (``+`` as ``%2B``); a login the platform does not know (or a platform before 7.8) is
# answered 404. The features it returns carry the line's ``userId`` (FOUND: every feature has it).
USER_LOGIN_FEATURES_PATH: Final = "v1/users/{login}/feat"
# FOUND (the wiki's table of enterpriseNames, userIds, loginNames, phone_num): a login name
# is the E.164 number, "@" and the SIP domain, e.g. +41225662194@m.ipvoip.ch.
DEFAULT_SIP_DOMAIN: Final = "m.ipvoip.ch"
# INFERRED: VTX is a Swiss provider: a national number (leading 0, e.g. 0225662194, FOUND as
# ``callPartyDialNumber`` of +41225117902) is +41 followed by the digits after the 0;
# "00" is the international prefix.
NATIONAL_COUNTRY_CODE: Final = "41"
# FOUND: the login of the OpenAPI account is "openapi@" and the enterprise name
# (openapi@291908.bus.ent, whose users' push context names enterprise 291908.bus.ent).
API_LOGIN_PREFIX: Final = "openapi@"


def parse_build_version(value: str | None) -> tuple[int, ...] | None:
    """Return the leading numeric parts of a ``buildVersion`` ("7.7.2.12" -> (7, 7, 2, 12)), or None."""
    if not value:
        return None
    parts: list[int] = []
    for part in value.strip().split("."):
        digits = ""
        for char in part:
            if not char.isascii() or not char.isdigit():
                break
            digits += char
        if not digits or len(digits) > 6:
            break
        parts.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(parts) or None


def supports_login_names(build_version: str | None) -> bool:
    """Return whether a platform of this ``buildVersion`` resolves login names (7.8 or newer).

    An unreadable version counts as older: the user is asked for userIds, never misled.
    """
    version = parse_build_version(build_version)
    return version is not None and version[: len(LOGIN_NAME_MIN_VERSION)] >= LOGIN_NAME_MIN_VERSION


def enterprise_of_login(username: str) -> str | None:
    """Return the enterprise of an OpenAPI login ("openapi@291908.bus.ent" -> "291908.bus.ent"), or None."""
    login = username.strip()
    if not login.lower().startswith(API_LOGIN_PREFIX):
        return None
    enterprise = login[len(API_LOGIN_PREFIX) :]
    if (
        not enterprise
        or len(enterprise) > 253
        or not all(c.isascii() and (c.isalnum() or c in ".-_") for c in enterprise)
    ):
        return None
    return enterprise
