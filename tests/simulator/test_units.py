"""Unit tests of the simulator's pure parts: clock, seed, assumptions loader, lifecycle."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import sys
from typing import Any

import pytest

from vtx_simulator import Clock, SimError, Simulator, assumed
from vtx_simulator.clock import (
    format_instant,
    format_local_micros,
    format_local_millis,
    format_seconds_z,
    format_spring_timestamp,
    parse_instant,
)
from vtx_simulator.seed import build_default_data
from vtx_simulator.state import SimulatorState, load_data

FIXED = datetime(2024, 11, 4, 11, 31, 12, 329907, tzinfo=UTC)


def test_formats() -> None:
    assert format_instant(datetime(2024, 11, 6, tzinfo=UTC)) == "2024-11-06T00:00:00Z"
    assert format_instant(datetime(2024, 11, 6, 0, 0, 0, 5000, tzinfo=UTC)) == "2024-11-06T00:00:00.005Z"
    assert format_instant(FIXED) == "2024-11-04T11:31:12.329907Z"
    assert format_local_micros(FIXED) == "2024-11-04T12:31:12.329907+01:00"
    assert format_local_millis(FIXED) == "2024-11-04T12:31:12.329+01:00"
    assert format_local_millis(datetime(2024, 9, 27, 15, 26, 53, 273000, tzinfo=UTC)) == "2024-09-27T17:26:53.273+02:00"
    assert format_seconds_z(FIXED) == "2024-11-04T11:31:12Z"
    assert format_spring_timestamp(FIXED) == "2024-11-04T11:31:12.329+00:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-06T00:00:00.000Z", datetime(2024, 11, 6, tzinfo=UTC)),
        ("2024-11-06T01:00:00+01:00", datetime(2024, 11, 6, tzinfo=UTC)),
        ("2024-11-06T01:00:00+0100", datetime(2024, 11, 6, tzinfo=UTC)),
        ("2024-11-06T00:00:00", None),
        ("", None),
        ("nope", None),
        (None, None),
        (5, None),
    ],
)
def test_parse_instant(text: Any, expected: datetime | None) -> None:
    assert parse_instant(text) == expected


def test_clock() -> None:
    clock = Clock(lambda: FIXED)
    assert clock.now() == FIXED
    clock.advance(90)
    assert clock.now() == FIXED + timedelta(seconds=90) and clock.offset == 90
    clock.advance(-30)
    assert clock.offset == 60
    clock.reset()
    assert clock.now() == FIXED
    assert Clock(offset=10).offset == 10


def test_injected_clock_drives_timestamps() -> None:
    sim = Simulator(clock=Clock(lambda: FIXED))
    sub = sim.state.create_subscription(
        {
            "resourceType": "CALL_LOG",
            "notificationUrl": "http://x.example/p",
            "userIds": [176125],
            "expires": "2024-11-06T00:00:00.000Z",
        }
    ).to_json()
    assert sub["created"] == "2024-11-04T12:31:12.329907+01:00"
    assert sub["expires"] == "2024-11-06T00:00:00Z"
    log = sim.make_call(176125, direction="outgoing", number="+41225117902", duration=7)
    assert log["callStart"] == "2024-11-04T11:31:05Z"
    assert sim.presence(176125)["lastC5"]["modifiedOn"] == "2024-11-04T12:31:05.329+01:00"
    sim.advance_clock(2 * 86400)
    assert sim.subscriptions() == []


def test_load_default_and_file(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    data = build_default_data()
    data.pop("lines")
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="lines"):
        Simulator(path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(TypeError):
        load_data(path)
    sim = Simulator(str(Path(__file__).parents[2] / "vtx_simulator" / "data" / "default.json"))
    assert sorted(sim.state.lines) == [176125, 176129, 176133, 176137]


def _broken(mutate: Any) -> dict[str, Any]:
    data = build_default_data()
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: d.pop("server"), TypeError),
        (lambda d: d.update(site={"id": "x", "name": "s"}), TypeError),
        (lambda d: d.pop("enterprise"), TypeError),
        (lambda d: d.update(lines=[]), ValueError),
        (lambda d: d["lines"].append({"userId": "x"}), TypeError),
        (lambda d: d["lines"].append(copy.deepcopy(d["lines"][0])), ValueError),
        (lambda d: d["lines"][1]["features"].append({"id": 1}), ValueError),
        (lambda d: d["lines"][1]["features"].append(copy.deepcopy(d["lines"][0]["features"][0])), ValueError),
    ],
)
def test_bad_seeds(mutate: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Simulator(_broken(mutate))


def test_minimal_line_and_presence_seed() -> None:
    data = build_default_data()
    data["lines"] = [
        {"userId": 1, "phoneNumber": "+41000000001", "presence": {"activity": "OFFLINE"}},
        {"userId": 2, "presence": "weird"},
    ]
    state = SimulatorState(data, Clock(), username="u", application_id="a")
    assert state.lines[1].login_name == "+41000000001@m.ipvoip.ch"
    assert state.lines[1].name == "+41000000001"
    assert state.get_presence(1)["current"]["activity"] == "OFFLINE"
    assert state.get_presence(2)["current"]["activity"] == "ONLINE"
    assert state.list_features(1) == []


def test_put_feature_type_rules() -> None:
    sim = Simulator()
    feature = sim.feature(176125, "CALL_FORWARD_UNCONDITIONAL")
    feature["callForwardUnconditionalData"]["destinationUriRepetition"] = 2.0  # still a number
    feature["newNull"] = None
    assert sim.state.put_feature(feature["id"], feature)["newNull"] is None
    feature["callForwardUnconditionalData"] = ["x"]
    with pytest.raises(SimError):
        sim.state.put_feature(feature["id"], feature)
    for key, value in (("status", None), ("timeTableActive", None), ("level", 1)):
        feature = sim.feature(176125, "CALL_FORWARD_UNCONDITIONAL")
        feature[key] = value
        with pytest.raises(SimError):
            sim.state.put_feature(feature["id"], feature)


def test_make_call_while_in_call_keeps_presence() -> None:
    sim = Simulator()
    sim.start_call(176125, number="+41225117902")
    log = sim.make_call(176125, number="+41791112233", duration=5)
    assert log["duration"] == 5
    assert sim.presence(176125)["current"]["enhancedActivity"] == "IN_A_CALL"
    with pytest.raises(SimError):
        sim.make_call(176125, number="+4179", duration=True)
    assert sim.features(176125)[0]["featName"] == "CALLING_LINE_IDENTIFICATION_RESTRICTION"


def test_unknown_users_everywhere() -> None:
    sim = Simulator()
    for call in (
        lambda: sim.set_dnd(1, True),
        lambda: sim.presence(1),
        lambda: sim.start_call(1, number="+41"),
        lambda: sim.end_call(1),
        lambda: sim.make_call(1, number="+41"),
        lambda: sim.call_logs(1),
        lambda: sim.state.context(1),
    ):
        with pytest.raises((SimError, KeyError)):
            call()


def test_url_properties() -> None:
    sim = Simulator(host="::1", port=1234)
    assert sim.url == "http://[::1]:1234"
    assert sim.base_url == "http://[::1]:1234/openapi/"
    assert sim.control_url == "http://[::1]:1234/_control/"
    assert sim.running is False


async def test_start_twice_and_port_in_use(socket_enabled: None) -> None:
    async with Simulator() as sim:
        port = sim.port
        await sim.start()
        assert sim.port == port
        other = Simulator(port=port)
        with pytest.raises(OSError):
            await other.start()
        assert not other.running
    assert not sim.running
    await sim.stop()


def test_assumptions_loaded_from_the_integration() -> None:
    from custom_components.vtx_voip.api import assumptions

    assert assumed.A.SUBSCRIPTION_MAX_LIFETIME == assumptions.SUBSCRIPTION_MAX_LIFETIME
    assert assumed.load_assumptions() is sys.modules[assumed.MODULE_NAME]


def test_assumptions_fallback_loads_the_file_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name.startswith("custom_components.vtx_voip")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "vtx_simulator._assumptions_standalone", raising=False)

    def broken(name: str) -> Any:
        raise ImportError(name)

    monkeypatch.setattr("importlib.import_module", broken)
    module = assumed.load_assumptions()
    assert module.__name__ == "vtx_simulator._assumptions_standalone"
    assert module.feature_data_key("CENTRAL_DND") == "centralDndData"
    assert assumed.load_assumptions() is module  # cached
    monkeypatch.delitem(sys.modules, "vtx_simulator._assumptions_standalone")


def test_assumptions_fallback_uses_a_submodule_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = object()
    monkeypatch.delitem(sys.modules, assumed.MODULE_NAME, raising=False)

    def half_imported(name: str) -> Any:
        sys.modules[assumed.MODULE_NAME] = sentinel  # type: ignore[assignment]
        raise ImportError(name)

    monkeypatch.setattr("importlib.import_module", half_imported)
    assert assumed.load_assumptions() is sentinel


def test_assumptions_fallback_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delitem(sys.modules, assumed.MODULE_NAME, raising=False)
    monkeypatch.delitem(sys.modules, "vtx_simulator._assumptions_standalone", raising=False)
    monkeypatch.setattr("importlib.import_module", lambda name: (_ for _ in ()).throw(ImportError(name)))
    bad = tmp_path / "assumptions.py"
    bad.write_text("raise RuntimeError('broken')\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        assumed.load_assumptions(bad)
    assert "vtx_simulator._assumptions_standalone" not in sys.modules
    with pytest.raises(ImportError):
        assumed.load_assumptions(tmp_path / "missing.txt")


def test_lazy_package_attributes() -> None:
    import vtx_simulator

    assert vtx_simulator.Simulator is Simulator
    with pytest.raises(AttributeError):
        _ = vtx_simulator.Nothing
