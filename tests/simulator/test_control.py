"""The control API (HTTP) and the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import runpy
import sys
from typing import Any

import aiohttp
import pytest

from vtx_simulator import Simulator, cli

from .conftest import OTHER_USER, USER, Api, Receiver


async def control(api: Api, method: str, path: str, body: Any = None, *, raw: str | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    async with api.session.request(method, api.sim.control_url + path, data=data) as response:
        return response.status, await response.json()


async def test_control_phone_actions(api: Api, receiver: Receiver) -> None:
    await api.subscribe(url=receiver.url)
    assert await control(api, "POST", "dnd", {"userId": USER, "on": True}) == (200, {"changed": True})
    assert await control(api, "POST", "dnd", {"userId": USER, "on": True}) == (200, {"changed": False})
    status, _ = await control(api, "POST", "forward", {"userId": USER, "kind": "busy", "on": True, "to": "+4179"})
    assert status == 200
    assert api.sim.feature(USER, "CALL_FORWARD_BUSY")["callForwardBusyData"]["destinationUri"] == "+4179"
    status, _ = await control(
        api, "POST", "feature", {"userId": USER, "featName": "CALL_FORWARD_TIMEOUT", "data": {"timeout": 30}}
    )
    assert status == 200
    assert api.sim.feature(USER, "CALL_FORWARD_TIMEOUT")["callForwardTimeoutData"]["timeout"] == 30
    status, _ = await control(api, "POST", "feature", {"userId": USER, "featName": "EARLY_MEDIA", "data": {"x": 1}})
    assert status == 200 and api.sim.feature(USER, "EARLY_MEDIA")["earlyMediaData"] == {"x": 1}
    await receiver.wait(4)


async def test_control_calls_and_presence(api: Api) -> None:
    status, answer = await control(api, "POST", "call/start", {"userId": USER, "number": "+41225117902"})
    assert status == 200 and answer["presence"]["current"]["enhancedActivity"] == "IN_A_CALL"
    assert (await control(api, "POST", "call/start", {"userId": USER, "number": "+41225117902"}))[0] == 409
    status, answer = await control(api, "POST", "call/end", {"userId": USER})
    assert status == 200 and answer["callLog"]["direction"] == "INCOMING"
    status, answer = await control(
        api, "POST", "call", {"userId": USER, "direction": "outgoing", "number": "+41225117902", "duration": 7}
    )
    assert answer["callLog"]["duration"] == 7 and answer["callLog"]["direction"] == "OUTGOING"
    status, answer = await control(api, "POST", "call", {"userId": USER, "number": "+4122", "missed": True})
    assert answer["callLog"]["status"] == 487
    status, answer = await control(
        api, "POST", "presence", {"userId": USER, "activity": "OFFLINE", "enhancedActivity": "NONE"}
    )
    assert status == 200 and answer["changed"] is True and answer["presence"]["c5"]["activity"] == "OFFLINE"
    # A presence the platform does not know (the wiki's thirdParty block shows UNKNOWN):
    # what the API's GET answers then.
    status, answer = await control(
        api, "POST", "presence", {"userId": USER, "activity": "UNKNOWN", "enhancedActivity": "NONE"}
    )
    assert status == 200 and answer["changed"] is True
    status, body, _headers = await api.get(f"v1/users/{USER}/presence")
    assert status == 200 and body["current"]["activity"] == "UNKNOWN" and body["current"]["enhancedActivity"] == "NONE"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("dnd", {"userId": 1, "on": True}, 404),
        ("dnd", {"userId": USER}, 400),
        ("dnd", {"userId": "176125", "on": True}, 400),
        ("dnd", {"userId": True, "on": True}, 400),
        ("forward", {"userId": USER, "kind": "sideways", "on": True}, 400),
        ("feature", {"userId": USER, "featName": "NOPE", "status": "ACTIVE"}, 404),
        ("feature", {"userId": USER, "featName": "CENTRAL_DND", "status": "ON"}, 400),
        ("call", {"userId": USER, "number": "", "duration": 1}, 400),
        ("call", {"userId": USER, "number": "+41", "duration": -1}, 400),
        ("call", {"userId": USER, "number": "+41", "direction": "sideways"}, 400),
        ("call/end", {"userId": USER}, 409),
        ("faults", {"kind": "explode"}, 400),
        ("push-faults", {"drop": "some"}, 400),
        ("push-faults", {"delay": -1}, 400),
        ("push-faults", {"silent": "PRESENCE"}, 400),
        ("push-faults", {"silent": [1]}, 400),
        ("push-faults", {"silent": ["NOPE"]}, 400),
        ("expire", {"subscriptionId": "nope"}, 404),
        ("clock", {}, 400),
    ],
)
async def test_control_errors(api: Api, path: str, body: Any, status: int) -> None:
    got, answer = await control(api, "POST", path, body)
    assert got == status
    assert "error" in answer


@pytest.mark.parametrize("raw", ["{", "[1]", ""])
async def test_control_bad_json(api: Api, raw: str) -> None:
    assert (await control(api, "POST", "dnd", raw=raw))[0] == 400


async def test_control_unknown_method(api: Api) -> None:
    async with api.session.put(api.sim.control_url + "dnd") as response:
        assert response.status == 405
        assert (await response.json())["error"] == "Method Not Allowed"


async def test_control_faults_and_observation(api: Api) -> None:
    status, answer = await control(api, "POST", "faults", {"kind": "status", "status": 429, "retryAfter": 2})
    assert status == 200 and answer["faults"][0]["retryAfter"] == 2
    status, answer = await control(api, "POST", "faults", {"kind": "hang", "seconds": 0.01, "count": 0})
    assert answer["faults"][1]["count"] is None
    assert (await control(api, "GET", "faults"))[1]["faults"][0]["status"] == 429
    assert (await api.get("v1/system/server"))[0] == 429
    assert (await control(api, "DELETE", "faults")) == (200, {"faults": []})
    assert (await control(api, "GET", "requests"))[1] == {"total": 1, "counts": {"GET /openapi/v1/system/server": 1}}
    assert (await control(api, "DELETE", "requests")) == (200, {"total": 0, "counts": {}})

    status, answer = await control(api, "POST", "push-faults", {"delay": 0.5, "duplicate": True, "drop": 2})
    assert answer == {"delay": 0.5, "duplicate": True, "drop": 2, "malformed": [], "silent": []}
    assert (await control(api, "POST", "push-faults", {"drop": "all"}))[1]["drop"] == "all"
    assert (await control(api, "GET", "push-faults"))[1]["drop"] == "all"
    assert (await control(api, "DELETE", "push-faults"))[1] == {
        "delay": 0.0,
        "duplicate": False,
        "drop": 0,
        "malformed": [],
        "silent": [],
    }
    assert (await control(api, "GET", "deliveries")) == (200, {"deliveries": []})
    assert (await control(api, "DELETE", "deliveries")) == (200, {"deliveries": []})


async def test_control_subscriptions_clock_expire(api: Api) -> None:
    sub = await api.subscribe()
    assert (await control(api, "GET", "subscriptions"))[1] == {"subscriptions": [sub]}
    status, clock = await control(api, "POST", "clock", {"advance": 60})
    assert status == 200 and clock["offset"] == 60
    assert (await control(api, "GET", "clock"))[1]["offset"] == 60
    assert (await control(api, "POST", "expire", {"subscriptionId": sub["id"]})) == (200, {"expired": True})
    assert (await control(api, "GET", "subscriptions"))[1] == {"subscriptions": []}
    assert (await control(api, "GET", "presence-push"))[1] == {"enabled": True}
    assert (await control(api, "POST", "presence-push", {"enabled": False}))[1] == {"enabled": False}
    assert api.sim.presence_push_enabled is False


async def test_control_state_and_reset(api: Api) -> None:
    await api.subscribe()
    api.sim.set_dnd(USER, True)
    api.sim.start_call(USER, number="+41225117902")
    api.sim.fail_next(503, count=5)
    api.sim.advance_clock(100)
    status, state = await control(api, "GET", "state")
    assert status == 200
    assert state["enterprise"] == {"id": 16317, "name": "291908.bus.ent"}
    assert len(state["lines"]) == 4 and len(state["subscriptions"]) == 1
    line = state["lines"][0]
    assert line["activeCall"]["number"] == "+41225117902"
    assert line["presence"]["current"]["enhancedActivity"] == "IN_A_CALL"
    assert state["faults"][0]["count"] == 5
    assert state["clockOffset"] == 100
    assert (await control(api, "POST", "reset")) == (200, {"reset": True})
    status, state = await control(api, "GET", "state")
    assert state["subscriptions"] == [] and state["faults"] == [] and state["clockOffset"] == 0
    assert state["lines"][0]["activeCall"] is None
    assert api.sim.feature(USER, "CENTRAL_DND")["status"] == "INACTIVE"
    assert (await api.get("v1/system/server"))[0] == 200


# --- CLI ---------------------------------------------------------------------------------
async def run_cli(sim: Simulator, *args: str) -> tuple[int, Any]:
    """Run the CLI's main() in a thread (it owns its event loop), like a shell would."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await asyncio.to_thread(cli.main, ["ctl", "--url", sim.url, *args])
    text = out.getvalue()
    try:
        return code, json.loads(text)
    except ValueError:
        return code, text


