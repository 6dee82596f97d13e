"""Fault injection on the API."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from vtx_simulator import ApiFault

from .conftest import HEADERS, Api


async def test_status_fault_count(api: Api) -> None:
    api.sim.fail_next(503, count=2)
    for _ in range(2):
        status, body, _ = await api.get("v1/system/server")
        assert status == 503
        assert list(body) == ["timestamp", "status", "error", "message", "path"]
        assert body["error"] == "Service Unavailable"
    assert (await api.get("v1/system/server"))[0] == 200


async def test_fault_applies_before_auth(api: Api) -> None:
    api.sim.fail_next(500)
    assert (await api.get("v1/system/server", headers={}))[0] == 500
    assert (await api.get("v1/system/server", headers={}))[0] == 401


async def test_429_retry_after(api: Api) -> None:
    api.sim.fail_next(429, retry_after=30)
    status, body, headers = await api.get("v1/users/176125/feat")
    assert status == 429 and body["error"] == "Too Many Requests"
    assert headers["Retry-After"] == "30"
    api.sim.fail_next(429, retry_after=1.5)
    assert (await api.get("v1/users/176125/feat"))[2]["Retry-After"] == "1.5"
    api.sim.fail_next(429)
    assert "Retry-After" not in (await api.get("v1/users/176125/feat"))[2]


async def test_unusual_status_reason(api: Api) -> None:
    api.sim.fail_next(599)
    status, body, _ = await api.get("v1/system/server")
    assert status == 599 and body["error"] == "Error"


async def test_hang_then_answer(api: Api) -> None:
    api.sim.hang_next(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await api.get("v1/system/server"))[0] == 200
    assert loop.time() - started >= 0.3


async def test_hang_times_out_client_and_stop_is_clean(api: Api) -> None:
    api.sim.hang_next(30)
    with pytest.raises(TimeoutError):
        await api.get("v1/system/server", timeout=aiohttp.ClientTimeout(total=0.2))
    await api.sim.stop()


async def test_malformed(api: Api) -> None:
    api.sim.malformed_next()
    async with api.session.get(api.sim.base_url + "v1/users/176125/feat", headers=HEADERS) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        with pytest.raises(ValueError):
            await response.json()
    assert (await api.get("v1/users/176125/feat"))[0] == 200


async def test_until_cleared_and_filters(api: Api) -> None:
    api.sim.add_fault("status", status=502, count=None, method="PUT")
    api.sim.add_fault("status", status=504, count=None, path="/openapi/v1/users/{user_id}/presence")
    api.sim.add_fault("status", status=500, count=None, path="subscriptions")
    assert (await api.get("v1/feat/2871094"))[0] == 200
    feature = (await api.get("v1/feat/2871094"))[1]["feature"]
    for _ in range(3):
        assert (await api.request("PUT", "v1/feat/2871094", feature))[0] == 502
        assert (await api.get("v1/users/176125/presence"))[0] == 504
        assert (await api.get("v1/subscriptions"))[0] == 500
    assert len(api.sim.api_faults.to_json()) == 3
    api.sim.clear_faults()
    assert (await api.request("PUT", "v1/feat/2871094", feature))[0] == 200


async def test_requests_are_counted(api: Api) -> None:
    api.sim.reset_request_counts()
    api.sim.fail_next(503)
    await api.get("v1/system/server")
    await api.get("v1/users/176125/feat")
    await api.get("v1/users/176129/feat")
    await api.request("PATCH", "v1/feat/1", {})
    await api.get("v1/unknown")
    assert api.sim.request_counts() == {
        "GET /openapi/v1/system/server": 1,
        "GET /openapi/v1/unknown": 1,
        "GET /openapi/v1/users/{user_id}/feat": 2,
        "PATCH /openapi/v1/feat/1": 1,
    }
    assert api.sim.total_requests() == 5
    async with api.session.get(api.sim.control_url + "state") as response:
        assert response.status == 200
    assert api.sim.total_requests() == 5
    api.sim.reset_request_counts()
    assert api.sim.request_counts() == {}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "explode"},
        {"kind": "status", "count": 0},
        {"kind": "status", "status": 99},
        {"kind": "hang", "seconds": -1},
        {"kind": "status", "retry_after": -1},
    ],
)
def test_fault_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ApiFault(**kwargs)  # type: ignore[arg-type]
