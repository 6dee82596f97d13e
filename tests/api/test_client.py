"""The client against the simulator over loopback, including every fault mode."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from custom_components.vtx_voip.api import (
    VtxAuthenticationError,
    VtxClient,
    VtxConnectionError,
    VtxNotFoundError,
    VtxRateLimitError,
    VtxRequestError,
    VtxResponseError,
    format_datetime,
    normalize_base_url,
    parse_datetime,
    parse_notification,
)
from custom_components.vtx_voip.api.assumptions import feature_data_key, feature_data_type, is_missed_call
from custom_components.vtx_voip.api.client import MAX_BODY_BYTES
from custom_components.vtx_voip.api.models import Feature, parse_feature_list_checked
from vtx_simulator import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME, Simulator

from .conftest import RawServer, make_client

USER = 176125
OTHER = 176129


# --- pure helpers ------------------------------------------------------------------------
def test_normalize_base_url() -> None:
    assert str(normalize_base_url(" https://api.ipvoip.ch/openapi ")) == "https://api.ipvoip.ch/openapi/"
    assert str(normalize_base_url("http://127.0.0.1:8099/openapi/?x=1#y")) == "http://127.0.0.1:8099/openapi/"
    for bad in ("ftp://host/", "no url", "http://"):
        with pytest.raises(ValueError):
            normalize_base_url(bad)


def test_datetimes() -> None:
    assert parse_datetime("2024-05-28T17:21:44+0200") == datetime(2024, 5, 28, 15, 21, 44, tzinfo=UTC)
    assert parse_datetime("2024-09-27T15:26:45Z") == datetime(2024, 9, 27, 15, 26, 45, tzinfo=UTC)
    assert parse_datetime("2024-09-27T15:26:45") == datetime(2024, 9, 27, 15, 26, 45, tzinfo=UTC)
    assert parse_datetime("yesterday") is None
    assert parse_datetime(12) is None
    assert format_datetime(datetime(2024, 11, 6, 1, tzinfo=UTC)) == "2024-11-06T01:00:00.000Z"
    assert format_datetime(datetime(2024, 11, 6, 1)) == "2024-11-06T01:00:00.000Z"


def test_assumption_helpers() -> None:
    assert feature_data_key("CENTRAL_DND") == "centralDndData"
    assert feature_data_key("CALL_FORWARD_UNCONDITIONAL") == "callForwardUnconditionalData"
    assert feature_data_type("CALL_FORWARD_BUSY") == "CallForwardBusy"
    assert is_missed_call("INCOMING", 0)
    assert is_missed_call("missed", 12)
    assert not is_missed_call("INCOMING", 3)
    assert not is_missed_call("OUTGOING", 0)
    assert not is_missed_call(None, 0)


def test_notification_tolerance() -> None:
    notification = parse_notification(
        {
            "subscriptionId": "abc",
            "featureEvents": [
                {"feature": {"id": 1}},
                "junk",
                {"feature": {"id": 1, "featName": "Y", "userId": 2}},
                {"feature": {"id": 1, "featName": "X", "userId": 2, "status": "active"}},
            ],
            "callLogEvents": [{"callLog": {"userId": 2}}, {"callLog": {"id": 5, "userId": "2", "duration": "9"}}],
            "presenceEvents": [{"presence": {"userId": 2, "current": {"activity": "ONLINE"}}}, {"presence": 3}],
            "fooEvents": [],
            "extra": True,
        }
    )
    assert [(event.feature.name, event.feature.status) for event in notification.feature_events] == [("X", "ACTIVE")]
    assert [(event.call_log.id, event.call_log.duration) for event in notification.call_log_events] == [("5", 9)]
    assert [event.user_id for event in notification.presence_events] == [2]
    assert notification.skipped == 5
    assert notification.unknown_keys == ("fooEvents",)
    for bad in ([], {"featureEvents": []}, {"subscriptionId": "a", "featureEvents": {}}):
        with pytest.raises(VtxResponseError):
            parse_notification(bad)


# --- against the simulator ---------------------------------------------------------------
async def test_server_info(client: VtxClient, sim: Simulator) -> None:
    info = await client.get_server_info()
    assert info.build_version == "7.7.2.12"
    assert client.request_count == 1
    assert sim.request_counts() == {"GET /openapi/v1/system/server": 1}


async def test_headers_sent(raw_server: RawServer, session: aiohttp.ClientSession) -> None:
    raw_server.body = b'{"buildVersion": "1"}'
    client = make_client(session, raw_server.url)
    await client.get_server_info()
    (request,) = raw_server.seen
    expected = base64.b64encode(f"{DEMO_USERNAME}:{DEMO_PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["X-C5-Application"] == DEMO_APPLICATION_ID
    assert request.headers["Content-Type"] == "application/json"
    assert request.path == "/openapi/v1/system/server"


async def test_features_round_trip(client: VtxClient, sim: Simulator) -> None:
    features = {feature.name: feature for feature in await client.get_features(USER)}
    assert len(features) == 19
    dnd = features["CENTRAL_DND"]
    fetched = await client.get_feature(dnd.id)
    assert fetched.to_json() == dnd.to_json()
    answer = await client.put_feature(fetched.with_status(True))
    assert answer.active
    assert sim.feature(USER, "CENTRAL_DND")["status"] == "ACTIVE"
    # The whole feature went back: the simulator answers 400 to a partial PUT.
    assert sim.feature(USER, "CENTRAL_DND") == fetched.with_status(True).to_json()
    with pytest.raises(VtxNotFoundError):
        await client.get_features(999999)


async def test_partial_put_is_rejected(client: VtxClient) -> None:
    feature = next(f for f in await client.get_features(USER) if f.name == "CENTRAL_DND")
    body = feature.to_json()
    del body["level"]
    with pytest.raises(VtxRequestError) as err:
        await client.put_feature(type(feature).from_json(body))
    assert err.value.status == 400


async def test_presence(client: VtxClient, sim: Simulator) -> None:
    sim.set_presence(USER, "ONLINE", "IN_A_CALL")
    presence = await client.get_presence(USER)
    assert presence.user_id == USER
    assert presence.effective is not None
    assert presence.effective.enhanced_activity == "IN_A_CALL"


async def test_subscriptions(client: VtxClient, sim: Simulator) -> None:
    expires = datetime.now(UTC) + timedelta(days=2)
    created = await client.create_subscription(
        resource_type="FEATURE",
        notification_url="http://127.0.0.1:9/hook",
        expires=expires,
        user_ids=[USER, OTHER],
        resource_names=["CENTRAL_DND"],
    )
    assert created.user_ids == (USER, OTHER)
    assert created.resource_names == ("CENTRAL_DND",)
    by_login = await client.create_subscription(
        resource_type="CALL_LOG",
        notification_url="http://127.0.0.1:9/hook",
        expires=expires,
        login_names=["+41225662194@m.ipvoip.ch"],
        enterprise_names=["291908.bus.ent"],
    )
    assert {item.id for item in await client.get_subscriptions()} == {created.id, by_login.id}
    later = datetime.now(UTC) + timedelta(days=2, hours=12)
    renewed = await client.renew_subscription(created.id, later)
    assert renewed is not None
    assert renewed.expires is not None
    assert abs((renewed.expires - later).total_seconds()) < 1
    await client.delete_subscription(created.id)
    with pytest.raises(VtxNotFoundError):
        await client.renew_subscription(created.id, later)
    with pytest.raises(VtxNotFoundError):
        await client.delete_subscription(created.id)
    with pytest.raises(VtxRequestError):  # more than 3 days ahead
        await client.renew_subscription(by_login.id, datetime.now(UTC) + timedelta(days=4))
    assert [item.id for item in await client.get_subscriptions()] == [by_login.id]


async def test_call_history(client: VtxClient, sim: Simulator) -> None:
    for index in range(120):
        sim.make_call(USER, direction="outgoing", number=f"+4122{index:07d}", duration=index + 1)
    sim.make_call(USER, direction="incoming", number="+41790000000", missed=True)
    page = await client.get_call_history(USER, limit=10, offset=5)
    assert len(page) == 10
    everything = await client.get_all_call_history(USER)
    assert len(everything) == 121
    assert len({call.id for call in everything}) == 121
    assert sum(call.missed for call in everything) == 1
    future = await client.get_call_history(USER, start=datetime.now(UTC) + timedelta(hours=1))
    assert future == []
    bounded = await client.get_all_call_history(
        USER, start=datetime.now(UTC) - timedelta(hours=1), end=datetime.now(UTC) + timedelta(hours=1)
    )
    assert len(bounded) == 121


# --- faults ------------------------------------------------------------------------------
async def test_wrong_password(session: aiohttp.ClientSession, sim: Simulator) -> None:
    client = make_client(session, sim.base_url, password="wrong")
    with pytest.raises(VtxAuthenticationError) as err:
        await client.get_server_info()
    assert err.value.status == 401
    assert "wrong" not in str(err.value)


async def test_wrong_application_id(session: aiohttp.ClientSession, sim: Simulator) -> None:
    client = make_client(session, sim.base_url, application_id="nope")
    with pytest.raises(VtxAuthenticationError) as err:
        await client.get_server_info()
    assert err.value.status == 403


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, VtxRequestError),
        (404, VtxNotFoundError),
        (409, VtxRequestError),
        (500, VtxConnectionError),
        (502, VtxConnectionError),
        (503, VtxConnectionError),
    ],
)
async def test_status_faults(client: VtxClient, sim: Simulator, status: int, error: type[Exception]) -> None:
    sim.fail_next(status)
    with pytest.raises(error):
        await client.get_server_info()
    assert (await client.get_server_info()).build_version == "7.7.2.12"


async def test_rate_limit(client: VtxClient, sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.fail_next(429, retry_after=30)
    with pytest.raises(VtxRateLimitError) as err:
        await client.get_features(USER)
    assert err.value.retry_after == 30
    assert not err.value.paused
    # Retry-After pauses the whole client: nothing is sent until it has passed.
    sim.reset_request_counts()
    with pytest.raises(VtxRateLimitError) as err:
        await client.get_server_info()
    assert err.value.paused
    assert 0 < err.value.retry_after <= 30
    assert sim.total_requests() == 0
    assert client.pause_remaining() > 0
    other = make_client(session, sim.base_url)
    sim.fail_next(429)
    with pytest.raises(VtxRateLimitError) as err:
        await other.get_features(USER)
    assert err.value.retry_after is None
    assert other.pause_remaining() == 0


async def test_refused_credentials_stop_every_request(client: VtxClient, sim: Simulator) -> None:
    """After a 401 the client sends nothing more: sending refused credentials risks a lockout."""
    sim.fail_next(401)
    with pytest.raises(VtxAuthenticationError):
        await client.get_features(USER)
    assert client.credentials_refused
    sim.reset_request_counts()
    for _ in range(3):
        with pytest.raises(VtxAuthenticationError) as err:
            await client.get_presence(USER)
        assert err.value.status == 401
    assert sim.total_requests() == 0


async def test_server_time_from_date_header(client: VtxClient, sim: Simulator) -> None:
    """A feature read carries the server's time (its Date header), for ordering against pushes."""
    read = await client.read_features(USER)
    assert read.features
    assert read.invalid == frozenset()
    if read.server_time is not None:
        assert read.server_time.tzinfo is not None


