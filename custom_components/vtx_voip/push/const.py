"""Timings, issue ids and signals of push (one place for every figure push relies on)."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from ..api.subscriptions import MIN_RENEW_DELAY, RENEW_BEFORE, SUBSCRIPTION_LIFETIME
from ..const import DOMAIN, FEATURE_POLL_INTERVAL

__all__ = ["MIN_RENEW_DELAY", "RENEW_BEFORE", "SUBSCRIPTION_LIFETIME"]

# After a failed create or renewal.
RETRY_DELAY: Final = timedelta(minutes=5)
# Calls: read from the history every minute while push does not bring them, and once an
# hour while it does (a call push lost on the way is then late, never missing).
CALL_FALLBACK_INTERVAL: Final = FEATURE_POLL_INTERVAL
CALL_RECONCILE_INTERVAL: Final = timedelta(hours=1)
# A poll that finds a change push did not bring declares push stalled only when no push
# arrives on the FEATURE subscription within this long (the push may still be on its way).
STALL_GRACE: Final = timedelta(seconds=90)
# A resource whose push proved silent is polled; its subscription is tried again (replaced)
# this long after.
SILENT_RETRY: Final = timedelta(hours=6)
# Between two runs of an entry (a reload), pushes are held in memory and handed to the next
# run; held longer than this (the entry was not set up again), the webhook is let go.
HOLD_LIMIT: Final = timedelta(minutes=10)
# At most this many pushes are held; more are answered 503.
MAX_HELD: Final = 1000
ISSUE_NO_URL: Final = "no_push_url"
ISSUE_STALLED: Final = "push_stalled"
ISSUE_SUBSCRIBE_FAILED: Final = "subscribe_failed"
URL_SOURCE_OPTION: Final = "option"
URL_SOURCE_CLOUDHOOK: Final = "cloudhook"
URL_SOURCE_EXTERNAL: Final = "external_url"
STORAGE_VERSION: Final = 1
# Login names learned from pushes are saved this many seconds after the first new one
# (with every one learned meanwhile): the first pushes at 500 lines teach 500 of them.
LOGIN_SAVE_DELAY: Final = 10


def signal_push(entry_id: str) -> str:
    """Dispatcher signal sent when push health or the last push time changes."""
    return f"{DOMAIN}_{entry_id}_push"


def issue_id(entry_id: str, issue: str) -> str:
    """Return the repair issue id of one of an entry's push issues."""
    return f"{issue}_{entry_id}"
