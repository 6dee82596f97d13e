"""Client of the VTX VoIP OpenAPI (Communi5 C5 platform).

This subpackage has no Home Assistant import; it only needs aiohttp (README.md).
"""

from .client import DEFAULT_BASE_URL, FeatureRead, VtxClient, normalize_base_url
from .exceptions import (
    VtxAuthenticationError,
    VtxConnectionError,
    VtxError,
    VtxNotFoundError,
    VtxRateLimitError,
    VtxRequestError,
    VtxResponseError,
    VtxUnsupportedError,
)
from .models import (
    CallForwardData,
    CallLog,
    DndData,
    Feature,
    Presence,
    PresenceState,
    ServerInfo,
    Subscription,
    format_datetime,
    parse_datetime,
)
from .notifications import (
    CallLogEvent,
    EventContext,
    FeatureEvent,
    Notification,
    NotificationRefused,
    PresenceEvent,
    parse_notification,
    parse_push_body,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BASE_URL",
    "CallForwardData",
    "CallLog",
    "CallLogEvent",
    "DndData",
    "EventContext",
    "Feature",
    "FeatureEvent",
    "FeatureRead",
    "Notification",
    "NotificationRefused",
    "Presence",
    "PresenceEvent",
    "PresenceState",
    "ServerInfo",
    "Subscription",
    "VtxAuthenticationError",
    "VtxClient",
    "VtxConnectionError",
    "VtxError",
    "VtxNotFoundError",
    "VtxRateLimitError",
    "VtxRequestError",
    "VtxResponseError",
    "VtxUnsupportedError",
    "format_datetime",
    "normalize_base_url",
    "parse_datetime",
    "parse_notification",
    "parse_push_body",
]
