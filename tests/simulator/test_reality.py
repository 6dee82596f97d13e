"""The strict side of the simulator: profile "wiki", a skewed clock, malformed pushes, lost answers.

Also the wiki's own account (``WIKI_DATA_PATH``), on which the wiki's examples apply as published.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
import json
from pathlib import Path
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from vtx_simulator import (
    MALFORMED_PUSH_KINDS,
    PROFILES,
    WIKI_DATA_PATH,
    WIKI_ONLY,
    WIKI_SEED_PATH,
    Clock,
    Simulator,
    cli,
    seed,
)
from vtx_simulator.app import Api as SimApi
from vtx_simulator.clock import format_http_date, parse_instant
from vtx_simulator.const import FUTURE_EVENT_TIME
from vtx_simulator.push import MalformedPushes, PushFaults, malform_event

from . import wiki
from .conftest import HEADERS, OTHER_USER, USER, Api, Receiver, iso
from .test_control import control, run_cli

CALLLOGS = f"v1/users/{USER}/calllogs"
WIKI_USER = 177059
WIKI_DND = 2898089
WIKI_LOGIN = "+41215776366@m.ipvoip.ch"
SPRING_KEYS = ["timestamp", "status", "error", "message", "path"]


def date_of(headers: Any) -> datetime:
    """The instant of an answer's ``Date`` header."""
    return parsedate_to_datetime(headers["Date"])


def assert_near(value: datetime | None, offset: float, within: float = 2.0) -> None:
    """``value`` is ``offset`` seconds from the host's clock, within ``within`` seconds."""
    assert value is not None
    expected = datetime.now(UTC) + timedelta(seconds=offset)
    assert abs((value - expected).total_seconds()) <= within, (value, expected)


def server_iso(sim: Simulator, delta: timedelta) -> str:
    """An instant ``delta`` from the server's (skewed) clock, in the client's format."""
    return iso(delta, sim.clock.now())


@pytest.fixture
async def wiki_api(socket_enabled: None) -> Any:
    """A simulator in profile "wiki" and a client of it."""
    sim = Simulator(purge_interval=0.05, profile="wiki")
    await sim.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Api(session, sim)
    finally:
        await sim.stop()


# --- 1. Profile "wiki" -----------------------------------------------------------------


def test_wiki_only_names_the_assumed_routes() -> None:
    assert set(WIKI_ONLY) == {"call_history", "renew", "presence_push"}
    assert {name: refusal.status for name, refusal in WIKI_ONLY.items()} == {
        "call_history": 404,
        "renew": 405,
        "presence_push": 400,
    }
    # The route names are the handlers of app.Api.
    assert callable(SimApi.call_history) and callable(SimApi.renew)
    assert PROFILES == ("default", "wiki")
    assert WIKI_SEED_PATH == WIKI_DATA_PATH


async def test_wiki_call_history_is_an_unknown_route(wiki_api: Api) -> None:
    status, body, headers = await wiki_api.get(CALLLOGS)
    assert status == 404
    assert list(body) == SPRING_KEYS
    assert body["status"] == 404 and body["error"] == "Not Found"
    assert body["message"] == f"No endpoint GET /openapi/{CALLLOGS}"
    assert body["path"] == f"/openapi/{CALLLOGS}"
    # Exactly like a path the API never served.
    status, unknown, _ = await wiki_api.get("v1/users/176125/nothing")
    assert status == 404
    assert {key: unknown[key] for key in ("status", "error")} == {key: body[key] for key in ("status", "error")}
    assert unknown["message"].startswith("No endpoint GET ")
    assert headers["Content-Type"].startswith("application/json")
    # Counted under its template, like any API request; authentication still comes first.
    assert wiki_api.sim.request_counts()["GET /openapi/v1/users/{user_id}/calllogs"] == 1
    status, body, _ = await wiki_api.get(CALLLOGS, headers={**HEADERS, "Authorization": "Basic eDp5"})
    assert status == 401


