"""A real browser toggles DND on the Front desk dashboard; the simulator sees the write.

Runs only with VTX_E2E=1 (scripts/e2e sets it and installs Chromium and Playwright).
It starts the simulator and Home Assistant as scripts/develop does, in a temporary
config folder (port 8123 and 8099 when free, others otherwise), sets them up with
scripts/develop_setup.py, then drives Debian's Chromium with Playwright. Its last
screenshot is the README's picture, docs/dashboard.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import socket
import sys
import tempfile
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("VTX_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(os.environ.get("VTX_SCREENSHOT", ROOT / "docs" / "dashboard.png"))
ROOM_101, ROOM_102, ROOM_103, FRONT_DESK = 176125, 176129, 176133, 176137
# Wide enough for the four lines side by side; high enough for the page without scrolling.
VIEWPORT: ViewportSize = {"width": 1800, "height": 560}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Loopback only: any other host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

pytestmark = pytest.mark.e2e


def _port(preferred: int) -> int:
    """The preferred port when it is free on 127.0.0.1, else a free one."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_http(url: str, seconds: float) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(seconds * 4)):
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)
    raise AssertionError(f"{url} did not come up within {seconds} s")


@dataclass
class Instance:
    """A running simulator and Home Assistant."""

    ha_url: str
    sim_url: str

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the simulator's control API."""
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.sim_url}/_control/{path}", json=body) as response,
        ):
            assert response.status == 200, await response.text()
            return await response.json()

    async def feature_status(self, user_id: int, feat_name: str) -> str:
        """The status of a line's feature, as the simulator holds it."""
        state = await self.control("GET", "state")
        line = next(line for line in state["lines"] if line["userId"] == user_id)
        return str(next(f for f in line["features"] if f["featName"] == feat_name)["status"])


@pytest.fixture
async def instance() -> AsyncIterator[Instance]:
    """Simulator and Home Assistant, set up like scripts/develop."""
    sim_port, ha_port = _port(8099), _port(8123)
    config = Path(tempfile.mkdtemp(prefix="vtx-e2e-"))
    text = (ROOT / "config" / "configuration.yaml").read_text(encoding="utf-8")
    text = text.replace("server_port: 8123", f"server_port: {ha_port}")
    config.joinpath("configuration.yaml").write_text(
        text.replace("http://127.0.0.1:8123", f"http://127.0.0.1:{ha_port}"), encoding="utf-8"
    )
    setup = [sys.executable, str(ROOT / "scripts" / "develop_setup.py")]
    prepare = await asyncio.create_subprocess_exec(*setup, "--prepare", str(config), cwd=ROOT)
    assert await prepare.wait() == 0
    instance = Instance(f"http://127.0.0.1:{ha_port}", f"http://127.0.0.1:{sim_port}")
    log_path = config / "processes.log"
    processes: list[asyncio.subprocess.Process] = []
    try:
        with log_path.open("wb") as log:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    *("-m", "vtx_simulator", "serve", "--host", "127.0.0.1", "--port", str(sim_port)),
                    cwd=ROOT,
                    stdout=log,
                    stderr=log,
                )
            )
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    *("-m", "homeassistant", "--config", str(config), "--skip-pip"),
                    cwd=ROOT,
                    stdout=log,
                    stderr=log,
                )
            )
            await _wait_http(f"{instance.sim_url}/_control/state", 60)
            await _wait_http(f"{instance.ha_url}/api/onboarding", 180)
            done = await asyncio.create_subprocess_exec(
                *setup, "--ha", instance.ha_url, "--simulator", instance.sim_url, cwd=ROOT
            )
            assert await done.wait() == 0
            yield instance
    finally:
        for process in reversed(processes):
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()
        if log_path.exists():
            # Shown by pytest when the test failed.
            print(log_path.read_text(encoding="utf-8", errors="replace")[-20000:])
        shutil.rmtree(config, ignore_errors=True)


async def test_toggle_dnd_from_the_dashboard(instance: Instance) -> None:
    """Log in, open Front desk, toggle Room 101's DND: the simulator gets the write."""
    from playwright.async_api import async_playwright, expect

    assert await instance.feature_status(ROOM_101, "CENTRAL_DND") == "INACTIVE"
    profile = tempfile.mkdtemp(prefix="vtx-chromium-")
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT
            )
            page = browser.pages[0] if browser.pages else await browser.new_page()
            await page.goto(f"{instance.ha_url}/front-desk/lines")
            await page.get_by_label("Username").fill("demo")
            await page.locator("input[type=password]").fill("demo-password")
            await page.get_by_role("button", name="Log in").click()

            def section(heading: str) -> Any:
                return page.locator("hui-grid-section").filter(has=page.locator("hui-heading-card", has_text=heading))

            room_101 = section("Room 101")
            dnd = room_101.locator("hui-tile-card").filter(
                has_text="Do not disturb", has=page.locator("ha-control-switch")
            )
            await expect(dnd).to_contain_text("Off", timeout=60_000)
            await expect(section("Front desk").locator("hui-tile-card")).to_have_count(5)

            await instance.control("DELETE", "requests")
            await dnd.locator("ha-control-switch").click()
            await expect(dnd).to_contain_text("On")
            for _ in range(40):
                if await instance.feature_status(ROOM_101, "CENTRAL_DND") == "ACTIVE":
                    break
                await asyncio.sleep(0.25)
            assert await instance.feature_status(ROOM_101, "CENTRAL_DND") == "ACTIVE"
            counts = (await instance.control("GET", "requests"))["counts"]
            writes = {key: count for key, count in counts.items() if key.startswith("PUT ")}
            assert sum(writes.values()) == 1, counts
            await expect(room_101.locator("hui-tile-card").first).to_contain_text("Do not disturb")

            # The other lines, acted on as phones would, for a picture with every status.
            await instance.control("POST", "call/start", {"userId": ROOM_102, "number": "+41791112233"})
            await instance.control(
                "POST", "forward", {"userId": ROOM_103, "kind": "unconditional", "on": True, "to": "+41791234567"}
            )
            await instance.control(
                "POST",
                "call",
                {"userId": FRONT_DESK, "direction": "outgoing", "number": "+41225117902", "duration": 95},
            )
            await expect(section("Room 102").locator("hui-tile-card").first).to_contain_text("On a call")
            await expect(section("Room 103").locator("hui-tile-card").first).to_contain_text("Forwarded")
            last_call = section("Front desk").locator("hui-tile-card").filter(has_text="Last call")
            await expect(last_call).not_to_contain_text("Unknown")

            await page.mouse.move(0, VIEWPORT["height"] - 1)
            await page.wait_for_timeout(500)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            await browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
