"""The simulator's platform version: login names on user paths from 7.8 on, 404 before."""

from __future__ import annotations

import pytest

from vtx_simulator import Simulator, cli

from .conftest import ENTERPRISE, LOGIN, OTHER_USER, USER, Api, Receiver

OTHER_LOGIN = "+41225662195@m.ipvoip.ch"


async def test_login_paths_404_before_78(api: Api) -> None:
    """The wiki's server (7.7.2.12) takes userIds only: a login name is an unknown user."""
    assert (await api.get("v1/system/server"))[1]["buildVersion"] == "7.7.2.12"
    for path in (f"v1/users/{LOGIN}/feat", f"v1/users/{LOGIN}/presence", "v1/users/%2B41225662194@m.ipvoip.ch/feat"):
        status, body, _ = await api.get(path)
        assert status == 404, path
        assert body["status"] == 404 and body["path"].startswith("/openapi/v1/users/")
    assert (await api.get(f"v1/users/{USER}/feat"))[0] == 200


async def test_login_paths_from_78(api: Api) -> None:
    """From 7.8 the login name (encoded or not, domain in any case) stands for the userId."""
    api.sim.version = "7.8.0.1"
    assert api.sim.resolves_login_names
    assert (await api.get("v1/system/server"))[1]["buildVersion"] == "7.8.0.1"
    status, body, _ = await api.get("v1/users/%2B41225662194@M.IPVOIP.CH/feat")
    assert status == 200
    assert {feature["userId"] for feature in body["features"]} == {USER}
    status, body, _ = await api.get(f"v1/users/{OTHER_LOGIN}/presence")
    assert status == 200 and body["userId"] == OTHER_USER
    status, body, _ = await api.get(f"v1/users/{LOGIN}/calllogs")
    assert status == 200 and body == []
    assert (await api.get("v1/users/+41225669999@m.ipvoip.ch/feat"))[0] == 404
    # The version survives a reset.
    api.sim.reset()
    assert api.sim.version == "7.8.0.1"


async def test_version_by_constructor_control_and_cli(socket_enabled: None) -> None:
    sim = Simulator(version="7.9.1.0")
    assert sim.version == "7.9.1.0" and sim.resolves_login_names
    args = cli.build_parser().parse_args(["serve", "--version", "7.8.2.0"])
    assert args.version == "7.8.2.0"
    assert cli.ctl_request(cli.build_parser().parse_args(["ctl", "version"])) == ("GET", "version", None)
    assert cli.ctl_request(cli.build_parser().parse_args(["ctl", "version", "7.8"])) == (
        "POST",
        "version",
        {"buildVersion": "7.8"},
    )
    assert "buildVersion    7.8.2.0" in cli.banner("u", "a", "c", [], version="7.8.2.0")


async def test_version_control_api(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.async_main(["ctl", "--url", api.sim.url, "version", "7.8.0.0"]) == 0
    assert '"loginNames": true' in capsys.readouterr().out
    assert api.sim.version == "7.8.0.0"
    assert await cli.async_main(["ctl", "--url", api.sim.url, "version"]) == 0
    assert '"buildVersion": "7.8.0.0"' in capsys.readouterr().out


async def test_enterprise_subscription_pushes_every_user(api: Api, receiver: Receiver) -> None:
    """A FEATURE subscription by enterpriseNames gets every user's changes, each with its own context."""
    sub = await api.subscribe(url=receiver.url, enterpriseNames=[ENTERPRISE])
    assert "userIds" not in sub and sub["enterpriseNames"] == [ENTERPRISE]
    for user_id in (USER, OTHER_USER, 176133, 176137):
        assert api.sim.set_dnd(user_id, True)
    bodies = await receiver.wait(4)
    contexts = [body["featureEvents"][0]["context"] for body in bodies]
    assert [context["user"] for context in contexts] == [
        {"id": 176125, "name": "+41225662194@m.ipvoip.ch"},
        {"id": 176129, "name": "+41225662195@m.ipvoip.ch"},
        {"id": 176133, "name": "+41225662196@m.ipvoip.ch"},
        {"id": 176137, "name": "+41225662197@m.ipvoip.ch"},
    ]
    assert all(context["enterprise"] == {"id": 16317, "name": ENTERPRISE} for context in contexts)
    assert all(set(context) == {"user", "site", "enterprise", "serviceProvider"} for context in contexts)
    assert all(body["subscriptionId"] == sub["id"] for body in bodies)