async def test_wiki_refuses_presence_subscriptions(wiki_api: Api) -> None:
    sim = wiki_api.sim
    assert sim.presence_push_enabled is False
    body = {"expires": iso(timedelta(days=1)), "notificationUrl": "http://127.0.0.1:9/p", "userIds": [USER]}
    status, answer, _ = await wiki_api.request("POST", "v1/subscriptions", {**body, "resourceType": "PRESENCE"})
    assert status == 400 and answer["status"] == 400
    assert "PRESENCE" in answer["message"]
    for resource_type in ("FEATURE", "CALL_LOG"):
        assert (await wiki_api.subscribe(resource_type))["resourceType"] == resource_type
    # Asking for presence push changes nothing in profile "wiki"; it is kept for "default".
    sim.presence_push_enabled = True
    assert sim.dump()["presencePushEnabled"] is False
    sim.set_profile("default")
    assert sim.dump()["presencePushEnabled"] is True
    assert (await wiki_api.subscribe("PRESENCE"))["resourceType"] == "PRESENCE"


async def test_wiki_renewal_is_method_not_allowed(wiki_api: Api) -> None:
    sub = await wiki_api.subscribe()
    path = f"v1/subscriptions/{sub['id']}"
    status, body, headers = await wiki_api.request("PATCH", path, {"expires": iso(timedelta(days=2))})
    assert status == 405
    assert list(body) == SPRING_KEYS and body["error"] == "Method Not Allowed"
    allowed = set(headers["Allow"].split(","))
    assert {"GET", "DELETE"} <= allowed and "PATCH" not in allowed
    # Like a method the API never served on that path.
    status, _, other = await wiki_api.request("PUT", path, {"expires": iso(timedelta(days=2))})
    assert status == 405 and set(other["Allow"].split(",")) == allowed | {"PATCH"}
    # Refused before anything is read: even an unknown id or no body is a 405.
    assert (await wiki_api.request("PATCH", "v1/subscriptions/nope"))[0] == 405
    # Nothing changed; the rest of the subscription API works.
    status, got, _ = await wiki_api.get(path)
    assert status == 200 and got["subscription"] == sub
    assert (await wiki_api.request("DELETE", path))[0] == 204


async def test_wiki_serves_everything_else(wiki_api: Api, receiver: Receiver) -> None:
    sim = wiki_api.sim
    assert (await wiki_api.get("v1/system/server"))[1] == wiki.SERVER
    status, body, _ = await wiki_api.get(f"v1/users/{USER}/feat")
    assert status == 200 and len(body["features"]) == 19
    dnd = sim.feature(USER, "CENTRAL_DND")
    assert (await wiki_api.get(f"v1/feat/{dnd['id']}"))[1] == {"feature": dnd}
    await wiki_api.subscribe(url=receiver.url)
    status, body, _ = await wiki_api.request("PUT", f"v1/feat/{dnd['id']}", {**dnd, "status": "ACTIVE"})
    assert status == 200 and body["feature"]["status"] == "ACTIVE"
    assert (await wiki_api.get(f"v1/users/{USER}/presence"))[0] == 200
    assert len((await wiki_api.get("v1/subscriptions"))[1]["subscriptions"]) == 1
    assert (await receiver.wait(1))[0]["featureEvents"][0]["feature"]["status"] == "ACTIVE"
    # Presence changes are not pushed to anyone (nobody may subscribe to them).
    sim.set_presence(USER, "ONLINE", "IN_A_CALL")
    await sim.wait_for_pushes()
    assert len(receiver.requests) == 1


async def test_profile_switches_at_runtime(api: Api) -> None:
    sim = api.sim
    assert sim.profile == "default" and not sim.refuses("renew")
    assert (await api.get(CALLLOGS))[0] == 200
    sim.profile = "wiki"
    assert sim.refuses("renew") and sim.refuses("call_history") and sim.refuses("presence_push")
    assert (await api.get(CALLLOGS))[0] == 404
    assert sim.dump()["profile"] == "wiki"
    sim.reset()  # the profile is configuration: it stays
    assert sim.profile == "wiki" and sim.presence_push_enabled is False
    sim.set_profile("default")
    assert (await api.get(CALLLOGS))[0] == 200
    with pytest.raises(ValueError, match="unknown profile"):
        sim.set_profile("strict")
    with pytest.raises(ValueError, match="unknown profile"):
        Simulator(profile="strict")
    with pytest.raises(KeyError):
        sim.refuses("teleport")


