"""A real browser toggles DND on the Front desk dashboard; the simulator sees the write.

Runs only with VTX_E2E=1 (scripts/e2e sets it and installs Chromium and Playwright).
It starts the simulator and Home Assistant as `scripts/develop` does, in a temporary
config dir on free ports, sets them up with scripts/develop_setup.py, then drives
Debian's Chromium with Playwright. The screenshot is the README's picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import os
from pathlib import Path
import shutil
import socket
import sys
import tempfile

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("VTX_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "dashboard.png"
ROOM_101 = 176125

pytestmark = pytest.mark.skipif(os.environ.get("VTX_E2E") != "1", reason="browser test: run scripts/e2e")


def _free_port() -> int:
    with socket.socket() as sock:
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
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
async def instance() -> AsyncIterator[tuple[str, str]]:
    """Simulator and Home Assistant, set up like scripts/develop; yields their URLs."""
    sim_port, ha_port = _free_port(), _free_port()
    config = Path(tempfile.mkdtemp(prefix="vtx-e2e-"))
    text = (ROOT / "config" / "configuration.yaml").read_text(encoding="utf-8")
    config.joinpath("configuration.yaml").write_text(
        text.replace("server_port: 8123", f"server_port: {ha_port}").replace(
            "http://127.0.0.1:8123", f"http://127.0.0.1:{ha_port}"
        ),
        encoding="utf-8",
    )
    config.joinpath("automations.yaml").write_text("[]\n", encoding="utf-8")
    sim_url, ha_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{ha_port}"
    logs = config / "processes.log"
    with logs.open("wb") as log:
        sim = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vtx_simulator", "serve", "--port", str(sim_port), cwd=ROOT, stdout=log, stderr=log
        )
        ha = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "homeassistant",
            "--config",
            str(config),
            "--skip-pip",
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        try:
            await _wait_http(f"{sim_url}/_control/state", 60)
            await _wait_http(f"{ha_url}/api/onboarding", 180)
            setup = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "scripts" / "develop_setup.py"),
                "--ha",
                ha_url,
                "--simulator",
                sim_url,
                cwd=ROOT,
            )
            assert await setup.wait() == 0
            yield ha_url, sim_url
        finally:
            for process in (ha, sim):
                if process.returncode is None:
                    process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), 30)
                    except TimeoutError:
                        process.kill()
                        await process.wait()
            shutil.rmtree(config, ignore_errors=True)


async def _dnd_status(sim_url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"{sim_url}/_control/state") as response:
        state = await response.json()
    text = json.dumps(state)
    assert str(ROOM_101) in text
    for line in state.get("lines", []):
        if line.get("userId") == ROOM_101:
            for feature in line.get("features", []):
                if feature.get("featName") == "CENTRAL_DND":
                    return str(feature["status"])
    raise AssertionError("no CENTRAL_DND feature for Room 101 in the simulator's state")


async def test_toggle_dnd_from_the_dashboard(instance: tuple[str, str]) -> None:
    """Log in, open Front desk, toggle Room 101's DND: the simulator's feature turns ACTIVE."""
    from playwright.async_api import async_playwright

    ha_url, sim_url = instance
    assert await _dnd_status(sim_url) == "INACTIVE"
    profile = tempfile.mkdtemp(prefix="vtx-chromium-")
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            await page.goto(f"{ha_url}/front-desk/lines")
            await page.get_by_label("Username").fill("demo")
            await page.locator("input[type=password]").fill("demo-password")
            await page.get_by_role("button", name="Log in").click()
            dnd_tile = page.locator("hui-tile-card", has_text="Do not disturb").first
            await dnd_tile.wait_for(timeout=60_000)
            await page.wait_for_timeout(1500)  # let every card render before the click
            await dnd_tile.locator("ha-control-switch").click()
            for _ in range(40):
                if await _dnd_status(sim_url) == "ACTIVE":
                    break
                await asyncio.sleep(0.25)
            assert await _dnd_status(sim_url) == "ACTIVE"
            await page.wait_for_timeout(1000)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            await browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
