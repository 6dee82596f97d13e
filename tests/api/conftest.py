"""Fixtures: the client talking to a started simulator, and a scriptable raw server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.vtx_voip.api import VtxClient
from vtx_simulator import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME, Simulator

WIKI = Path(__file__).parent.parent / "fixtures" / "wiki"


def wiki(name: str) -> Any:
    """Load one of the wiki's JSON examples."""
    return json.loads((WIKI / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session (sockets to 127.0.0.1 allowed)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A started simulator."""
    simulator = Simulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


def make_client(session: aiohttp.ClientSession, base_url: str, **kwargs: Any) -> VtxClient:
    """A client for the demo account."""
    options: dict[str, Any] = {
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "application_id": DEMO_APPLICATION_ID,
        "base_url": base_url,
    } | kwargs
    return VtxClient(session, **options)


@pytest.fixture
def client(session: aiohttp.ClientSession, sim: Simulator) -> VtxClient:
    """The client of the simulator's demo account."""
    return make_client(session, sim.base_url, request_timeout=5)


@dataclass
class RawServer:
    """A server answering whatever the test sets, recording the requests it saw."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    seen: list[web.Request] = field(default_factory=list)
    seen_bodies: list[bytes] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        self.seen_bodies.append(await request.read())
        return web.Response(status=self.status, body=self.body, headers=self.headers)


@pytest.fixture
async def raw_server(socket_enabled: None) -> AsyncIterator[RawServer]:
    """A scriptable HTTP server on 127.0.0.1."""
    server = RawServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/openapi/"
    yield server
    await runner.cleanup()


Call = Callable[[VtxClient], Awaitable[Any]]
