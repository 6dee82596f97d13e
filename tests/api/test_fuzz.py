"""Whatever a server answers, and whatever a push carries, only the client's errors escape."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.vtx_voip.api import (
    CallLog,
    Feature,
    Presence,
    ServerInfo,
    Subscription,
    VtxError,
    VtxResponseError,
    parse_notification,
)

from .conftest import RawServer, make_client

SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "id",
        "featName",
        "userId",
        "status",
        "feature",
        "features",
        "subscription",
        "subscriptions",
        "expires",
        "resourceType",
        "buildVersion",
        "current",
        "c5",
        "activity",
        "callLogs",
        "callStart",
        "duration",
        "subscriptionId",
        "featureEvents",
        "callLogEvents",
        "presenceEvents",
        "callLog",
        "previousValue",
        "eventTime",
        "context",
        "user",
        "presence",
    ]
)
# Bodies shaped like the API's, with values of any type.
SHAPED = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=25,
)
BODIES = (
    st.binary(max_size=200)
    | JSON.map(lambda value: json.dumps(value).encode())
    | SHAPED.map(lambda value: json.dumps(value).encode())
)
STATUSES = st.sampled_from([200, 201, 204, 301, 304, 400, 401, 403, 404, 405, 409, 415, 429, 500, 502, 503, 504])


async def _every_call(client: Any) -> None:
    now = datetime.now(UTC)
    feature = Feature.from_json({"id": 1, "featName": "CENTRAL_DND", "userId": 2, "status": "ACTIVE"})
    calls = [
        client.get_server_info(),
        client.get_features(2),
        client.get_feature(1),
        client.put_feature(feature),
        client.get_presence(2),
        client.get_subscriptions(),
        client.create_subscription(resource_type="FEATURE", notification_url="http://x/", expires=now, user_ids=[2]),
        client.renew_subscription("abc", now),
        client.delete_subscription("abc"),
        client.get_call_history(2, start=now, end=now),
        client.get_all_call_history(2, max_pages=2),
    ]
    for call in calls:
        try:
            result = await call
        except VtxError:
            continue
        # Whatever came back is a model or a list of models.
        assert result is None or isinstance(result, (ServerInfo, Feature, Presence, Subscription, list)), result
        if isinstance(result, list):
            assert all(isinstance(item, (Feature, Subscription, CallLog)) for item in result)


@pytest.mark.usefixtures("socket_enabled")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=STATUSES, body=BODIES)
async def test_any_answer_raises_only_client_errors(
    raw_server: RawServer, session: aiohttp.ClientSession, status: int, body: bytes
) -> None:
    raw_server.status, raw_server.body = status, body
    raw_server.headers = {"Retry-After": "7"} if status == 429 else {}
    await _every_call(make_client(session, raw_server.url, request_timeout=2))


@settings(max_examples=400, deadline=None)
@given(body=SHAPED | JSON)
def test_any_push_body_raises_only_response_errors(body: Any) -> None:
    try:
        notification = parse_notification(body)
    except VtxResponseError:
        return
    assert isinstance(notification.subscription_id, str)
    assert notification.skipped >= 0


@settings(max_examples=300, deadline=None)
@given(body=SHAPED)
def test_models_parse_or_raise_response_errors(body: Any) -> None:
    for model in (ServerInfo, Feature, Presence, Subscription, CallLog):
        try:
            parsed = model.from_json(body)
        except VtxResponseError:
            continue
        assert parsed is not None
