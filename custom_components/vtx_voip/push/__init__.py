"""Real-time push: webhook, subscriptions that renew and repair themselves, health.

``const`` holds every timing and id, ``url`` picks the notification URL (and cleans up a
removed entry), ``webhook`` reads a push body, ``manager`` keeps push working for an entry.
"""

from __future__ import annotations

from .const import (
    CALL_FALLBACK_INTERVAL,
    CALL_RECONCILE_INTERVAL,
    MIN_RENEW_DELAY,
    RENEW_BEFORE,
    RETRY_DELAY,
    STALL_GRACE,
    SUBSCRIPTION_LIFETIME,
    signal_push,
)
from .manager import PushManager
from .url import async_remove_subscriptions
from .webhook import MAX_BODY_BYTES

__all__ = [
    "CALL_FALLBACK_INTERVAL",
    "CALL_RECONCILE_INTERVAL",
    "MAX_BODY_BYTES",
    "MIN_RENEW_DELAY",
    "RENEW_BEFORE",
    "RETRY_DELAY",
    "STALL_GRACE",
    "SUBSCRIPTION_LIFETIME",
    "PushManager",
    "async_remove_subscriptions",
    "signal_push",
]
