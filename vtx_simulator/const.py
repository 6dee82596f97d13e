"""Constants of the VTX OpenAPI simulator (the simulator's own choices, not API assumptions).

Anything the real API leaves undocumented lives in
``custom_components.vtx_voip.api.assumptions`` (reached through ``vtx_simulator.assumed``).
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Final, NamedTuple

# --- Demo account ----------------------------------------------------------------------
DEMO_USERNAME: Final = "openapi@291908.bus.ent"
DEMO_PASSWORD: Final = "vtx-demo-password"  # noqa: S105 - a published demo credential
# FOUND: the applicationId of the wiki's subscription examples.
DEMO_APPLICATION_ID: Final = "71c177e5-7417-4265-b97f-4595016dceb8"

# FOUND: the header carrying the application id on every request.
APPLICATION_HEADER: Final = "X-C5-Application"

# --- Server ----------------------------------------------------------------------------
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8099
API_PREFIX: Final = "/openapi/"
CONTROL_PREFIX: Final = "/_control/"
DATA_DIR: Final = Path(__file__).parent / "data"
DEFAULT_DATA_PATH: Final = DATA_DIR / "default.json"
# FOUND: the wiki's own account (enterprise 431569.bus.ent, userId 177059, features
# 2897999...2898089): its feature and subscription examples, POSTed as they are, refer to it.
WIKI_DATA_PATH: Final = DATA_DIR / "wiki.json"
WIKI_SEED_PATH: Final = WIKI_DATA_PATH
# FOUND: timestamps of the examples carry +01:00 / +02:00, i.e. the platform's local zone.
SERVER_TIMEZONE: Final = "Europe/Zurich"
# Seconds between two sweeps of expired subscriptions (they are also purged lazily).
PURGE_INTERVAL: Final = 1.0
# Seconds an aiohttp runner waits for open requests (e.g. a "hang" fault) when stopping.
SHUTDOWN_TIMEOUT: Final = 0.5
# FOUND: Spring Security's challenge on a 401.
WWW_AUTHENTICATE: Final = 'Basic realm="Realm"'
# JSON output pretty-printed like the wiki's (Jackson's default pretty printer).
JSON_INDENT: Final = 2
JSON_SEPARATORS: Final = (",", " : ")

# --- Profiles ------------------------------------------------------------------------
# "default" serves every assumption of ``custom_components.vtx_voip.api.assumptions``;
# "wiki" only what the wiki documents, refusing each behaviour of ``WIKI_ONLY``.
PROFILE_DEFAULT: Final = "default"
PROFILE_WIKI: Final = "wiki"
PROFILES: Final = (PROFILE_DEFAULT, PROFILE_WIKI)


class WikiRefusal(NamedTuple):
    """How profile "wiki" answers a behaviour the wiki does not document."""

    status: int
    assumption: str


# The one list of the simulator's behaviours that are assumptions, not the wiki's: in
# profile "wiki" each answers ``status`` instead. Keys: the ``Api`` handler in app.py
# (``call_history``, ``renew``) or the behaviour (``presence_push``).
WIKI_ONLY: Final = MappingProxyType(
    {
        # INFERRED (A.CALL_HISTORY_PATH): no CDR query endpoint is published -> "No endpoint".
        "call_history": WikiRefusal(404, "GET A.CALL_HISTORY_PATH, the call-history query"),
        # INFERRED (A.SUBSCRIPTION_RENEW_METHOD): the wiki's renewal example is cut off.
        "renew": WikiRefusal(405, "A.SUBSCRIPTION_RENEW_METHOD v1/subscriptions/{id}, the renewal"),
        # INFERRED (A.PUSH_PRESENCE_EVENTS_KEY): PRESENCE subscriptions and their push shape.
        "presence_push": WikiRefusal(400, "POST v1/subscriptions with resourceType PRESENCE"),
    }
)

# --- Subscriptions ---------------------------------------------------------------------
# FOUND: the creator fields of the wiki's subscription examples.
CREATOR_ROLE: Final = "ENTERPRISE_ADMIN"

# --- Push ------------------------------------------------------------------------------
# FOUND: the headers of the wiki's push examples.
PUSH_USER_AGENT: Final = "ReactorNetty/1.0.17"
PUSH_CONTENT_TYPE: Final = "application/json"
PUSH_TIMEOUT: Final = 10.0
# Deliveries in flight per notification URL at most (kept-alive connections); with one,
# deliveries to a URL are strictly in order, with more they may overtake one another.
PUSH_CONNECTIONS: Final = 16
CHANGE_MODIFIED: Final = "MODIFIED"
CHANGE_CREATED: Final = "CREATED"
# The ways a "malformed" push fault spoils a FEATURE push (see ``push.malform_event``).
MALFORMED_PUSH_KINDS: Final = (
    "status-missing",
    "status-null",
    "status-number",
    "status-list",
    "status-unknown",
    "data-list",
    "data-string",
    "future-event-time",
    "no-previous-value",
)
# What a "future-event-time" push fault writes as eventTime.
FUTURE_EVENT_TIME: Final = "2099-01-01T00:00:00.000+01:00"

# --- Calls and presence ----------------------------------------------------------------
# FOUND: "VOICE" and 804 on an answered call in the wiki's CDR push example.
CALL_TYPE_VOICE: Final = "VOICE"
CALL_STATUS_ANSWERED: Final = 804
# The simulator's own choice for a missed (unanswered incoming) call: SIP's 487 "Request
# Terminated". The real code is unknown; clients must not rely on it (missed = incoming
# with duration 0, see ``assumptions.is_missed_call``).
CALL_STATUS_MISSED: Final = 487
# FOUND: presence values seen on the wiki.
ACTIVITY_ONLINE: Final = "ONLINE"
ACTIVITY_UNKNOWN: Final = "UNKNOWN"
ENHANCED_NONE: Final = "NONE"
ENHANCED_IN_A_CALL: Final = "IN_A_CALL"
# FOUND: the featName of the DND feature and the prefix of the forwards.
FEATURE_DND: Final = "CENTRAL_DND"
FORWARD_KINDS: Final = ("unconditional", "busy", "timeout", "not_reachable", "unregistered")


def forward_feature_name(kind: str) -> str:
    """Return the featName of a forward kind, e.g. ``busy`` -> ``CALL_FORWARD_BUSY``."""
    return "CALL_FORWARD_" + kind.upper()
