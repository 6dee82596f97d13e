"""The simulated API: authentication, errors, features, presence."""

from __future__ import annotations

import json
import re

import pytest

from vtx_simulator import DEMO_APPLICATION_ID, Simulator

from .conftest import HEADERS, USER, Api, basic
from .wiki import CFU_FEATURE, PRESENCE, SERVER, shape

ERROR_KEYS = ["timestamp", "status", "error", "message", "path"]
CFU_ID = 2871019
DND_ID = 2871094


async def test_server_info_exactly_the_wiki(api: Api) -> None:
    status, body, headers = await api.get("v1/system/server")
    assert status == 200
    assert body == SERVER
    assert list(body) == list(SERVER)
    assert headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-C5-Application": DEMO_APPLICATION_ID},
        {"Authorization": basic(password="wrong"), "X-C5-Application": DEMO_APPLICATION_ID},
        {"Authorization": basic(username="openapi@1.bus.ent"), "X-C5-Application": DEMO_APPLICATION_ID},
        {"Authorization": "Basic not-base64!", "X-C5-Application": DEMO_APPLICATION_ID},
        {"Authorization": "Bearer abc", "X-C5-Application": DEMO_APPLICATION_ID},
    ],
)
async def test_bad_credentials_401(api: Api, headers: dict[str, str]) -> None:
    status, body, response_headers = await api.get("v1/system/server", headers=headers)
    assert status == 401
    assert list(body) == ERROR_KEYS
    assert body["status"] == 401
    assert body["error"] == "Unauthorized"
    assert body["path"] == "/openapi/v1/system/server"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", body["timestamp"])
    assert response_headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("application", [None, "", "00000000-0000-0000-0000-000000000000"])
async def test_bad_application_403(api: Api, application: str | None) -> None:
    headers = {"Authorization": basic()}
    if application is not None:
        headers["X-C5-Application"] = application
    status, body, _ = await api.get("v1/users/176125/feat", headers=headers)
    assert status == 403
    assert list(body) == ERROR_KEYS
    assert (body["status"], body["error"], body["path"]) == (403, "Forbidden", "/openapi/v1/users/176125/feat")


async def test_unknown_path_needs_auth_then_404(api: Api) -> None:
    status, body, _ = await api.get("v1/nothing", headers={})
    assert status == 401
    status, body, _ = await api.get("v1/nothing")
    assert status == 404
    assert list(body) == ERROR_KEYS and body["status"] == 404 and body["error"] == "Not Found"


async def test_other_paths_outside_api(api: Api) -> None:
    async with api.session.get(api.sim.url + "/elsewhere") as response:
        assert response.status == 404


async def test_features_list(api: Api) -> None:
    status, body, _ = await api.get(f"v1/users/{USER}/feat")
    assert status == 200
    features = body["features"]
    assert len(features) == 19
    assert len({feature["id"] for feature in features}) == 19
    names = [feature["featName"] for feature in features]
    assert names[0] == "CALLING_LINE_IDENTIFICATION_RESTRICTION" and names[-1] == "CALL_FORWARD_UNCONDITIONAL"
    cfu = next(feature for feature in features if feature["featName"] == "CALL_FORWARD_UNCONDITIONAL")
    assert shape(cfu) == shape(CFU_FEATURE)
    dnd = next(feature for feature in features if feature["featName"] == "CENTRAL_DND")
    assert dnd["centralDndData"] == {"condition": "ALWAYS", "mode": "USER"}
    active = {feature["featName"] for feature in features if feature["status"] == "ACTIVE"}
    assert active == {"CALL_WAITING", "CALL_HOLD", "CALL_TRANSFER", "PRESENCE"}
    cfto = next(feature for feature in features if feature["featName"] == "CALL_FORWARD_TIMEOUT")
    assert cfto["callForwardTimeoutData"]["type"] == "CallForwardTimeout"
    assert cfto["callForwardTimeoutData"]["timeout"] == 20


async def test_feature_ids_unique_across_lines(api: Api) -> None:
    ids: list[int] = []
    for user in (176125, 176129, 176133, 176137):
        status, body, _ = await api.get(f"v1/users/{user}/feat")
        assert status == 200
        ids += [feature["id"] for feature in body["features"]]
        assert {feature["userId"] for feature in body["features"]} == {user}
    assert len(ids) == len(set(ids)) == 76


# Before platform 7.8 a login name (or anything not a userId) is an unknown user: 404.
@pytest.mark.parametrize(("path", "status"), [("v1/users/1/feat", 404), ("v1/users/abc/feat", 404)])
async def test_features_of_unknown_user(api: Api, path: str, status: int) -> None:
    got, body, _ = await api.get(path)
    assert got == status
    assert body["status"] == status


async def test_get_feature(api: Api) -> None:
    status, body, _ = await api.get(f"v1/feat/{CFU_ID}")
    assert status == 200
    assert list(body) == ["feature"]
    assert body["feature"]["featName"] == "CALL_FORWARD_UNCONDITIONAL"
    assert shape(body["feature"]) == shape(CFU_FEATURE)
    assert (await api.get("v1/feat/1"))[0] == 404
    assert (await api.get("v1/feat/x"))[0] == 400


async def test_put_whole_feature(api: Api) -> None:
    _, body, _ = await api.get(f"v1/feat/{CFU_ID}")
    feature = body["feature"]
    feature["status"] = "ACTIVE"
    feature["callForwardUnconditionalData"]["destinationUri"] = "+41791234567"
    status, answer, _ = await api.request("PUT", f"v1/feat/{CFU_ID}", feature)
    assert status == 200
    assert answer == {"feature": feature}
    assert (await api.get(f"v1/feat/{CFU_ID}"))[1] == {"feature": feature}