async def test_profile_control_and_cli(api: Api) -> None:
    sim = api.sim
    assert (await control(api, "GET", "profile")) == (200, {"profile": "default", "refused": {}})
    status, answer = await control(api, "POST", "profile", {"profile": "wiki"})
    assert status == 200 and answer["profile"] == "wiki"
    assert {name: item["status"] for name, item in answer["refused"].items()} == {
        "call_history": 404,
        "renew": 405,
        "presence_push": 400,
    }
    assert (await control(api, "POST", "profile", {"profile": "nope"}))[0] == 400
    assert (await control(api, "POST", "profile", {}))[0] == 400
    assert (await run_cli(sim, "profile"))[1]["profile"] == "wiki"
    assert (await run_cli(sim, "profile", "default"))[1] == {"profile": "default", "refused": {}}
    assert sim.profile == "default"


async def serve_banner(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Start ``serve`` with ``argv``; return its banner and its profile and clock; stop it."""
    stop = asyncio.Event()
    args = cli.build_parser().parse_args(["serve", "--port", "0", *argv])
    task = asyncio.create_task(cli.serve(args, stop))
    out = ""
    async with asyncio.timeout(5):
        while "listening on" not in out:
            await asyncio.sleep(0.01)
            out += capsys.readouterr().out
    url = out.split("listening on ")[1].split()[0]
    async with aiohttp.ClientSession() as session:
        for path in ("profile", "clock"):
            async with session.get(f"{url}/_control/{path}") as response:
                out += json.dumps(await response.json())
    stop.set()
    await task
    return out


async def test_serve_profile_and_clock_offset(socket_enabled: None, capsys: pytest.CaptureFixture[str]) -> None:
    out = await serve_banner(capsys, "--profile", "wiki", "--clock-offset", "-600", "--data", str(WIKI_DATA_PATH))
    assert "profile         wiki" in out and "clock offset    -600 s" in out
    assert "userId 177059" in out
    assert '"profile": "wiki"' in out and '"skew": -600.0' in out
    out = await serve_banner(capsys)
    assert "profile         default" in out and "clock offset    +0 s" in out
    args = cli.build_parser().parse_args(["serve"])
    assert args.profile == "default" and args.clock_offset == 0.0
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["serve", "--profile", "strict"])


# --- 2. A skewed server clock ----------------------------------------------------------


def test_clock_skew_survives_reset() -> None:
    fixed = datetime(2024, 11, 4, 11, 31, 12, tzinfo=UTC)
    clock = Clock(lambda: fixed, offset=-600)
    assert clock.skew == -600 and clock.offset == -600
    clock.advance(30)
    assert clock.offset == -570 and clock.skew == -600
    clock.reset()
    assert clock.now() == fixed - timedelta(seconds=600)
    clock.skew = 60
    assert clock.now() == fixed + timedelta(seconds=60)
    assert format_http_date(fixed) == "Mon, 04 Nov 2024 11:31:12 GMT"
    given_clock = Clock()
    sim = Simulator(clock=given_clock, clock_offset=5)
    assert sim.clock is given_clock and given_clock.skew == 5 and sim.clock_offset == 5
    assert Simulator(clock=Clock(offset=7)).clock_offset == 7  # a given clock keeps its skew
    assert Simulator(clock_offset=-3).clock.offset == -3


@pytest.mark.parametrize("offset", [-600, 600])
async def test_every_emitted_time_is_on_the_server_clock(socket_enabled: None, receiver: Receiver, offset: int) -> None:
    async with Simulator(clock_offset=offset, purge_interval=0.05) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim)
        # Date header: success, authentication error, unknown route, fault, control API.
        status, body, headers = await api.get("v1/system/server")
        assert status == 200
        assert_near(date_of(headers), offset)
        status, body, headers = await api.get("v1/system/server", headers={})
        assert status == 401
        assert_near(date_of(headers), offset)
        assert_near(parse_instant(body["timestamp"]), offset)
        status, _, headers = await api.get("v1/nowhere")
        assert status == 404
        assert_near(date_of(headers), offset)
        sim.fail_next(503)
        status, _, headers = await api.get("v1/system/server")
        assert status == 503
        assert_near(date_of(headers), offset)
        sim.malformed_next()
        assert_near(date_of((await api.get("v1/system/server"))[2]), offset)
        async with session.get(sim.control_url + "clock") as response:
            assert_near(date_of(response.headers), offset)
            clock = await response.json()
        assert clock["skew"] == offset and clock["offset"] == offset
        assert_near(parse_instant(clock["now"]), offset)
        # Subscriptions: created, modified; expires is checked against the server's clock.
        sub = await api.subscribe(url=receiver.url)
        assert_near(parse_instant(sub["created"]), offset)
        assert_near(parse_instant(sub["modified"]), offset)
        host_limit = iso(timedelta(days=3, seconds=-60))  # host now + 3 days - 1 minute
        body = {"expires": host_limit, "notificationUrl": receiver.url, "resourceType": "FEATURE"}
        status, answer, _ = await api.request("POST", "v1/subscriptions", {**body, "userIds": [USER]})
        # 10 min behind, the host's "3 days less a minute" is beyond the lifetime; ahead, fine.
        assert status == (400 if offset < 0 else 200), answer
        soon = iso(timedelta(seconds=300))  # host now + 5 minutes
        status, _, _ = await api.request("POST", "v1/subscriptions", {**body, "expires": soon, "userIds": [USER]})
        # 10 min ahead, the host's "in 5 minutes" is already past for the server.
        assert status == (400 if offset > 0 else 200)
        status, renewed, _ = await api.request(
            "PATCH", f"v1/subscriptions/{sub['id']}", {"expires": server_iso(sim, timedelta(days=2))}
        )
        assert status == 200
        assert_near(parse_instant(renewed["subscription"]["modified"]), offset)
        assert_near(parse_instant(renewed["subscription"]["expires"]), offset + 2 * 86400)
        # Pushes: eventTime; presence modifiedOn; call times.
        sim.set_dnd(USER, True)
        push = (await receiver.wait(1))[0]
        assert_near(parse_instant(push["featureEvents"][0]["eventTime"]), offset)
        assert_near(parse_instant(sim.deliveries()[0]["queued"]), offset)
        sim.set_presence(USER, "ONLINE", "IN_A_CALL")
        presence = (await api.get(f"v1/users/{USER}/presence"))[1]
        assert_near(parse_instant(presence["c5"]["modifiedOn"]), offset)
        assert_near(parse_instant(sim.presence(OTHER_USER)["current"]["modifiedOn"]), offset)
        log = sim.make_call(OTHER_USER, number="+41225117902", duration=0)
        assert_near(parse_instant(log["callStart"]), offset)
        history = (await api.get(f"v1/users/{OTHER_USER}/calllogs"))[1]
        assert history[0]["id"] == log["id"]
        # A reset keeps the skew; an advance adds to it.
        sim.reset()
        sim.advance_clock(30)
        assert sim.clock_offset == offset and sim.clock.offset == offset + 30
        assert_near(date_of((await api.get("v1/system/server"))[2]), offset + 30)


async def test_clock_skew_control_and_cli(api: Api) -> None:
    sim = api.sim
    status, clock = await control(api, "POST", "clock", {"skew": -600})
    assert status == 200 and clock["skew"] == -600 and clock["offset"] == -600
    assert_near(date_of((await api.get("v1/system/server"))[2]), -600)
    status, clock = await control(api, "POST", "clock", {"skew": 60, "advance": 10})
    assert clock == {**clock, "skew": 60, "offset": 70}
    assert (await control(api, "POST", "clock", {"skew": "soon"}))[0] == 400
    assert (await run_cli(sim, "clock", "skew", "120"))[1]["skew"] == 120
    assert sim.clock_offset == 120
    sim.clock_offset = 0
    assert sim.clock.offset == 10


@settings(
    max_examples=15,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(offset=st.floats(min_value=-86400, max_value=86400, allow_nan=False))
async def test_any_skew_moves_date_and_event_time(api: Api, receiver: Receiver, offset: float) -> None:
    """Any skew within a day: the Date header and eventTime are host time plus the skew (2 s)."""
    sim = api.sim
    sim.reset()
    sim.clock_offset = offset
    receiver.requests.clear()
    await api.subscribe(url=receiver.url, expires=server_iso(sim, timedelta(days=1)))
    _, _, headers = await api.get("v1/system/server")
    assert_near(date_of(headers), offset)
    sim.set_dnd(USER, sim.feature(USER, "CENTRAL_DND")["status"] != "ACTIVE")
    push = (await receiver.wait(1))[0]
    assert_near(parse_instant(push["featureEvents"][0]["eventTime"]), offset)


# --- 3. Malformed feature pushes -------------------------------------------------------


def expected_malformed(event: dict[str, Any], kind: str) -> dict[str, Any]:
    """The event as the wiki shapes it, spoilt as ``kind`` says (written independently)."""
    bad = copy.deepcopy(event)
    feature = bad["feature"]
    if kind == "status-missing":
        del feature["status"]
    elif kind == "status-null":
        feature["status"] = None
    elif kind == "status-number":
        feature["status"] = 1
    elif kind == "status-list":
        feature["status"] = [event["feature"]["status"]]
    elif kind == "status-unknown":
        feature["status"] = "OFF"
    elif kind == "data-list":
        feature["centralDndData"] = [event["feature"]["centralDndData"]]
    elif kind == "data-string":
        feature["centralDndData"] = '{"condition":"ALWAYS","mode":"USER"}'
    elif kind == "future-event-time":
        bad["eventTime"] = "2099-01-01T00:00:00.000+01:00"
    else:
        del bad["previousValue"]
    return bad


@pytest.mark.parametrize("kind", MALFORMED_PUSH_KINDS)
async def test_malformed_push_kinds(api: Api, receiver: Receiver, kind: str) -> None:
    sim = api.sim
    sub = await api.subscribe(url=receiver.url)
    before = sim.feature(USER, "CENTRAL_DND")
    sim.malform_pushes(kind)
    sim.set_dnd(USER, True)
    after = sim.feature(USER, "CENTRAL_DND")
    sim.set_dnd(USER, False)
    first, second = await receiver.wait(2)
    assert first["subscriptionId"] == sub["id"] and list(first) == ["subscriptionId", "featureEvents"]
    event = first["featureEvents"][0]
    sound = {
        "changeType": "MODIFIED",
        "feature": after,
        "previousValue": before,
        "eventTime": event["eventTime"],
        "context": sim.state.context(USER),
    }
    assert event == expected_malformed(sound, kind)
    if kind == "future-event-time":
        assert event["eventTime"] == FUTURE_EVENT_TIME
    else:
        assert_near(parse_instant(event["eventTime"]), 0)
    # Only the push is spoilt, never the state; the next push is sound (count 1).
    assert after["status"] == "ACTIVE"
    assert second["featureEvents"][0] == {
        **sound,
        "feature": sim.feature(USER, "CENTRAL_DND"),
        "previousValue": after,
        "eventTime": second["featureEvents"][0]["eventTime"],
    }
    assert sim.push.faults.malformed == []
    assert sim.deliveries()[0]["body"] == first


def test_malform_event_without_data_block() -> None:
    event: dict[str, Any] = {
        "changeType": "MODIFIED",
        "feature": {"id": 1, "featName": "CALL_HOLD", "status": "ACTIVE"},
    }
    assert malform_event(event, "data-list")["feature"]["callHoldData"] == []
    assert malform_event(event, "data-string")["feature"]["callHoldData"] == ""
    assert "previousValue" not in malform_event(event, "no-previous-value")
    assert malform_event(event, "status-missing")["feature"] == {"id": 1, "featName": "CALL_HOLD"}
    assert event["feature"]["status"] == "ACTIVE"  # a copy is spoilt, never the original
    with pytest.raises(ValueError, match="unknown malformed push kind"):
        malform_event(event, "status-purple")
    with pytest.raises(ValueError, match="unknown malformed push kind"):
        MalformedPushes("status-purple")
    with pytest.raises(ValueError, match="count"):
        MalformedPushes("status-null", 0)


def test_push_faults_queue_in_order() -> None:
    faults = PushFaults()
    assert faults.take_malformed() is None
    faults.malformed += [MalformedPushes("status-null", 2), MalformedPushes("data-list", None)]
    assert faults.to_json()["malformed"] == [
        {"kind": "status-null", "count": 2},
        {"kind": "data-list", "count": "all"},
    ]
    assert [faults.take_malformed() for _ in range(5)] == ["status-null", "status-null"] + ["data-list"] * 3
    faults.clear()
    assert faults.to_json() == {"delay": 0.0, "duplicate": False, "drop": 0, "malformed": [], "silent": []}


async def test_malformed_applies_to_feature_pushes_only(api: Api, receiver: Receiver) -> None:
    sim = api.sim
    await api.subscribe("CALL_LOG", url=receiver.url)
    await api.subscribe("PRESENCE", url=receiver.url)
    await api.subscribe(url=receiver.url)
    sim.malform_pushes("status-null", count=None)
    sim.set_push_duplicate(True)
    sim.make_call(USER, number="+41225117902", duration=3)  # 2 presence + 1 call log, twice each
    sim.set_dnd(USER, True)
    bodies = await receiver.wait(8)
    logs = [body["callLogEvents"][0]["callLog"] for body in bodies if "callLogEvents" in body]
    assert len(logs) == 2 and logs[0]["status"] == 804
    presences = [body["presenceEvents"][0] for body in bodies if "presenceEvents" in body]
    assert len(presences) == 4 and all("previousValue" not in event for event in presences)
    assert all(event["presence"]["current"]["activity"] == "ONLINE" for event in presences)
    features = [body for body in bodies if "featureEvents" in body]
    assert len(features) == 2 and features[0] == features[1]  # a duplicate is the same push
    assert features[0]["featureEvents"][0]["feature"]["status"] is None
    assert sim.push.faults.to_json()["malformed"] == [{"kind": "status-null", "count": "all"}]
    sim.clear_push_faults()
    assert sim.push.faults.malformed == []


async def test_malformed_push_per_subscription(api: Api, receiver: Receiver) -> None:
    sim = api.sim
    await api.subscribe(url=receiver.url)
    await api.subscribe(url=receiver.url, enterpriseNames=["291908.bus.ent"])
    sim.malform_pushes("status-missing")
    sim.malform_pushes("no-previous-value", count=2)
    sim.set_dnd(USER, True)  # one push per subscription: status-missing, no-previous-value
    sim.set_dnd(USER, False)  # no-previous-value, then sound
    bodies = await receiver.wait(4)
    events = [body["featureEvents"][0] for body in bodies]
    assert "status" not in events[0]["feature"] and "previousValue" in events[0]
    assert "previousValue" not in events[1] and "status" in events[1]["feature"]
    assert "previousValue" not in events[2]
    assert "previousValue" in events[3] and events[3]["feature"]["status"] == "INACTIVE"


async def test_malformed_push_control_and_cli(api: Api) -> None:
    sim = api.sim
    status, answer = await control(api, "POST", "push-faults", {"malformed": {"kind": "status-list", "count": 3}})
    assert status == 200 and answer["malformed"] == [{"kind": "status-list", "count": 3}]
    status, answer = await control(api, "POST", "push-faults", {"malformed": "data-string"})
    assert answer["malformed"][1] == {"kind": "data-string", "count": 1}
    status, answer = await control(api, "POST", "push-faults", {"malformed": {"kind": "data-list", "count": "all"}})
    assert answer["malformed"][2] == {"kind": "data-list", "count": "all"}
    for bad in (
        {"malformed": {"kind": "nope"}},
        {"malformed": {"kind": "status-null", "count": "many"}},
        {"malformed": {"kind": "status-null", "count": 0}},
        {"malformed": {"count": 1}},
        {"malformed": 5},
    ):
        got, error = await control(api, "POST", "push-faults", bad)
        assert got == 400 and "error" in error, bad
    assert (await control(api, "DELETE", "push-faults"))[1]["malformed"] == []
    code, answer = await run_cli(sim, "push-fault", "malformed", "future-event-time", "--count", "2")
    assert code == 0 and answer["malformed"] == [{"kind": "future-event-time", "count": 2}]
    code, answer = await run_cli(sim, "push-fault", "malformed", "no-previous-value", "--count", "all")
    assert answer["malformed"][1] == {"kind": "no-previous-value", "count": "all"}
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["ctl", "push-fault", "malformed", "status-purple"])


# --- 4. A lost create answer -----------------------------------------------------------


async def test_lost_create_answer_leaves_one_subscription(api: Api) -> None:
    sim = api.sim
    fault = sim.lose_next_answer(method="POST", path="subscriptions")
    assert fault.to_json()["kind"] == "lost_answer"
    body = {
        "expires": iso(timedelta(days=1)),
        "notificationUrl": "http://127.0.0.1:9/push",
        "resourceType": "FEATURE",
        "userIds": [USER],
    }
    status, answer, headers = await api.request("POST", "v1/subscriptions", body)
    assert status == 503 and list(answer) == SPRING_KEYS and "subscription" not in answer
    assert "Retry-After" not in headers
    status, listed, _ = await api.get("v1/subscriptions")
    assert status == 200 and len(listed["subscriptions"]) == 1
    made = listed["subscriptions"][0]
    assert made["notificationUrl"] == body["notificationUrl"] and made["userIds"] == [USER]
    assert sim.subscriptions() == [made]
    # The fault is spent: the next create answers normally.
    assert (await api.subscribe())["id"] != made["id"]
    assert len(sim.subscriptions()) == 2
    assert sim.api_faults.rules == []


async def test_lost_answer_only_where_it_matches(api: Api) -> None:
    sim = api.sim
    sim.add_fault("lost_answer", status=502, retry_after=3, method="DELETE", path="subscriptions")
    sub = await api.subscribe()  # a POST: not lost
    assert (await api.get("v1/subscriptions"))[0] == 200  # a GET: not lost
    status, answer, headers = await api.request("DELETE", f"v1/subscriptions/{sub['id']}")
    assert status == 502 and answer["status"] == 502 and headers["Retry-After"] == "3"
    assert "answer lost" in answer["message"]
    assert sim.subscriptions() == []  # deleted all the same
    # A refused request is refused on the server too: nothing created, the client sees the fault.
    sim.lose_next_answer()
    status, _, _ = await api.request("POST", "v1/subscriptions", {"resourceType": "NOPE"})
    assert status == 503 and sim.subscriptions() == []


async def test_lost_answer_control_and_cli(api: Api) -> None:
    sim = api.sim
    status, answer = await control(
        api, "POST", "faults", {"kind": "lost_answer", "method": "POST", "path": "subscriptions"}
    )
    assert status == 200 and answer["faults"][0]["kind"] == "lost_answer"
    status, _, _ = await api.request(
        "POST",
        "v1/subscriptions",
        {"expires": iso(timedelta(days=1)), "notificationUrl": "http://x.example/p", "resourceType": "CALL_LOG"}
        | {"userIds": [USER]},
    )
    assert status == 503 and len(sim.subscriptions()) == 1
    code, answer = await run_cli(
        sim, "fault", "lost-answer", "--status", "504", "--method", "POST", "--path", "subscriptions"
    )
    assert code == 0
    assert answer["faults"] == [
        {
            "kind": "lost_answer",
            "count": 1,
            "status": 504,
            "retryAfter": None,
            "seconds": 0.0,
            "method": "POST",
            "path": "subscriptions",
        }
    ]
    assert (await run_cli(sim, "fault", "lost-answer"))[1]["faults"][1]["status"] == 503


# --- 5. The wiki's own account ---------------------------------------------------------


def wiki_feature(feature_id: int) -> dict[str, Any]:
    """A feature of the wiki account's seed."""
    data = json.loads(WIKI_DATA_PATH.read_text(encoding="utf-8"))
    return next(item for item in data["lines"][0]["features"] if item["id"] == feature_id)


def test_wiki_seed_is_the_wiki_account() -> None:
    data = json.loads(WIKI_DATA_PATH.read_text(encoding="utf-8"))
    assert data == seed.build_wiki_data()
    assert [line["userId"] for line in data["lines"]] == [WIKI_USER]
    event = wiki.FEATURE_PUSH["featureEvents"][0]
    assert data["enterprise"] == event["context"]["enterprise"]
    assert data["site"] == event["context"]["site"]
    assert data["serviceProvider"] == event["context"]["serviceProvider"]
    assert wiki_feature(WIKI_DND) == event["previousValue"]
    assert wiki_feature(2898014) == wiki.CFU_FEATURE
    # The default seed is untouched: the same four lines.
    default = seed.build_default_data()
    assert [line["userId"] for line in default["lines"]] == [176125, 176129, 176133, 176137]


def test_seed_main_writes_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default_path, wiki_path = tmp_path / "default.json", tmp_path / "wiki.json"
    monkeypatch.setattr(seed, "DEFAULT_DATA_PATH", default_path)
    monkeypatch.setattr(seed, "WIKI_DATA_PATH", wiki_path)
    assert seed.main([]) == 0
    assert json.loads(default_path.read_text(encoding="utf-8")) == seed.build_default_data()
    assert wiki_path.read_text(encoding="utf-8") == WIKI_DATA_PATH.read_text(encoding="utf-8")
    other = tmp_path / "other.json"
    assert seed.main(["--wiki", str(other)]) == 0
    assert json.loads(other.read_text(encoding="utf-8")) == seed.build_wiki_data()


async def test_wiki_examples_apply_as_published(socket_enabled: None, receiver: Receiver) -> None:
    async with Simulator(WIKI_DATA_PATH, profile="wiki") as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim)
        # The wiki's GETs, verbatim.
        assert (await api.get(f"v1/feat/{WIKI_DND}"))[1] == {"feature": wiki_feature(WIKI_DND)}
        assert (await api.get("v1/feat/2898014"))[1] == {"feature": wiki.CFU_FEATURE}
        ids = [feature["id"] for feature in (await api.get(f"v1/users/{WIKI_USER}/feat"))[1]["features"]]
        assert WIKI_DND in ids and len(ids) == 19
        presence = (await api.get(f"v1/users/{WIKI_USER}/presence"))[1]
        assert presence["userId"] == WIKI_USER and presence["domainId"] == wiki.PRESENCE["domainId"]
        # The wiki's subscription files, with a new expiry.
        for example in (wiki.SUB_FEATURE_LOGINS, wiki.SUB_FEATURE_ENTERPRISE):
            body: dict[str, Any] = {
                key: example[key]
                for key in ("resourceType", "resourceNames", "loginNames", "enterpriseNames")
                if key in example
            }
            body |= {"notificationUrl": receiver.url, "expires": iso(timedelta(days=1))}
            status, answer, _ = await api.request("POST", "v1/subscriptions", body)
            assert status == 200, answer
        subs = sim.subscriptions()
        assert subs[0]["loginNames"] == [WIKI_LOGIN]
        # The phone turns DND on: the push is the wiki's, but for its subscription id and time.
        sim.set_dnd(WIKI_USER, True)
        (push,) = await receiver.wait(1)
        published = copy.deepcopy(wiki.FEATURE_PUSH)
        published["subscriptionId"] = subs[1]["id"]
        published["featureEvents"][0]["eventTime"] = push["featureEvents"][0]["eventTime"]
        assert push == published
        # The wiki's push, POSTed with a known subscription id, names a real line and feature.
        example = wiki.FEATURE_PUSH["featureEvents"][0]
        assert sim.feature(WIKI_USER, "CENTRAL_DND")["id"] == example["feature"]["id"] == WIKI_DND
        assert sim.state.context(WIKI_USER) == example["context"]
        assert sim.feature(WIKI_USER, "CENTRAL_DND") == example["feature"]