async def test_cli_phone_commands(api: Api, receiver: Receiver) -> None:
    sim = api.sim
    await api.subscribe(url=receiver.url)
    assert await run_cli(sim, "dnd", str(USER), "on") == (0, {"changed": True})
    assert sim.feature(USER, "CENTRAL_DND")["status"] == "ACTIVE"
    assert (await run_cli(sim, "forward", str(USER), "unconditional", "on", "--to", "+41791234567"))[0] == 0
    cfu = sim.feature(USER, "CALL_FORWARD_UNCONDITIONAL")
    assert cfu["status"] == "ACTIVE" and cfu["callForwardUnconditionalData"]["destinationUri"] == "+41791234567"
    assert (await run_cli(sim, "forward", str(USER), "not_reachable", "off"))[0] == 0
    code, answer = await run_cli(
        sim,
        "feature",
        str(USER),
        "CALL_FORWARD_TIMEOUT",
        "--status",
        "ACTIVE",
        "--set",
        "timeout=45",
        "--set",
        "condition=ALWAYS",
    )
    assert code == 0 and answer == {"changed": True}
    assert sim.feature(USER, "CALL_FORWARD_TIMEOUT")["callForwardTimeoutData"]["timeout"] == 45
    with pytest.raises(SystemExit):
        cli.ctl_request(cli.build_parser().parse_args(["ctl", "feature", "1", "X", "--set", "novalue"]))
    code, answer = await run_cli(sim, "call-start", str(USER), "--direction", "outgoing", "--number", "+41225117902")
    assert code == 0 and answer["presence"]["current"]["enhancedActivity"] == "IN_A_CALL"
    code, answer = await run_cli(sim, "call-end", str(USER))
    assert code == 0 and answer["callLog"]["direction"] == "OUTGOING"
    code, answer = await run_cli(
        sim, "call", str(USER), "--number", "+41791112233", "--duration", "42", "--dial", "0791112233"
    )
    assert answer["callLog"]["duration"] == 42 and answer["callLog"]["callPartyDialNumber"] == "0791112233"
    code, answer = await run_cli(sim, "call", str(USER), "--number", "+41791112233", "--missed")
    assert answer["callLog"]["duration"] == 0
    code, answer = await run_cli(sim, "presence", str(USER), "ONLINE", "IN_A_CALL")
    assert code == 0 and answer["changed"] is True
    assert (await run_cli(sim, "call-end", str(USER)))[0] == 1  # no call in progress: refused


