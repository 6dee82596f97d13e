"""Push deliveries: shapes exactly like the wiki's, matching, calls, presence, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
import json
import re
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from vtx_simulator import SimError, Simulator
from vtx_simulator.const import PUSH_CONNECTIONS

from .conftest import ENTERPRISE, LOGIN, OTHER_USER, USER, Api, Receiver, iso
from .wiki import CALL_LOG_PUSH, FEATURE_PUSH, PRESENCE, shape

EVENT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d")
CONTEXT = {
    "user": {"id": USER, "name": LOGIN},
    "site": {"id": 16321, "name": "s1.291908.bus.ipvoip.ch"},
    "enterprise": {"id": 16317, "name": ENTERPRISE},
    "serviceProvider": {"id": 2, "name": "vtx.sp"},
}


async def test_feature_push_through_put(api: Api, receiver: Receiver) -> None:
    sub = await api.subscribe(url=receiver.url, enterpriseNames=[ENTERPRISE])
    _, body, _ = await api.get("v1/feat/2871094")
    old = body["feature"]
    new = {**old, "status": "ACTIVE"}
    status, _, _ = await api.request("PUT", "v1/feat/2871094", new)
    assert status == 200
    (push,) = await receiver.wait(1)
    assert shape(push) == shape(FEATURE_PUSH)
    assert push["subscriptionId"] == sub["id"]
    event = push["featureEvents"][0]
    assert event["changeType"] == "MODIFIED"
    assert event["feature"] == new
    assert event["previousValue"] == old
    assert EVENT_TIME.fullmatch(event["eventTime"])
    assert event["context"] == CONTEXT
    request = receiver.requests[0]
    assert request["path"] == "/openapi"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"] == "ReactorNetty/1.0.17"
    assert request["headers"]["Accept"] == "*/*"
    await api.sim.wait_for_pushes()
    (delivery,) = api.sim.deliveries()
    assert delivery["status"] == 200 and delivery["done"] and delivery["body"] == push


async def test_feature_push_only_when_changed(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url)
    _, body, _ = await api.get("v1/feat/2871094")
    assert (await api.request("PUT", "v1/feat/2871094", body["feature"]))[0] == 200
    assert api.sim.set_dnd(USER, False) is False
    await api.sim.wait_for_pushes()
    assert receiver.requests == []
    assert api.sim.deliveries() == []


async def test_dnd_from_the_phone(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url, userIds=[USER])
    assert api.sim.set_dnd(USER, True) is True
    (push,) = await receiver.wait(1)
    event = push["featureEvents"][0]
    assert event["feature"]["featName"] == "CENTRAL_DND"
    assert (event["previousValue"]["status"], event["feature"]["status"]) == ("INACTIVE", "ACTIVE")
    assert (await api.get("v1/feat/2871094"))[1]["feature"]["status"] == "ACTIVE"


async def test_matching_by_login_and_resource_names(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url + "/cfu", loginNames=[LOGIN], resourceNames=["CALL_FORWARD_UNCONDITIONAL"])
    await api.subscribe(url=receiver.url + "/other", userIds=[OTHER_USER])
    api.sim.set_dnd(USER, True)  # filtered out by resourceNames
    api.sim.set_forward(USER, "unconditional", True, to="+41791234567")
    api.sim.set_forward(OTHER_USER, "busy", True)
    bodies = await receiver.wait(2)
    await api.sim.wait_for_pushes()
    assert len(receiver.requests) == 2
    paths = {item["path"]: item["json"] for item in receiver.requests}
    cfu = paths["/openapi/cfu"]["featureEvents"][0]["feature"]
    assert cfu["featName"] == "CALL_FORWARD_UNCONDITIONAL"
    assert cfu["callForwardUnconditionalData"]["destinationUri"] == "+41791234567"
    other = paths["/openapi/other"]["featureEvents"][0]
    assert other["feature"]["featName"] == "CALL_FORWARD_BUSY"
    assert other["context"]["user"] == {"id": OTHER_USER, "name": "+41225662195@m.ipvoip.ch"}
    assert len(bodies) == 2


async def test_other_resource_types_not_sent_feature_events(api: Api, receiver: Receiver) -> None:
    await api.subscribe("CALL_LOG", url=receiver.url)
    await api.subscribe("PRESENCE", url=receiver.url)
    api.sim.set_dnd(USER, True)
    await api.sim.wait_for_pushes()
    assert receiver.requests == []


async def test_call_flow_presence_and_call_log(api: Api, receiver: Receiver) -> None:
    presence_sub = await api.subscribe("PRESENCE", url=receiver.url + "/presence")
    log_sub = await api.subscribe("CALL_LOG", url=receiver.url + "/calls")
    sim = api.sim
    sim.start_call(USER, direction="outgoing", number="+41225117902")
    assert (await api.get(f"v1/users/{USER}/presence"))[1]["current"]["enhancedActivity"] == "IN_A_CALL"
    with pytest.raises(SimError) as err:
        sim.start_call(USER, number="+41225117902")
    assert err.value.status == 409
    sim.advance_clock(7)
    log = sim.end_call(USER)
    bodies = await receiver.wait(3)
    presence = await api.get(f"v1/users/{USER}/presence")
    assert presence[1]["current"]["enhancedActivity"] == "NONE"
    assert presence[1]["lastC5"]["enhancedActivity"] == "IN_A_CALL"

    presence_pushes = [body for body in bodies if "presenceEvents" in body]
    assert [p["presenceEvents"][0]["presence"]["current"]["enhancedActivity"] for p in presence_pushes] == [
        "IN_A_CALL",
        "NONE",
    ]
    first = presence_pushes[0]
    assert list(first) == ["subscriptionId", "presenceEvents"]
    assert first["subscriptionId"] == presence_sub["id"]
    event = first["presenceEvents"][0]
    assert list(event) == ["changeType", "presence", "eventTime", "context"]
    assert event["changeType"] == "MODIFIED"
    assert shape(event["presence"]) == shape(PRESENCE)
    assert event["context"] == CONTEXT

    (call_push,) = [body for body in bodies if "callLogEvents" in body]
    assert shape(call_push) == shape(CALL_LOG_PUSH)
    assert call_push["subscriptionId"] == log_sub["id"]
    call_event = call_push["callLogEvents"][0]
    assert call_event["changeType"] == "CREATED"
    assert call_event["callLog"] == log
    assert log["duration"] == 7
    assert log["direction"] == "OUTGOING"
    assert log["status"] == 804
    assert log["callType"] == "VOICE"
    assert log["callPartyNumber"] == "+41225117902"
    assert log["callPartyDialNumber"] == "0225117902"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", log["callStart"])
    with pytest.raises(SimError):
        sim.end_call(USER)


async def test_presence_pushed_after_call_ordering(api: Api, receiver: Receiver) -> None:
    await api.subscribe("PRESENCE", url=receiver.url)
    api.sim.make_call(USER, direction="incoming", number="+41791112233", duration=30)
    bodies = await receiver.wait(2)
    states = [body["presenceEvents"][0]["presence"]["c5"]["enhancedActivity"] for body in bodies]
    assert states == ["IN_A_CALL", "NONE"]


async def test_missed_call(api: Api, receiver: Receiver) -> None:
    await api.subscribe("CALL_LOG", url=receiver.url)
    await api.subscribe("PRESENCE", url=receiver.url + "/presence")
    log = api.sim.make_call(USER, number="+41791112233", duration=12, missed=True)
    (push,) = await receiver.wait(1)
    await api.sim.wait_for_pushes()
    assert len(receiver.requests) == 1  # no presence change for an unanswered call
    assert push["callLogEvents"][0]["callLog"] == log
    assert (log["direction"], log["duration"], log["status"]) == ("INCOMING", 0, 487)
    from custom_components.vtx_voip.api.assumptions import is_missed_call

    assert is_missed_call(log["direction"], log["duration"])
    with pytest.raises(SimError):
        api.sim.make_call(USER, direction="outgoing", number="+41791112233", missed=True)


async def test_set_presence_push_and_refusal(api: Api, receiver: Receiver) -> None:
    await api.subscribe("PRESENCE", url=receiver.url)
    assert api.sim.set_presence(USER, "ONLINE", "NONE") is False
    assert api.sim.set_presence(USER, "OFFLINE", "NONE") is True
    (push,) = await receiver.wait(1)
    assert push["presenceEvents"][0]["presence"]["current"]["activity"] == "OFFLINE"
    api.sim.presence_push_enabled = False
    api.sim.set_presence(USER, "ONLINE", "NONE")
    await api.sim.wait_for_pushes()
    assert len(receiver.requests) == 1


async def test_push_delay(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url)
    api.sim.set_push_delay(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    api.sim.set_dnd(USER, True)
    await receiver.wait(1)
    assert loop.time() - started >= 0.3


async def test_push_duplicate(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url)
    api.sim.set_push_duplicate(True)
    api.sim.set_dnd(USER, True)
    first, second = await receiver.wait(2)
    assert first == second
    assert [d["copy"] for d in api.sim.deliveries()] == [1, 2]


async def test_push_drop_next_n_then_all(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url)
    api.sim.drop_pushes(1)
    api.sim.set_dnd(USER, True)
    api.sim.set_dnd(USER, False)
    (push,) = await receiver.wait(1)
    assert push["featureEvents"][0]["feature"]["status"] == "INACTIVE"
    await api.sim.wait_for_pushes()
    assert [d["dropped"] for d in api.sim.deliveries()] == [True, False]

    api.sim.drop_pushes()
    api.sim.set_dnd(USER, True)
    api.sim.set_dnd(USER, False)
    done = await api.sim.wait_for_deliveries(4)
    assert [d.dropped for d in done] == [True, False, True, True]
    api.sim.clear_push_faults()
    api.sim.set_dnd(USER, True)
    await receiver.wait(2)
    with pytest.raises(ValueError):
        api.sim.drop_pushes(-1)
    with pytest.raises(ValueError):
        api.sim.set_push_delay(-1)


async def test_failing_receiver_never_breaks(api: Api, receiver: Receiver) -> None:
    receiver.status = 500
    await api.subscribe(url=receiver.url)
    await api.subscribe(url="http://127.0.0.1:1/closed")
    api.sim.set_dnd(USER, True)
    await api.sim.wait_for_pushes()
    deliveries = {d["url"]: d for d in api.sim.deliveries()}
    assert deliveries[receiver.url]["status"] == 500
    closed = deliveries["http://127.0.0.1:1/closed"]
    assert closed["status"] is None and closed["error"]
    assert (await api.get("v1/system/server"))[0] == 200
    api.sim.clear_deliveries()
    assert api.sim.deliveries() == []


async def test_push_timeout(socket_enabled: None) -> None:
    gate = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        async with Simulator(push_timeout=0.2) as sim:
            sim.state.create_subscription(_sub_body(url))
            sim.set_dnd(USER, True)
            (delivery,) = await sim.wait_for_deliveries(1)
            assert delivery.status is None
            assert delivery.error is not None and "Timeout" in delivery.error
    finally:
        gate.set()
        await runner.cleanup()


async def test_deliveries_order_per_url(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url)
    for on in (True, False, True, False):
        api.sim.set_dnd(USER, on)
    bodies = await receiver.wait(4)
    assert [b["featureEvents"][0]["feature"]["status"] for b in bodies] == ["ACTIVE", "INACTIVE", "ACTIVE", "INACTIVE"]


async def test_no_delivery_when_not_running() -> None:
    sim = Simulator()
    sim.state.create_subscription(_sub_body("http://127.0.0.1:9/x"))
    sim.set_dnd(USER, True)
    (delivery,) = sim.deliveries()
    assert delivery["error"] == "simulator not running"
    assert delivery["done"] is True


async def test_stop_cancels_pending_deliveries(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url)
    api.sim.set_push_delay(10)
    api.sim.set_dnd(USER, True)
    await asyncio.sleep(0.05)
    await api.sim.stop()
    assert receiver.requests == []
    await api.sim.wait_for_pushes(0.1)


def _sub_body(url: str) -> dict[str, object]:
    return {"resourceType": "FEATURE", "notificationUrl": url, "userIds": [USER], "expires": iso(timedelta(hours=1))}


async def test_push_transport_replaces_http(socket_enabled: None) -> None:
    sent: list[tuple[str, Any, dict[str, str]]] = []

    async def transport(url: str, data: bytes, headers: Mapping[str, str]) -> int:
        sent.append((url, json.loads(data), dict(headers)))
        if len(sent) > 1:
            raise ConnectionError("receiver gone")
        return 202

    async with Simulator(push_transport=transport) as sim:
        sim.state.create_subscription(_sub_body("http://hass.local/api/webhook/abc"))
        sim.set_dnd(USER, True)
        sim.set_dnd(USER, False)
        first, second = await sim.wait_for_deliveries(2)
    assert sent[0][0] == "http://hass.local/api/webhook/abc"
    assert sent[0][1]["featureEvents"][0]["feature"]["status"] == "ACTIVE"
    assert sent[0][2] == {"Content-Type": "application/json", "User-Agent": "ReactorNetty/1.0.17", "Accept": "*/*"}
    assert (first.status, first.error) == (202, None)
    assert (second.status, second.error) == (None, "ConnectionError: receiver gone")


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_push_concurrency(socket_enabled: None, concurrency: int) -> None:
    """At most ``push_concurrency`` deliveries per URL are in flight; with one, strictly in order."""
    in_flight = 0
    most = 0
    order: list[str] = []
    gate = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        body = await request.json()
        in_flight += 1
        most = max(most, in_flight)
        await gate.wait()
        order.append(body["featureEvents"][0]["feature"]["status"])
        in_flight -= 1
        return web.Response()

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sim = Simulator(push_concurrency=concurrency)
    await sim.start()
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, sim)
            await api.subscribe(url=f"http://127.0.0.1:{port}/hook")
            for index in range(8):
                sim.set_dnd(USER, index % 2 == 0)
            for _ in range(100):
                if in_flight >= min(concurrency, 8):
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            assert in_flight == concurrency
            gate.set()
            await sim.wait_for_pushes(within=5)
    finally:
        await sim.stop()
        await runner.cleanup()
    assert most == concurrency
    assert len(order) == 8
    if concurrency == 1:
        assert order == ["ACTIVE", "INACTIVE"] * 4


def test_push_concurrency_bounds() -> None:
    """One to PUSH_CONNECTIONS deliveries in flight per URL."""
    with pytest.raises(ValueError, match="push concurrency"):
        Simulator(push_concurrency=0)
    with pytest.raises(ValueError, match="push concurrency"):
        Simulator(push_concurrency=PUSH_CONNECTIONS + 1)
    assert Simulator(push_concurrency=PUSH_CONNECTIONS).push.concurrency == PUSH_CONNECTIONS


async def test_silent_presence_accepted_never_delivered(api: Api, receiver: Receiver) -> None:
    """``silence_pushes("PRESENCE")``: the subscription is accepted, its pushes never sent (logged dropped)."""
    api.sim.silence_pushes("PRESENCE")
    presence_sub = await api.subscribe("PRESENCE", url=receiver.url + "/presence")
    await api.subscribe("CALL_LOG", url=receiver.url + "/calls")
    assert presence_sub["resourceType"] == "PRESENCE"
    api.sim.make_call(USER, direction="incoming", number="+41791112233", duration=30)
    (body,) = await receiver.wait(1)
    await api.sim.wait_for_pushes()
    assert "callLogEvents" in body
    assert [request["path"] for request in receiver.requests] == ["/openapi/calls"]
    presence_deliveries = [d for d in api.sim.deliveries() if d["resourceType"] == "PRESENCE"]
    assert len(presence_deliveries) == 2
    assert all(d["dropped"] and d["status"] is None for d in presence_deliveries)
    # The presence changed all the same: a read sees it.
    assert (await api.get(f"v1/users/{USER}/presence"))[1]["lastC5"]["enhancedActivity"] == "IN_A_CALL"
    # Delivered again once no longer silent.
    api.sim.silence_pushes("PRESENCE", False)
    api.sim.set_presence(USER, "AWAY", "NONE")
    await receiver.wait(2)
    assert receiver.requests[-1]["path"] == "/openapi/presence"
    with pytest.raises(ValueError, match="unknown resource type"):
        api.sim.silence_pushes("NOPE")
