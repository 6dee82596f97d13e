"""Subscription rules: what to subscribe for a set of lines, which are ours, when to renew.

Pure functions and values, no I/O and no Home Assistant import: the integration's push
lifecycle asks these rules and does the requests.

- ``wanted`` says which subscription each resource type needs for an account's lines:
  FEATURE for the whole enterprise (when discovery is on and the API takes it), else for
  the lines by ``loginNames`` when every line's login name is known and by ``userIds``
  otherwise (see ``assumptions.FEATURE_SCOPE_BY_LOGIN_NAMES``); CALL_LOG and PRESENCE by
  ``userIds``.
- ``covers`` says whether a subscription found at the API is the one wanted.
- ``is_ours`` says whether a subscription at the API points at our notification URL.
- ``renew_at`` says when one is due for renewal; ``adoptable`` whether one found at the
  API lives long enough to be taken over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from .assumptions import RESOURCE_CALL_LOG, RESOURCE_FEATURE, RESOURCE_PRESENCE, SUBSCRIPTION_MAX_LIFETIME
from .models import Subscription

# Ask for a little less than the maximum, so clock skew never makes a request invalid.
SUBSCRIPTION_LIFETIME: Final = SUBSCRIPTION_MAX_LIFETIME - timedelta(minutes=5)
# Renew when a third of the lifetime is left (about a day): time for many retries. If the
# API grants shorter lifetimes than asked, a third of what it granted.
RENEW_BEFORE: Final = SUBSCRIPTION_MAX_LIFETIME / 3
# Never renew more often than this, whatever the API grants.
MIN_RENEW_DELAY: Final = timedelta(minutes=1)
# A subscription found at the API is taken over only with at least this long to live.
MIN_ADOPT_LIFETIME: Final = RENEW_BEFORE / 3


@dataclass(frozen=True, slots=True)
class Scope:
    """What a subscription covers: users by id, by login name, or a whole enterprise."""

    user_ids: tuple[int, ...] = ()
    login_names: tuple[str, ...] = ()
    enterprise_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, subscription: Subscription) -> Scope:
        """Return the scope of a subscription found at the API (sorted, so that order does not matter)."""
        return cls(
            user_ids=tuple(sorted(subscription.user_ids)),
            login_names=tuple(sorted(subscription.login_names)),
            enterprise_names=tuple(sorted(subscription.enterprise_names)),
        )

    @property
    def by_enterprise(self) -> bool:
        """Whether it covers a whole enterprise."""
        return bool(self.enterprise_names)

    @property
    def kind(self) -> str:
        """How it names what it covers: "enterprise", "login_names" or "user_ids"."""
        return "enterprise" if self.enterprise_names else "login_names" if self.login_names else "user_ids"


def line_scope(lines: Mapping[int, str | None], *, by_login: bool) -> Scope:
    """Return the scope of a per-line subscription: ``loginNames`` when asked and all known, else ``userIds``."""
    logins = [login for login in lines.values() if login]
    if by_login and lines and len(logins) == len(lines):
        return Scope(login_names=tuple(sorted(logins)))
    return Scope(user_ids=tuple(sorted(lines)))


def wanted(
    lines: Mapping[int, str | None],
    *,
    enterprise: str | None,
    presence: bool = True,
    feature_by_login: bool = True,
) -> dict[str, Scope]:
    """Return the subscription each resource type needs for ``lines`` (userId -> login name or None).

    ``enterprise``: the FEATURE subscription covers that enterprise (discovery); None: the
    lines. ``presence``: False once the API refused PRESENCE. ``feature_by_login``: False
    once the API refused ``loginNames``. Without lines, only an enterprise-wide FEATURE.
    """
    result: dict[str, Scope] = {}
    if enterprise is not None:
        result[RESOURCE_FEATURE] = Scope(enterprise_names=(enterprise,))
    elif lines:
        result[RESOURCE_FEATURE] = line_scope(lines, by_login=feature_by_login)
    if lines:
        result[RESOURCE_CALL_LOG] = line_scope(lines, by_login=False)
        if presence:
            result[RESOURCE_PRESENCE] = line_scope(lines, by_login=False)
    return result


def covers(subscription: Subscription, scope: Scope, lines: Mapping[int, str | None]) -> bool:
    """Whether a subscription at the API is the one wanted.

    A per-line subscription by ``userIds`` and one by ``loginNames`` of the same lines are
    the same: either is kept (no churn when login names become known).
    """
    held = Scope.of(subscription)
    if held == scope:
        return True
    if scope.by_enterprise or held.by_enterprise:
        return False
    by_ids = Scope(user_ids=tuple(sorted(lines)))
    by_logins = line_scope(lines, by_login=True)
    return held in (by_ids, by_logins) and scope in (by_ids, by_logins)


def is_ours(subscription: Subscription, notification_url: str | None, webhook_id: str) -> bool:
    """Whether a subscription at the API points at us: our URL, or any URL holding our webhook id."""
    url = subscription.notification_url or ""
    return (notification_url is not None and url == notification_url) or webhook_id in url


def renew_at(expires: datetime | None, granted: datetime) -> datetime:
    """When a subscription granted at ``granted`` (expiring at ``expires``) is due for renewal."""
    end = expires or granted + SUBSCRIPTION_LIFETIME
    return end - min(RENEW_BEFORE, max(end - granted, timedelta()) / 3)


def granted_at(expires: datetime, now: datetime) -> datetime:
    """When a subscription found at the API was (as far as renewals go) granted."""
    return now - (SUBSCRIPTION_LIFETIME - (expires - now))


def adoptable(subscription: Subscription, now: datetime) -> bool:
    """Whether a subscription found at the API lives long enough to be taken over."""
    return subscription.expires is not None and subscription.expires - now > MIN_ADOPT_LIFETIME
