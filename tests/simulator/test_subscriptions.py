"""Subscriptions: validation, listing, renewal, deletion and expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import re
from typing import Any
import uuid

import pytest

from custom_components.vtx_voip.api.assumptions import SUBSCRIPTION_MAX_LIFETIME
from vtx_simulator import SimError, Simulator

from .conftest import ENTERPRISE, HEADERS, LOGIN, OTHER_USER, USER, Api, iso
from .wiki import SUB_CALL_LOG, SUB_FEATURE_ENTERPRISE, SUB_FEATURE_LOGINS, shape

URL = "http://recovery.ipvoip.ch/openapi"


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "expires": iso(timedelta(days=1)),
        "notificationUrl": URL,
        "resourceType": "FEATURE",
        "userIds": [USER],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


async def test_create_call_log_subscription_like_the_wiki(api: Api) -> None:
    status, answer, _ = await api.request(
        "POST", "v1/subscriptions", body(resourceType="CALL_LOG", userIds=[USER, OTHER_USER, 176133])
    )
    assert status == 200
    sub = answer["subscription"]
    assert shape(sub) == shape(SUB_CALL_LOG)
    assert uuid.UUID(sub["id"]).version == 4
    assert sub["resourceIds"] == [str(USER), str(OTHER_USER), "176133"]
    assert sub["userIds"] == [USER, OTHER_USER, 176133]
    assert sub["creatorId"] == "openapi@291908.bus.ent"
    assert sub["creatorRole"] == "ENTERPRISE_ADMIN"
    assert sub["creatorIsImpersonated"] is False
    assert sub["applicationId"] == "71c177e5-7417-4265-b97f-4595016dceb8"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", sub["expires"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d", sub["created"])
    assert sub["created"] == sub["modified"]


async def test_create_feature_subscriptions_like_the_wiki(api: Api) -> None:
    status, answer, _ = await api.request(
        "POST",
        "v1/subscriptions",
        body(userIds=None, loginNames=[LOGIN], resourceNames=["CALL_FORWARD_UNCONDITIONAL", "CALL_FORWARD_TIMEOUT"]),
    )
    assert status == 200
    assert shape(answer["subscription"]) == shape(SUB_FEATURE_LOGINS)
    status, answer, _ = await api.request("POST", "v1/subscriptions", body(userIds=None, enterpriseNames=[ENTERPRISE]))
    assert status == 200
    assert shape(answer["subscription"]) == shape(SUB_FEATURE_ENTERPRISE)


async def test_expires_written_as_instant(api: Api) -> None:
    status, answer, _ = await api.request("POST", "v1/subscriptions", body(expires="2099-01-01T00:00:00.000Z"))
    assert status == 400  # too far
    when = iso(timedelta(days=2)).split("T")[0] + "T00:00:00.000Z"
    status, answer, _ = await api.request("POST", "v1/subscriptions", body(expires=when))
    assert status == 200
    assert answer["subscription"]["expires"] == when.replace(".000Z", "Z")


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"resourceType": "NOPE"}, "resourceType"),
        ({"resourceType": None}, "resourceType"),
        ({"expires": None}, "expires"),
        ({"expires": "tomorrow"}, "expires"),
        ({"expires": "2030-01-01T00:00:00"}, "expires"),
        ({"expires": 12345}, "expires"),
        ({"expires": "2020-01-01T00:00:00.000Z"}, "future"),
        ({"expires": "EXTRA"}, "lifetime"),
        ({"notificationUrl": None}, "notificationUrl"),
        ({"notificationUrl": "ftp://example.com/x"}, "notificationUrl"),
        ({"notificationUrl": "not a url"}, "notificationUrl"),
        ({"notificationUrl": "http://"}, "notificationUrl"),
        ({"notificationUrl": "http://[::1/x"}, "notificationUrl"),
        ({"notificationUrl": 5}, "notificationUrl"),
        ({"userIds": None}, "required"),
        ({"userIds": []}, "required"),
        ({"userIds": [1]}, "Unknown userIds"),
        ({"userIds": ["176125"]}, "userIds"),
        ({"userIds": [True]}, "userIds"),
        ({"userIds": None, "loginNames": ["+41000@m.ipvoip.ch"]}, "Unknown loginNames"),
        ({"userIds": None, "loginNames": "x"}, "loginNames"),
        ({"userIds": None, "enterpriseNames": ["1.bus.ent"]}, "Unknown enterpriseNames"),
        ({"resourceNames": ["NOT_A_FEATURE"]}, "Unknown resourceNames"),
        ({"resourceType": "CALL_LOG", "resourceNames": ["CENTRAL_DND"]}, "resourceNames"),
        ({"resourceType": "PRESENCE", "resourceNames": ["CENTRAL_DND"]}, "resourceNames"),
    ],
)
async def test_create_validation_400(api: Api, overrides: dict[str, Any], fragment: str) -> None:
    if overrides.get("expires") == "EXTRA":
        overrides["expires"] = iso(SUBSCRIPTION_MAX_LIFETIME + timedelta(minutes=1))
    status, answer, _ = await api.request("POST", "v1/subscriptions", body(**overrides))
    assert status == 400, answer
    assert answer["error"] == "Bad Request"
    assert fragment in answer["message"]
    assert (await api.get("v1/subscriptions"))[1] == {"subscriptions": []}


@pytest.mark.parametrize("data", ["[]", "{", ""])
async def test_create_invalid_json_400(api: Api, data: str) -> None:
    status, _, _ = await api.request("POST", "v1/subscriptions", data=data)
    assert status == 400


async def test_max_lifetime_accepted(api: Api) -> None:
    status, _, _ = await api.request(
        "POST", "v1/subscriptions", body(expires=iso(SUBSCRIPTION_MAX_LIFETIME - timedelta(seconds=5)))
    )
    assert status == 200


async def test_expires_with_offset_accepted(api: Api) -> None:
    status, answer, _ = await api.request("POST", "v1/subscriptions", body(expires="2999-01-01T00:00:00+0100"))
    assert status == 400
    status, answer, _ = await api.request(
        "POST", "v1/subscriptions", body(expires=iso(timedelta(hours=5))[:-1] + "+00:00")
    )
    assert status == 200
    assert answer["subscription"]["expires"].endswith("Z")


async def test_list_get_patch_delete(api: Api) -> None:
    sub = await api.subscribe()
    other = await api.subscribe("CALL_LOG")
    status, listing, _ = await api.get("v1/subscriptions")
    assert status == 200
    assert listing == {"subscriptions": [sub, other]}
    status, got, _ = await api.get(f"v1/subscriptions/{sub['id']}")
    assert (status, got) == (200, {"subscription": sub})

    api.sim.advance_clock(2)
    new_expires = iso(timedelta(days=2), api.sim.clock.now())
    status, renewed, _ = await api.request("PATCH", f"v1/subscriptions/{sub['id']}", {"expires": new_expires})
    assert status == 200
    assert renewed["subscription"]["expires"] == new_expires.replace(".000Z", "Z")
    assert renewed["subscription"]["modified"] != sub["modified"]
    assert renewed["subscription"]["created"] == sub["created"]

    status, _, _ = await api.request("PATCH", f"v1/subscriptions/{sub['id']}", {"expires": "2020-01-01T00:00:00Z"})
    assert status == 400
    status, _, _ = await api.request("PATCH", f"v1/subscriptions/{sub['id']}", [1])
    assert status == 400
    status, _, _ = await api.request("PATCH", f"v1/subscriptions/{sub['id']}", {})
    assert status == 400

    async with api.session.delete(api.sim.base_url + f"v1/subscriptions/{sub['id']}", headers=HEADERS) as resp:
        assert resp.status == 204
        assert await resp.read() == b""
    assert (await api.get(f"v1/subscriptions/{sub['id']}"))[0] == 404
    assert (await api.request("DELETE", f"v1/subscriptions/{sub['id']}"))[0] == 404
    assert (await api.request("PATCH", f"v1/subscriptions/{sub['id']}", {"expires": new_expires}))[0] == 404
    assert (await api.get("v1/subscriptions"))[1] == {"subscriptions": [other]}


async def test_put_on_subscription_405(api: Api) -> None:
    sub = await api.subscribe()
    status, _, _ = await api.request("PUT", f"v1/subscriptions/{sub['id']}", {"expires": sub["expires"]})
    assert status == 405


async def test_expiry_by_clock_advance(api: Api) -> None:
    sub = await api.subscribe()
    api.sim.clock.advance(23 * 3600)
    assert (await api.get(f"v1/subscriptions/{sub['id']}"))[0] == 200
    api.sim.clock.advance(3600)  # reaches expires: gone on the next request
    assert (await api.get(f"v1/subscriptions/{sub['id']}"))[0] == 404
    assert (await api.get("v1/subscriptions"))[1] == {"subscriptions": []}


async def test_expiry_by_periodic_purge(api: Api) -> None:
    await api.subscribe()
    api.sim.clock.advance(2 * 86400)
    for _ in range(100):
        if not api.sim.state.subscriptions:
            break
        await asyncio.sleep(0.02)
    assert api.sim.state.subscriptions == {}


async def test_expire_control(api: Api) -> None:
    sub = await api.subscribe()
    api.sim.expire_subscription(sub["id"])
    assert api.sim.subscriptions() == []
    with pytest.raises(SimError) as err:
        api.sim.expire_subscription(sub["id"])
    assert err.value.status == 404


async def test_renew_after_clock_advance_keeps_it(api: Api) -> None:
    sub = await api.subscribe()
    api.sim.advance_clock(20 * 3600)
    status, _, _ = await api.request(
        "PATCH",
        f"v1/subscriptions/{sub['id']}",
        {"expires": iso(timedelta(days=3) - timedelta(seconds=1), api.sim.clock.now())},
    )
    assert status == 200
    api.sim.advance_clock(30 * 3600)
    assert (await api.get(f"v1/subscriptions/{sub['id']}"))[0] == 200


async def test_presence_subscription_switch(api: Api) -> None:
    sub = await api.subscribe("PRESENCE")
    assert sub["resourceType"] == "PRESENCE"
    api.sim.presence_push_enabled = False
    status, answer, _ = await api.request("POST", "v1/subscriptions", body(resourceType="PRESENCE"))
    assert status == 400
    assert "PRESENCE" in answer["message"]
    api.sim.presence_push_enabled = True
    assert (await api.request("POST", "v1/subscriptions", body(resourceType="PRESENCE")))[0] == 200


async def test_presence_refused_from_start(socket_enabled: None) -> None:
    sim = Simulator(presence_push=False)
    assert sim.presence_push_enabled is False
    with pytest.raises(SimError):
        sim.state.create_subscription(body(resourceType="PRESENCE"))
    sim.reset()
    assert sim.presence_push_enabled is False