async def test_hang(session: aiohttp.ClientSession, sim: Simulator) -> None:
    client = make_client(session, sim.base_url, request_timeout=0.2)
    sim.hang_next(5)
    with pytest.raises(VtxConnectionError, match="Timeout"):
        await client.get_server_info()


async def test_malformed(client: VtxClient, sim: Simulator) -> None:
    sim.malformed_next()
    with pytest.raises(VtxResponseError):
        await client.get_presence(USER)


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    client = make_client(session, "http://127.0.0.1:9/openapi/")
    with pytest.raises(VtxConnectionError):
        await client.get_server_info()


async def test_oversized_and_odd_answers(raw_server: RawServer, session: aiohttp.ClientSession) -> None:
    client = make_client(session, raw_server.url)
    raw_server.body = b" " * (MAX_BODY_BYTES + 10)
    with pytest.raises(VtxResponseError, match="oversized"):
        await client.get_server_info()
    raw_server.body = b"[1, 2]"
    with pytest.raises(VtxResponseError):
        await client.get_server_info()
    raw_server.body = b'{"buildVersion": 7}'
    with pytest.raises(VtxResponseError):
        await client.get_server_info()
    raw_server.status, raw_server.body = 302, b""
    with pytest.raises(VtxResponseError, match="302"):
        await client.get_server_info()
    raw_server.status, raw_server.body = 204, b""
    assert await client.get_subscriptions() == []
    assert await client.get_call_history(USER) == []
    assert await client.renew_subscription("x", datetime.now(UTC)) is None
    feature = next(iter([]), None)
    assert feature is None
    raw_server.status, raw_server.body = 400, b'{"status": 400, "message": "expires too far"}'
    with pytest.raises(VtxRequestError, match="expires too far"):
        await client.delete_subscription("x")
    raw_server.status, raw_server.body = 429, b"slow down"
    raw_server.headers = {"Retry-After": "soon"}
    with pytest.raises(VtxRateLimitError) as err:
        await client.get_server_info()
    assert err.value.retry_after is None


