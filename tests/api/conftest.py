"""Fixtures: the client talking to a started simulator, and a scriptable raw server.

Plain async tests: sockets are allowed (``socket_enabled``) but everything listens on and
connects to 127.0.0.1 only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import copy
from dataclasses import dataclass, field
import json
from pathlib import Path
import socket
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.vtx_voip.api import VtxClient
from vtx_simulator import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME, Simulator

WIKI = Path(__file__).parent.parent / "fixtures" / "wiki"


def wiki(name: str) -> Any:
    """Load one of the wiki's JSON examples (a fresh copy each time)."""
    return copy.deepcopy(json.loads((WIKI / f"{name}.json").read_text(encoding="utf-8")))


def wiki_names() -> set[str]:
    """The names of every wiki example on disk."""
    return {path.stem for path in WIKI.glob("*.json")}


def make_client(session: aiohttp.ClientSession, base_url: str, **kwargs: Any) -> VtxClient:
    """A client for the demo account (keyword arguments override)."""
    options: dict[str, Any] = {
        "username": DEMO_USERNAME,
        "password": DEMO_PASSWORD,
        "application_id": DEMO_APPLICATION_ID,
        "base_url": base_url,
    } | kwargs
    return VtxClient(session, **options)


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session (sockets to 127.0.0.1 allowed)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A started simulator on 127.0.0.1, on a free port."""
    simulator = Simulator(port=0)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def client(session: aiohttp.ClientSession, sim: Simulator) -> VtxClient:
    """The client of the simulator's demo account."""
    return make_client(session, sim.base_url, request_timeout=5)


@dataclass
class Seen:
    """One request the raw server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The request body, decoded."""
        return json.loads(self.body)


@dataclass
class RawServer:
    """A server answering whatever the test sets, recording the requests it saw."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Answer ``body`` (JSON unless bytes) with ``status`` from now on."""
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.status = status
        self.headers = headers or {}

    @property
    def last(self) -> Seen:
        """The last request received."""
        return self.seen[-1]

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        return web.Response(status=self.status, body=self.body, headers=self.headers)


@pytest.fixture
async def raw_server(socket_enabled: None) -> AsyncIterator[RawServer]:
    """A scriptable HTTP server on 127.0.0.1; its ``url`` is the API base URL."""
    server = RawServer()
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/openapi/"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
def closed_port(socket_enabled: None) -> int:
    """A port of 127.0.0.1 that was free a moment ago and on which nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
