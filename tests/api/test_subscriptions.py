"""The subscription rules of ``api.subscriptions``: what to subscribe, which are ours, when to renew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from custom_components.vtx_voip.api import Subscription
from custom_components.vtx_voip.api.assumptions import FEATURE_SCOPE_BY_LOGIN_NAMES
from custom_components.vtx_voip.api.subscriptions import (
    MIN_ADOPT_LIFETIME,
    RENEW_BEFORE,
    SUBSCRIPTION_LIFETIME,
    Scope,
    adoptable,
    covers,
    granted_at,
    is_ours,
    line_scope,
    renew_at,
    wanted,
)

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
HOOK = "0123456789abcdef"
URL = f"https://ha.example.com/api/webhook/{HOOK}"
LINES: dict[int, str | None] = {2: "+412@d", 1: "+411@d"}


def sub(resource: str = "FEATURE", *, expires: datetime | None = None, url: str = URL, **scope: Any) -> Subscription:
    """A subscription as the API lists it."""
    body: dict[str, Any] = {"id": "x", "resourceType": resource, "notificationUrl": url, **scope}
    if expires is not None:
        body["expires"] = expires.isoformat()
    return Subscription.from_json(body)


def test_wanted_enterprise_and_lines() -> None:
    """Discovery on: FEATURE for the enterprise; CALL_LOG and PRESENCE by userIds, sorted."""
    assert wanted(LINES, enterprise="e.bus.ent") == {
        "FEATURE": Scope(enterprise_names=("e.bus.ent",)),
        "CALL_LOG": Scope(user_ids=(1, 2)),
        "PRESENCE": Scope(user_ids=(1, 2)),
    }
    assert wanted({}, enterprise="e.bus.ent") == {"FEATURE": Scope(enterprise_names=("e.bus.ent",))}
    assert wanted({}, enterprise=None) == {}
    assert "PRESENCE" not in wanted(LINES, enterprise=None, presence=False)


def test_feature_per_line_by_login_names_when_all_known() -> None:
    """Per line, FEATURE names the lines by login when every login is known (the wiki's shape), else by userIds."""
    assert FEATURE_SCOPE_BY_LOGIN_NAMES
    assert wanted(LINES, enterprise=None)["FEATURE"] == Scope(login_names=("+411@d", "+412@d"))
    assert wanted({1: "+411@d", 2: None}, enterprise=None)["FEATURE"] == Scope(user_ids=(1, 2))
    assert wanted(LINES, enterprise=None, feature_by_login=False)["FEATURE"] == Scope(user_ids=(1, 2))
    assert wanted(LINES, enterprise=None)["CALL_LOG"] == Scope(user_ids=(1, 2))
    assert line_scope({}, by_login=True) == Scope()
    assert Scope(login_names=("a",)).kind == "login_names"
    assert Scope(user_ids=(1,)).kind == "user_ids"
    assert Scope(enterprise_names=("e",)).kind == "enterprise"


def test_covers() -> None:
    """Same lines by userIds or by loginNames are the same subscription; enterprise only equals itself."""
    by_ids = wanted(LINES, enterprise=None, feature_by_login=False)["FEATURE"]
    by_logins = wanted(LINES, enterprise=None)["FEATURE"]
    assert covers(sub(userIds=[2, 1]), by_logins, LINES)
    assert covers(sub(loginNames=["+412@d", "+411@d"]), by_ids, LINES)
    assert not covers(sub(userIds=[1]), by_ids, LINES)
    assert not covers(sub(userIds=[1, 2]), Scope(enterprise_names=("e",)), LINES)
    assert covers(sub(enterpriseNames=["e"]), Scope(enterprise_names=("e",)), LINES)
    assert not covers(sub(enterpriseNames=["e"]), by_ids, LINES)


def test_is_ours() -> None:
    """Ours: the URL given to the API, or any URL holding the webhook id (another base URL, a cloudhook aside)."""
    assert is_ours(sub(url=URL), URL, HOOK)
    assert is_ours(sub(url=f"https://old.example.com/api/webhook/{HOOK}"), None, HOOK)
    assert is_ours(sub(url="https://hooks.nabu.casa/abc"), "https://hooks.nabu.casa/abc", HOOK)
    assert not is_ours(sub(url="https://hooks.nabu.casa/abc"), None, HOOK)
    assert not is_ours(sub(url="https://other.example.com/hook"), URL, HOOK)


def test_renewal_and_adoption_times() -> None:
    """Renewed a third of the lifetime before expiry (of what was granted if shorter); adopted only with time to live."""
    assert renew_at(NOW + SUBSCRIPTION_LIFETIME, NOW) == NOW + SUBSCRIPTION_LIFETIME * 2 / 3
    assert renew_at(NOW + timedelta(days=30), NOW) == NOW + timedelta(days=30) - RENEW_BEFORE
    assert renew_at(NOW + timedelta(hours=3), NOW) == NOW + timedelta(hours=2)
    assert renew_at(None, NOW) == NOW + SUBSCRIPTION_LIFETIME * 2 / 3
    assert renew_at(NOW - timedelta(hours=1), NOW) == NOW - timedelta(hours=1)
    assert granted_at(NOW + SUBSCRIPTION_LIFETIME, NOW) == NOW
    assert adoptable(sub(expires=NOW + MIN_ADOPT_LIFETIME + timedelta(seconds=1)), NOW)
    assert not adoptable(sub(expires=NOW + MIN_ADOPT_LIFETIME), NOW)
    assert not adoptable(sub(), NOW)
