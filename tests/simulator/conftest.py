"""Fixtures of the simulator tests: a started simulator, an API session and a push receiver.

pytest-homeassistant-custom-component blocks sockets unless a test asks for
``socket_enabled``; it then allows connections to 127.0.0.1 only, which is all we use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from vtx_simulator import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME, Simulator

USER = 176125
OTHER_USER = 176129
ENTERPRISE = "291908.bus.ent"
LOGIN = "+41225662194@m.ipvoip.ch"


def basic(username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD) -> str:
    """Return an HTTP Basic Authorization value."""
    return aiohttp.encode_basic_auth(username, password)


HEADERS = {"Authorization": basic(), "X-C5-Application": DEMO_APPLICATION_ID, "Content-Type": "application/json"}


def iso(delta: timedelta, now: datetime | None = None) -> str:
    """Return an instant ``delta`` from now in the client's format (ms, Z)."""
    value = (now or datetime.now(UTC)) + delta
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Api:
    """A thin JSON client of the simulated API (not the project's client)."""

    def __init__(self, session: aiohttp.ClientSession, sim: Simulator) -> None:
        self.session = session
        self.sim = sim

    async def request(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, Any, Any]:
        data = kwargs.pop("data", None)
        if body is not None:
            data = json.dumps(body)
        async with self.session.request(
            method, self.sim.base_url + path, data=data, headers=headers if headers is not None else HEADERS, **kwargs
        ) as response:
            text = await response.text()
            try:
                payload = json.loads(text) if text else None
            except ValueError:
                payload = text
            return response.status, payload, response.headers

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        return await self.request("GET", path, **kwargs)

    async def subscribe(
        self, resource_type: str = "FEATURE", url: str = "http://127.0.0.1:9/push", **extra: Any
    ) -> Any:
        body = {"expires": iso(timedelta(days=1)), "notificationUrl": url, "resourceType": resource_type, **extra}
        if not any(key in extra for key in ("userIds", "loginNames", "enterpriseNames")):
            body["userIds"] = [USER]
        status, payload, _ = await self.request("POST", "v1/subscriptions", body)
        assert status == 200, payload
        return payload["subscription"]


@dataclass
class Receiver:
    """A tiny push receiver on 127.0.0.1."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    event: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        text = await request.text()
        self.requests.append(
            {"path": request.path, "headers": dict(request.headers), "text": text, "json": json.loads(text)}
        )
        self.event.set()
        return web.Response(status=self.status)

    @property
    def bodies(self) -> list[Any]:
        return [item["json"] for item in self.requests]

    async def wait(self, count: int, within: float = 5.0) -> list[Any]:
        async with asyncio.timeout(within):
            while len(self.requests) < count:
                self.event.clear()
                await self.event.wait()
        return self.bodies


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    simulator = Simulator(purge_interval=0.05)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, sim)


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", recv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recv.url = f"http://127.0.0.1:{port}/openapi"
    try:
        yield recv
    finally:
        await runner.cleanup()