async def test_put_wrapped_feature_and_unknown_keys_kept(api: Api) -> None:
    _, body, _ = await api.get(f"v1/feat/{DND_ID}")
    body["feature"]["status"] = "ACTIVE"
    body["feature"]["somethingNew"] = {"x": 1}
    body["feature"]["centralDndData"]["extra"] = True
    status, answer, _ = await api.request("PUT", f"v1/feat/{DND_ID}", body)
    assert status == 200
    assert answer["feature"]["somethingNew"] == {"x": 1}
    assert answer["feature"]["centralDndData"] == {"condition": "ALWAYS", "mode": "USER", "extra": True}
    assert list(answer["feature"])[-1] == "somethingNew"


async def test_put_same_feature_is_fine(api: Api) -> None:
    _, body, _ = await api.get(f"v1/feat/{DND_ID}")
    status, answer, _ = await api.request("PUT", f"v1/feat/{DND_ID}", body["feature"])
    assert status == 200 and answer == body


def _mutations() -> list[tuple[str, object]]:
    return [
        ("missing status", lambda f: f.pop("status")),
        ("missing level", lambda f: f.pop("level")),
        ("missing data block", lambda f: f.pop("callForwardUnconditionalData")),
        ("missing data key", lambda f: f["callForwardUnconditionalData"].pop("destinationUri")),
        ("changed id", lambda f: f.update(id=2871014)),
        ("id as string", lambda f: f.update(id=str(CFU_ID))),
        ("changed featName", lambda f: f.update(featName="CENTRAL_DND")),
        ("changed userId", lambda f: f.update(userId=176129)),
        ("bad status", lambda f: f.update(status="ENABLED")),
        ("lower-case status", lambda f: f.update(status="active")),
        ("wrong type", lambda f: f.update(timeTableActive="no")),
        ("data not an object", lambda f: f.update(callForwardUnconditionalData="x")),
    ]


@pytest.mark.parametrize(("label", "mutate"), _mutations(), ids=[label for label, _ in _mutations()])
async def test_put_partial_or_changed_feature_400(api: Api, label: str, mutate: object) -> None:
    _, body, _ = await api.get(f"v1/feat/{CFU_ID}")
    feature = body["feature"]
    mutate(feature)  # type: ignore[operator]
    status, answer, _ = await api.request("PUT", f"v1/feat/{CFU_ID}", feature)
    assert status == 400, label
    assert list(answer) == ERROR_KEYS and answer["status"] == 400 and answer["error"] == "Bad Request"
    assert (await api.get(f"v1/feat/{CFU_ID}"))[1]["feature"]["status"] == "INACTIVE"


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", "", "null"])
async def test_put_invalid_body_400(api: Api, data: str) -> None:
    status, answer, _ = await api.request("PUT", f"v1/feat/{CFU_ID}", data=data)
    assert status == 400
    assert answer["status"] == 400


async def test_put_needs_json_content_type(api: Api) -> None:
    _, body, _ = await api.get(f"v1/feat/{CFU_ID}")
    headers = {**HEADERS, "Content-Type": "text/plain"}
    status, answer, _ = await api.request("PUT", f"v1/feat/{CFU_ID}", body["feature"], headers=headers)
    assert status == 415
    assert answer["error"] == "Unsupported Media Type"


async def test_put_unknown_feature_404(api: Api) -> None:
    status, _, _ = await api.request("PUT", "v1/feat/5", {"id": 5})
    assert status == 404


@pytest.mark.parametrize("method", ["PATCH", "POST", "DELETE"])
async def test_other_methods_on_feature_405(api: Api, method: str) -> None:
    _, body, _ = await api.get(f"v1/feat/{CFU_ID}")
    status, answer, headers = await api.request(method, f"v1/feat/{CFU_ID}", {"status": "ACTIVE"})
    assert status == 405
    assert list(answer) == ERROR_KEYS and answer["error"] == "Method Not Allowed"
    assert "PUT" in headers["Allow"]
    assert (await api.get(f"v1/feat/{CFU_ID}"))[1] == body


async def test_presence_found_shape(api: Api) -> None:
    status, body, _ = await api.get(f"v1/users/{USER}/presence")
    assert status == 200
    assert shape(body) == shape(PRESENCE)
    assert body["userId"] == USER and body["domainId"] == 16321
    assert body["thirdParty"] == {"activity": "UNKNOWN", "enhancedActivity": "NONE"}
    assert body["current"]["enhancedActivity"] == "NONE"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", body["c5"]["modifiedOn"])
    assert (await api.get("v1/users/42/presence"))[0] == 404


async def test_output_is_pretty_printed(api: Api) -> None:
    async with api.session.get(api.sim.base_url + "v1/system/server", headers=HEADERS) as response:
        text = await response.text()
    assert text.startswith('{\n  "buildCustomer" : "Release",')
    assert json.loads(text) == SERVER


async def test_custom_credentials(socket_enabled: None) -> None:
    import aiohttp

    sim = Simulator(username="u", password="p", application_id="app", port=0)
    async with sim, aiohttp.ClientSession() as session:
        headers = {"Authorization": basic("u", "p"), "X-C5-Application": "app"}
        async with session.get(sim.base_url + "v1/system/server", headers=headers) as response:
            assert response.status == 200
        async with session.get(sim.base_url + "v1/system/server", headers=HEADERS) as response:
            assert response.status == 401


async def test_unexpected_error_is_a_spring_500(api: Api) -> None:
    api.sim.state.server_info = {"unserialisable": object()}
    status, body, _ = await api.get("v1/system/server")
    assert status == 500
    assert body["error"] == "Internal Server Error" and body["path"] == "/openapi/v1/system/server"