async def test_put_without_answer_body(raw_server: RawServer, session: aiohttp.ClientSession) -> None:
    from custom_components.vtx_voip.api import Feature

    client = make_client(session, raw_server.url)
    feature = Feature.from_json({"id": 5, "featName": "CENTRAL_DND", "userId": 1, "status": "ACTIVE", "x": {"y": 1}})
    raw_server.status, raw_server.body = 200, b""
    assert (await client.put_feature(feature)).to_json() == feature.to_json()
    assert raw_server.seen[-1].method == "PUT"
    assert (
        raw_server.seen[-1].body
        == b'{"id": 5, "featName": "CENTRAL_DND", "userId": 1, "status": "ACTIVE", "x": {"y": 1}}'
    )


async def test_invalid_base_url(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError):
        make_client(session, "api.ipvoip.ch")


@pytest.mark.parametrize(
    "broken",
    [
        {"status": None},
        {"status": 1},
        {"status": ["ACTIVE"]},
        {"status": "MAYBE"},
        {"callForwardUnconditionalData": ["+41791234567"]},
        {"callForwardUnconditionalData": "+41791234567"},
        {"callForwardUnconditionalData": {"destinationUri": 41791234567}},
    ],
)
def test_invalid_features_are_never_guessed(broken: dict[str, Any]) -> None:
    """No valid status or a malformed data block: not a feature (never read as INACTIVE)."""
    body = {
        "id": 7,
        "featName": "CALL_FORWARD_UNCONDITIONAL",
        "userId": 1,
        "status": "ACTIVE",
        "callForwardUnconditionalData": {"destinationUri": "+41225117902"},
    }
    body.update(broken)
    with pytest.raises(VtxResponseError):
        Feature.from_json(body)
    missing_status = {key: value for key, value in body.items() if key != "status"}
    with pytest.raises(VtxResponseError):
        Feature.from_json(missing_status)
    good = {"id": 8, "featName": "CENTRAL_DND", "userId": 1, "status": "INACTIVE"}
    features, invalid = parse_feature_list_checked({"features": [body, good]})
    assert [feature.name for feature in features] == ["CENTRAL_DND"]
    assert invalid == frozenset({"CALL_FORWARD_UNCONDITIONAL"})