async def test_cli_observation_and_faults(api: Api) -> None:
    sim = api.sim
    sub = await api.subscribe()
    code, state = await run_cli(sim, "state")
    assert code == 0 and state["site"]["name"] == "s1.291908.bus.ipvoip.ch"
    assert (await run_cli(sim, "subscriptions"))[1] == {"subscriptions": [sub]}
    assert (await run_cli(sim, "requests"))[1]["total"] == 1
    assert (await run_cli(sim, "requests", "--reset"))[1] == {"total": 0, "counts": {}}

    assert (await run_cli(sim, "fault", "status", "503", "--count", "2"))[0] == 0
    assert (await api.get("v1/system/server"))[0] == 503
    await run_cli(sim, "fault", "clear")
    code, answer = await run_cli(
        sim, "fault", "status", "429", "--retry-after", "5", "--method", "GET", "--path", "feat"
    )
    assert answer["faults"][0] == {
        "kind": "status",
        "count": 1,
        "status": 429,
        "retryAfter": 5,
        "seconds": 0.0,
        "method": "GET",
        "path": "feat",
    }
    assert (await api.get("v1/users/176125/feat"))[2]["Retry-After"] == "5"
    assert (await run_cli(sim, "fault", "hang", "0.01", "--count", "0"))[1]["faults"][0]["count"] is None
    await run_cli(sim, "fault", "clear")
    await run_cli(sim, "fault", "malformed")
    assert (await run_cli(sim, "fault", "list"))[1]["faults"][0]["kind"] == "malformed"
    assert (await run_cli(sim, "fault", "clear"))[1] == {"faults": []}

    assert (await run_cli(sim, "push-fault", "delay", "0.5"))[1]["delay"] == 0.5
    assert (await run_cli(sim, "push-fault", "duplicate", "on"))[1]["duplicate"] is True
    assert (await run_cli(sim, "push-fault", "drop", "3"))[1]["drop"] == 3
    assert (await run_cli(sim, "push-fault", "drop", "all"))[1]["drop"] == "all"
    assert (await run_cli(sim, "push-fault", "show"))[1]["drop"] == "all"
    assert (await run_cli(sim, "push-fault", "silent", "PRESENCE", "CALL_LOG"))[1]["silent"] == ["CALL_LOG", "PRESENCE"]
    assert (await run_cli(sim, "push-fault", "silent", "PRESENCE"))[1]["silent"] == ["PRESENCE"]
    assert (await run_cli(sim, "push-fault", "clear"))[1] == {
        "delay": 0.0,
        "duplicate": False,
        "drop": 0,
        "malformed": [],
        "silent": [],
    }
    assert (await run_cli(sim, "deliveries"))[1] == {"deliveries": []}
    assert (await run_cli(sim, "deliveries", "--clear"))[1] == {"deliveries": []}

    assert (await run_cli(sim, "clock", "advance", "30"))[1]["offset"] == 30
    assert (await run_cli(sim, "clock", "show"))[1]["offset"] == 30
    assert (await run_cli(sim, "expire", sub["id"]))[1] == {"expired": True}
    assert (await run_cli(sim, "expire", sub["id"]))[0] == 1
    assert (await run_cli(sim, "presence-push", "off"))[1] == {"enabled": False}
    assert (await run_cli(sim, "presence-push", "yes"))[1] == {"enabled": True}
    assert (await run_cli(sim, "reset"))[1] == {"reset": True}


