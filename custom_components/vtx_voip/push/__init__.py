"""Real-time push: webhook, subscriptions that renew and repair themselves, health.

``const`` holds every timing and id, ``url`` picks the notification URL (and cleans up a
removed entry), ``gate`` keeps an entry's webhook across its runs (holding pushes between
two), ``webhook`` reads a push body, ``prepare`` registers the webhook and adopts the
subscriptions at set-up before anything slow, ``lifecycle`` keeps the subscriptions (adopt,
create, replace, delete) and ``renewal`` renews them, ``router`` applies a push (ledger,
coordinators, discovery), ``health`` finds a resource whose push is silent, ``manager``
wires them for an entry. The protocol rules they follow are ``api.notifications`` and
``api.subscriptions``.
"""

from __future__ import annotations

from .const import (
    CALL_FALLBACK_INTERVAL,
    CALL_RECONCILE_INTERVAL,
    MIN_RENEW_DELAY,
    RENEW_BEFORE,
    RETRY_DELAY,
    SILENT_RETRY,
    STALL_GRACE,
    SUBSCRIPTION_LIFETIME,
    signal_push,
)
from .manager import PushManager
from .prepare import async_prepare_push
from .url import async_remove_subscriptions
from .webhook import MAX_BODY_BYTES

__all__ = [
    "CALL_FALLBACK_INTERVAL",
    "CALL_RECONCILE_INTERVAL",
    "MAX_BODY_BYTES",
    "MIN_RENEW_DELAY",
    "RENEW_BEFORE",
    "RETRY_DELAY",
    "SILENT_RETRY",
    "STALL_GRACE",
    "SUBSCRIPTION_LIFETIME",
    "PushManager",
    "async_prepare_push",
    "async_remove_subscriptions",
    "signal_push",
]
