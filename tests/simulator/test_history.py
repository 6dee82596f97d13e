"""Call history: the INFERRED endpoint, filters and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.vtx_voip.api.assumptions import (
    CALL_HISTORY_PAGE_SIZE,
    CALL_HISTORY_PARAM_FROM,
    CALL_HISTORY_PARAM_LIMIT,
    CALL_HISTORY_PARAM_OFFSET,
    CALL_HISTORY_PARAM_TO,
    CALL_HISTORY_PATH,
)
from vtx_simulator import Simulator

from .conftest import OTHER_USER, USER, Api
from .wiki import CALL_LOG_PUSH, shape

PATH = CALL_HISTORY_PATH.format(user_id=USER)


def z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_empty_history(api: Api) -> None:
    status, body, _ = await api.get(PATH)
    assert (status, body) == (200, [])


async def test_newest_first_and_shape(api: Api) -> None:
    sim = api.sim
    first = sim.make_call(USER, direction="outgoing", number="+41225117902", duration=7)
    sim.advance_clock(60)
    second = sim.make_call(USER, direction="incoming", number="+41791112233", duration=0, missed=True)
    sim.make_call(OTHER_USER, number="+41791112233", duration=3)
    status, body, _ = await api.get(PATH)
    assert status == 200
    assert body == [second, first]
    assert shape(body[0]) == shape(CALL_LOG_PUSH["callLogEvents"][0]["callLog"])
    assert sim.call_logs(USER) == [second, first]


async def test_from_to_filters(api: Api) -> None:
    sim = api.sim
    logs = []
    for _ in range(5):
        logs.append(sim.make_call(USER, number="+41791112233", duration=10))
        sim.advance_clock(3600)
    starts = [datetime.fromisoformat(log["callStart"]) for log in logs]
    params = {CALL_HISTORY_PARAM_FROM: z(starts[1]), CALL_HISTORY_PARAM_TO: z(starts[3])}
    status, body, _ = await api.get(PATH, params=params)
    assert status == 200
    assert [log["id"] for log in body] == [logs[3]["id"], logs[2]["id"], logs[1]["id"]]
    status, body, _ = await api.get(PATH, params={CALL_HISTORY_PARAM_FROM: z(starts[4] + timedelta(seconds=1))})
    assert body == []
    status, body, _ = await api.get(PATH, params={CALL_HISTORY_PARAM_TO: z(starts[0])})
    assert [log["id"] for log in body] == [logs[0]["id"]]
    # offsets are accepted too
    status, body, _ = await api.get(PATH, params={CALL_HISTORY_PARAM_FROM: "2000-01-01T01:00:00+01:00"})
    assert len(body) == 5


async def test_paging(api: Api) -> None:
    sim = api.sim
    for index in range(CALL_HISTORY_PAGE_SIZE + 5):
        sim.make_call(USER, number=f"+4179{index:07d}", duration=1)
        sim.advance_clock(2)
    status, page, _ = await api.get(PATH)
    assert status == 200 and len(page) == CALL_HISTORY_PAGE_SIZE
    assert page[0]["callPartyNumber"] == f"+4179{CALL_HISTORY_PAGE_SIZE + 4:07d}"
    status, rest, _ = await api.get(PATH, params={CALL_HISTORY_PARAM_OFFSET: str(CALL_HISTORY_PAGE_SIZE)})
    assert len(rest) == 5 and rest[-1]["callPartyNumber"] == "+41790000000"
    status, capped, _ = await api.get(PATH, params={CALL_HISTORY_PARAM_LIMIT: "1000"})
    assert len(capped) == CALL_HISTORY_PAGE_SIZE
    status, small, _ = await api.get(PATH, params={CALL_HISTORY_PARAM_LIMIT: "3", CALL_HISTORY_PARAM_OFFSET: "1"})
    assert [log["id"] for log in small] == [log["id"] for log in page[1:4]]


@pytest.mark.parametrize(
    "params",
    [
        {CALL_HISTORY_PARAM_FROM: "yesterday"},
        {CALL_HISTORY_PARAM_TO: "2024-01-01"},
        {CALL_HISTORY_PARAM_LIMIT: "0"},
        {CALL_HISTORY_PARAM_LIMIT: "x"},
        {CALL_HISTORY_PARAM_OFFSET: "-1"},
    ],
)
async def test_bad_parameters_400(api: Api, params: dict[str, str]) -> None:
    status, body, _ = await api.get(PATH, params=params)
    assert status == 400
    assert body["status"] == 400


async def test_unknown_user_404(api: Api) -> None:
    assert (await api.get(CALL_HISTORY_PATH.format(user_id=1)))[0] == 404


async def test_seeded_call_logs(socket_enabled: None) -> None:
    from vtx_simulator.seed import build_default_data

    data = build_default_data()
    data["lines"][0]["callLogs"] = [
        {
            "id": "741f1e6a-8fb1-441e-9e0c-e57c68246d5d",
            "callStart": "2024-09-27T15:26:45Z",
            "duration": 7,
            "direction": "OUTGOING",
            "callType": "VOICE",
            "status": 804,
            "callPartyNumber": "+41225117902",
            "callPartyDialNumber": "0225117902",
        },
        {"id": "broken", "callStart": "not a date"},
    ]
    sim = Simulator(data)
    logs = sim.state.call_history(USER, None, None, 10, 0)
    assert [log["id"] for log in logs] == ["741f1e6a-8fb1-441e-9e0c-e57c68246d5d"]
    assert logs[0]["userId"] == USER