async def test_cli_async_main_and_unreachable(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.async_main(["ctl", "--url", api.sim.url, "dnd", str(USER), "on"]) == 0
    assert json.loads(capsys.readouterr().out) == {"changed": True}
    assert await cli.async_main(["ctl", "--url", "http://127.0.0.1:1", "state"]) == 2
    assert "cannot reach" in capsys.readouterr().err


async def test_cli_non_json_answer(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    # the API root is not a control route: aiohttp's plain 404 text is printed as is
    args = cli.build_parser().parse_args(["ctl", "--url", api.sim.url + "/x", "state"])
    assert await cli.run_ctl(args) == 1
    assert "404" in capsys.readouterr().out


def test_cli_on_off_parsing() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["ctl", "dnd", "1", "maybe"])


async def test_serve(socket_enabled: None, capsys: pytest.CaptureFixture[str]) -> None:
    stop = asyncio.Event()
    args = cli.build_parser().parse_args(["serve", "--port", "0", "--no-presence-push"])
    task = asyncio.create_task(cli.serve(args, stop))
    out = ""
    for _ in range(250):
        out += capsys.readouterr().out
        if "listening on" in out:
            break
        await asyncio.sleep(0.02)
    assert "openapi@291908.bus.ent" in out and "vtx-demo-password" in out
    assert "71c177e5-7417-4265-b97f-4595016dceb8" in out and "176137" in out
    url = out.split("listening on ")[1].split()[0]
    async with aiohttp.ClientSession() as session, session.get(url + "/_control/presence-push") as response:
        assert await response.json() == {"enabled": False}
    stop.set()
    await task


async def test_async_main_serves_by_default(socket_enabled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    async def fake_serve(args: Any, stop: Any = None) -> None:
        seen.append(args)

    monkeypatch.setattr(cli, "serve", fake_serve)
    monkeypatch.setattr("logging.basicConfig", lambda **kwargs: None)
    assert await cli.async_main(["--port", "0"]) == 0
    assert await cli.async_main([]) == 0
    assert await cli.async_main(["serve", "-v", "--port", "0"]) == 0
    assert [args.command for args in seen] == ["serve", "serve", "serve"]
    assert seen[0].port == 0 and seen[1].port == 8099


def test_dunder_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["vtx_simulator", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("vtx_simulator", run_name="__main__")
    assert exit_info.value.code == 0
    assert "serve" in capsys.readouterr().out


def test_seed_file_is_generated(tmp_path: Path) -> None:
    from vtx_simulator import seed
    from vtx_simulator.const import DEFAULT_DATA_PATH

    assert DEFAULT_DATA_PATH.read_text(encoding="utf-8") == seed.dump(seed.build_default_data())
    target = tmp_path / "seed.json"
    assert seed.main([str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == seed.build_default_data()


async def test_control_storm(api: Api, receiver: Receiver) -> None:
    """``storm`` toggles DND at a rate, in the background, and reports each change with its time."""
    assert (await control(api, "GET", "storm"))[0] == 400
    assert (await control(api, "POST", "storm", {"rate": 10, "seconds": 1}))[0] == 400
    assert (await control(api, "POST", "storm", {"userIds": [], "rate": 10, "seconds": 1}))[0] == 400
    assert (await control(api, "POST", "storm", {"userIds": ["1"], "rate": 10, "seconds": 1}))[0] == 400
    assert (await control(api, "POST", "storm", {"userIds": [USER], "rate": 0, "seconds": 1}))[0] == 400
    assert (await control(api, "POST", "storm", {"userIds": [999], "rate": 10, "seconds": 1}))[0] == 404
    await api.subscribe(url=receiver.url, userIds=[USER, OTHER_USER])
    loop = asyncio.get_running_loop()
    before = loop.time()
    assert await control(api, "POST", "storm", {"userIds": [USER, OTHER_USER], "rate": 100, "seconds": 0.2}) == (
        200,
        {"started": True},
    )
    assert (await control(api, "POST", "storm", {"userIds": [USER], "rate": 10, "seconds": 1}))[0] == 400
    while (answer := (await control(api, "GET", "storm"))[1])["running"]:
        assert answer["changes"] == []
        await asyncio.sleep(0.02)
    changes = answer["changes"]
    assert loop.time() - before >= 0.18
    assert len(changes) == 20
    assert [user_id for user_id, _on, _at, _due in changes] == [USER, OTHER_USER] * 10
    times = [at for _user_id, _on, at, _due in changes]
    assert times == sorted(times)
    # No latency: each push is due when its change is made.
    assert all(0 <= due - at < 0.05 for _user_id, _on, at, due in changes)
    # Each line toggles from what it was (off), so it ends where it began after 10 changes.
    assert [on for user_id, on, _at, _due in changes if user_id == USER] == [True, False] * 5
    assert api.sim.feature(USER, "CENTRAL_DND")["status"] == "INACTIVE"
    await receiver.wait(20)
