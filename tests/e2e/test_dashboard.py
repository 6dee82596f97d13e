"""A real browser on the Front desk board: English and German, 4 lines and 60, every workflow.

Runs only with VTX_E2E=1 (scripts/e2e sets it and installs Chromium and Playwright).
It starts the simulator (seeded with 60 lines) and Home Assistant as scripts/develop
does, in a temporary config folder (port 8123 and 8099 when free, others otherwise),
sets them up with scripts/develop_setup.py (four lines), then drives Debian's Chromium
with Playwright: Home Assistant opens on the board; DND toggled on the board reaches
the simulator; a missed call is marked; the check-out asks for confirmation and resets
the line; a line added through the sub-entry flow (as *Add line* does) appears without
a reload; the board in German; 56 lines more and the board with 60; an automation from
each blueprint. Render times are printed (measured, no threshold). Its screenshots are
the README's pictures (docs/).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import json
import os
from pathlib import Path
import re
import shutil
import socket
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("VTX_CHROMIUM", "/usr/bin/chromium")
PICTURES = Path(os.environ.get("VTX_SCREENSHOTS", ROOT / "docs"))
ROOM_101, ROOM_102, ROOM_103, FRONT_DESK = 176125, 176129, 176133, 176137
# Lines the simulator has beyond the demo's four, added while the test runs.
EXTRA_LINES = [(180001 + index, f"Room {201 + index}") for index in range(56)]
# Four lines side by side; high enough for the page without scrolling.
VIEWPORT: ViewportSize = {"width": 1280, "height": 560}
CARDS = "vtx-voip-front-desk-card [data-user-id]"
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
    log: Path | None = None

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


def _seed(path: Path) -> None:
    """The simulator's default seed plus the extra lines (numbers and feature ids of their own)."""
    from vtx_simulator import seed

    data = seed.build_default_data()
    reception = seed.LINES[0][1]
    for index, (user_id, name) in enumerate(EXTRA_LINES, start=len(data["lines"])):
        first_id = seed.FIRST_FEATURE_ID + index * seed.ID_STEP * len(seed.ID_ORDER)
        number = f"+4122566{3000 + index:04d}"
        data["lines"].append(seed.build_line(user_id, number, name, first_id, reception, seed.SITE_NAME))
    path.write_text(seed.dump(data), encoding="utf-8")


@pytest.fixture
async def instance() -> AsyncIterator[Instance]:
    """Simulator and Home Assistant, set up like scripts/develop."""
    sim_port, ha_port = _port(8099), _port(8123)
    config = Path(tempfile.mkdtemp(prefix="vtx-e2e-"))
    seed_path = config / "simulator.json"
    _seed(seed_path)
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
                    *("--data", str(seed_path)),
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
            instance.log = log_path
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


class Board:
    """The board in the browser."""

    def __init__(self, page: Any) -> None:
        """Wrap a page."""
        self.page = page

    def cards(self) -> Any:
        """Every line's card."""
        return self.page.locator(CARDS)

    def card(self, name: str) -> Any:
        """One line's card."""
        return self.page.locator(f'{CARDS}[data-line="{name}"]')

    async def names(self) -> list[str]:
        """The lines in the order shown."""
        return [str(name) for name in await self.cards().evaluate_all("cards => cards.map(c => c.dataset.line)")]

    async def expect_names(self, expected: list[str], seconds: float = 30) -> None:
        """Wait until the lines shown are ``expected``, in this order.

        The frontend may build the view anew when the registries change (the card then
        subscribes again): the names are read until they match.
        """
        names: list[str] = []
        for _ in range(int(seconds * 4)):
            names = await self.names()
            if names == expected:
                return
            await self.page.wait_for_timeout(250)
        raise AssertionError(f"the board shows {names}, not {expected}")

    async def hass(self, script: str) -> Any:
        """Run ``script`` (a function of the frontend's hass object) in the page."""
        return await self.page.evaluate(
            f"async () => {{ const hass = document.querySelector('home-assistant').hass; return await ({script})(hass); }}"
        )

    async def add_line(self, user_id: int, name: str) -> None:
        """Add a line as *Add line* does: the sub-entry flow, through the frontend's own API calls."""
        result = await self.hass(
            f"""async (hass) => {{
                const entry = (await hass.callWS({{type: "config_entries/get", domain: "vtx_voip"}}))[0];
                const step = await hass.callApi("POST", "config/config_entries/subentries/flow",
                    {{handler: [entry.entry_id, "line"], show_advanced_options: false}});
                return await hass.callApi("POST", `config/config_entries/subentries/flow/${{step.flow_id}}`,
                    {{user_id: "{user_id}", name: "{name}"}});
            }}"""
        )
        assert result["type"] == "create_entry", result

    async def open(self, url: str, count: int) -> tuple[float, int]:
        """Open the board; return the seconds until ``count`` cards are shown and the card's own render time (ms)."""
        from playwright.async_api import expect

        started = time.perf_counter()
        await self.page.goto(url)
        await expect(self.cards()).to_have_count(count, timeout=60_000)
        await expect(self.card(await self.first_name()).get_by_role("switch").first).to_be_enabled(timeout=60_000)
        seconds = time.perf_counter() - started
        card_ms = int(await self.page.locator("vtx-voip-front-desk-card").get_attribute("data-render-ms") or -1)
        return seconds, card_ms

    async def first_name(self) -> str:
        """The first line shown."""
        return str(await self.cards().first.get_attribute("data-line"))

    async def picture(self, name: str) -> None:
        """Save a screenshot of the whole board as docs/<name>.

        Home Assistant scrolls inside its own layout (a full-page screenshot would repeat
        its sidebar): the window is made as high as the board instead.
        """
        size = self.page.viewport_size or VIEWPORT
        # The board's height plus Home Assistant's toolbar above it (the page may be scrolled).
        height = await self.page.locator("vtx-voip-front-desk-card").evaluate("e => e.getBoundingClientRect().height")
        await self.page.set_viewport_size({"width": size["width"], "height": max(VIEWPORT["height"], int(height) + 80)})
        await self.page.mouse.move(0, 0)
        await self.page.wait_for_timeout(500)
        await asyncio.to_thread(PICTURES.mkdir, exist_ok=True)
        await self.page.screenshot(path=str(PICTURES / name))
        await self.page.set_viewport_size(size)


async def test_front_desk_board(instance: Instance) -> None:
    """The board's every workflow, in English and German, with 4 lines and with 60."""
    from playwright.async_api import async_playwright, expect

    assert await instance.feature_status(ROOM_101, "CENTRAL_DND") == "INACTIVE"
    profile = tempfile.mkdtemp(prefix="vtx-chromium-")
    console: list[str] = []
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT
            )
            page = browser.pages[0] if browser.pages else await browser.new_page()
            # What the page said, shown when the test fails (a frontend error is otherwise invisible).
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            board = Board(page)
            try:
                # Home Assistant opens on the board.
                await page.goto(f"{instance.ha_url}/")
                await page.get_by_label("Username").fill("demo")
                await page.locator("input[type=password]").fill("demo-password")
                await page.get_by_role("button", name="Log in").click()
                try:
                    await expect(board.cards()).to_have_count(4, timeout=30_000)
                except AssertionError:
                    # Seen once in CI (cause not captured): the board did not open after the
                    # first, cold load. The frontend gives a custom strategy 5 s to be defined,
                    # then shows an error card until reloaded: reload once, say what was shown.
                    shown = await page.locator("hui-error-card, ha-alert, hui-warning").all_inner_texts()
                    print(f"\nthe board did not open within 30 s at {page.url} (shown: {shown}); reloading once")
                    await page.reload()
                    await expect(board.cards()).to_have_count(4, timeout=60_000)
                assert "/front-desk/" in page.url, page.url
                await board.expect_names(["Front desk", "Room 101", "Room 102", "Room 103"])

                seconds, card_ms = await board.open(f"{instance.ha_url}/front-desk/lines", 4)
                print(f"\nboard render, 4 lines: {seconds:.2f} s from navigation, {card_ms} ms from subscription")

                room_101 = board.card("Room 101")
                dnd = room_101.get_by_role("switch", name="Do not disturb")
                await expect(dnd).to_have_attribute("aria-checked", "false")
                await expect(room_101.locator(".status")).to_have_text("Available")
                await instance.control("DELETE", "requests")
                await dnd.click()
                await expect(dnd).to_have_attribute("aria-checked", "true")
                await expect(room_101.locator(".status")).to_have_text("Do not disturb")
                assert await instance.feature_status(ROOM_101, "CENTRAL_DND") == "ACTIVE"
                counts = (await instance.control("GET", "requests"))["counts"]
                writes = {key: count for key, count in counts.items() if key.startswith("PUT ")}
                assert sum(writes.values()) == 1, counts

                # The other lines, acted on as phones would, for a picture with every status.
                await instance.control(
                    "POST",
                    "call",
                    {
                        "userId": ROOM_102,
                        "direction": "incoming",
                        "number": "+41791112233",
                        "duration": 0,
                        "missed": True,
                    },
                )
                await instance.control("POST", "call/start", {"userId": ROOM_102, "number": "+41791112233"})
                await instance.control(
                    "POST", "forward", {"userId": ROOM_103, "kind": "unconditional", "on": True, "to": "+41791234567"}
                )
                await instance.control(
                    "POST",
                    "call",
                    {"userId": FRONT_DESK, "direction": "outgoing", "number": "+41225117902", "duration": 95},
                )
                room_102, room_103, front_desk = (board.card(name) for name in ("Room 102", "Room 103", "Front desk"))
                await expect(room_102).to_have_attribute("data-missed", "1")
                await expect(room_102.locator(".missed-badge")).to_have_text("1")
                await expect(room_101).to_have_attribute("data-missed", "0")
                await expect(room_102.locator(".status")).to_have_text("On a call")
                await expect(room_103.locator(".status")).to_have_text("Forwarded")
                # The forward's destination only while it is on.
                await expect(room_103.locator(".destination")).to_contain_text("+41791234567")
                await expect(room_101.locator(".destination")).to_have_count(0)
                # The last call is when it ended: a 95-second call that just ended is "now".
                await expect(front_desk.locator(".last-call .value")).to_have_text(re.compile("now|second"))
                await board.picture("dashboard.png")

                # Check-out asks first; cancel changes nothing.
                await room_101.get_by_role("button", name="Check out").click()
                dialog = page.locator("vtx-voip-front-desk-card dialog")
                await expect(dialog).to_be_visible()
                await expect(dialog).to_contain_text("Check out: Room 101")
                await expect(dialog).to_contain_text("back to its baseline")
                await board.picture("dashboard-check-out.png")
                await dialog.get_by_role("button", name="Cancel").click()
                await expect(dialog).to_be_hidden()
                await page.wait_for_timeout(500)
                assert await instance.feature_status(ROOM_101, "CENTRAL_DND") == "ACTIVE"
                # Confirmed, the line goes back to its baseline (DND off).
                await room_101.get_by_role("button", name="Check out").click()
                await dialog.get_by_role("button", name="Check out").click()
                await expect(dnd).to_have_attribute("aria-checked", "false", timeout=20_000)
                assert await instance.feature_status(ROOM_101, "CENTRAL_DND") == "INACTIVE"
                await expect(room_101.locator(".note")).to_have_text("Checked out")

                # A line added in the UI appears on the open board without a reload.
                await board.add_line(EXTRA_LINES[0][0], EXTRA_LINES[0][1])
                await expect(board.cards()).to_have_count(5, timeout=30_000)
                await expect(board.card(EXTRA_LINES[0][1]).get_by_role("switch").first).to_be_enabled(timeout=30_000)
                await board.expect_names(["Front desk", "Room 101", "Room 102", "Room 103", "Room 201"])

                # German: every label from the integration's translations.
                await board.hass(
                    'async (hass) => document.querySelector("home-assistant").dispatchEvent('
                    'new CustomEvent("hass-language-select", {detail: "de"}))'
                )
                room_101 = board.card("Room 101")
                await expect(room_101.get_by_role("switch", name="Nicht stören")).to_be_visible(timeout=30_000)
                await expect(room_101.locator(".status")).to_have_text("Verfügbar")
                await expect(board.card("Room 102").locator(".missed-calls .label")).to_have_text("Heute verpasst")
                await expect(board.card("Room 103").locator(".status")).to_have_text("Umgeleitet")
                await expect(room_101.get_by_role("button", name="Check-out")).to_be_visible()
                seconds, card_ms = await board.open(f"{instance.ha_url}/front-desk/lines", 5)
                print(f"board render, 5 lines, German: {seconds:.2f} s from navigation, {card_ms} ms from subscription")
                await expect(board.card("Room 101").get_by_role("switch", name="Nicht stören")).to_be_visible()
                await board.picture("dashboard-de.png")
                await board.hass(
                    'async (hass) => document.querySelector("home-assistant").dispatchEvent('
                    'new CustomEvent("hass-language-select", {detail: "en"}))'
                )
                await expect(board.card("Room 101").get_by_role("switch", name="Do not disturb")).to_be_visible(
                    timeout=30_000
                )

                # 60 lines.
                started = time.perf_counter()
                for user_id, name in EXTRA_LINES[1:]:
                    await board.add_line(user_id, name)
                await expect(board.cards()).to_have_count(60, timeout=120_000)
                print(f"55 lines added through the sub-entry flow: {time.perf_counter() - started:.1f} s")
                names = await board.names()
                assert names[:5] == ["Front desk", "Room 101", "Room 102", "Room 103", "Room 201"]
                assert names[-1] == "Room 256"
                await page.set_viewport_size({"width": 1800, "height": VIEWPORT["height"]})
                seconds, card_ms = await board.open(f"{instance.ha_url}/front-desk/lines", 60)
                print(f"board render, 60 lines: {seconds:.2f} s from navigation, {card_ms} ms from subscription")
                dnd_256 = board.card("Room 256").get_by_role("switch", name="Do not disturb")
                await expect(dnd_256).to_be_enabled(timeout=30_000)
                await dnd_256.click()
                await expect(dnd_256).to_have_attribute("aria-checked", "true")
                assert await instance.feature_status(EXTRA_LINES[-1][0], "CENTRAL_DND") == "ACTIVE"
                await board.picture("dashboard-60.png")

                # The blueprints are installed: an automation from each.
                blueprints = await board.hass('(hass) => hass.callWS({type: "blueprint/list", domain: "automation"})')
                assert sorted(path for path in blueprints if path.startswith("vtx_voip/")) == [
                    "vtx_voip/check_out.yaml",
                    "vtx_voip/missed_call_notification.yaml",
                    "vtx_voip/room_dnd_led.yaml",
                ], blueprints
                device_id = await board.hass(
                    f'async (hass) => Object.values(hass.devices).find(d => d.serial_number === "{ROOM_101}").id'
                )
                inputs = {
                    "room_dnd_led.yaml": {
                        "dnd_switch": "switch.room_101_do_not_disturb",
                        "led": "input_boolean.room_101_dnd_led",
                    },
                    "missed_call_notification.yaml": {},
                    "check_out.yaml": {"line": device_id, "checked_out": "input_boolean.room_101_checked_out"},
                }
                for index, (name, values) in enumerate(inputs.items()):
                    config = {"alias": f"Demo {name}", "use_blueprint": {"path": f"vtx_voip/{name}", "input": values}}
                    result = await board.hass(
                        f"(hass) => hass.callApi('POST', 'config/automation/config/demo{index}', {json.dumps(config)})"
                    )
                    assert result == {"result": "ok"}, result
                states = await board.hass(
                    "(hass) => Object.values(hass.states).filter(s => s.entity_id.startsWith('automation.demo_'))"
                    ".map(s => [s.entity_id, s.state])"
                )
                for _ in range(40):
                    if len(states) == 3:
                        break
                    await page.wait_for_timeout(250)
                    states = await board.hass(
                        "(hass) => Object.values(hass.states).filter(s => s.entity_id.startsWith('automation.demo_'))"
                        ".map(s => [s.entity_id, s.state])"
                    )
                assert sorted(state for _, state in states) == ["on", "on", "on"], states
            except BaseException:
                # Where the page was and what it showed (error cards and alerts pierce shadow roots).
                shown = await page.locator("hui-error-card, ha-alert, hui-warning").all_inner_texts()
                console.append(f"page: {page.url}; shown: {shown}")
                raise
            await browser.close()
    except BaseException:
        print("\nbrowser console:\n" + "\n".join(console[-60:]))
        raise
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    # No push warning at start-up (nor any error of ours).
    assert instance.log is not None
    log = instance.log.read_text(encoding="utf-8", errors="replace")
    ours = [
        line
        for line in log.splitlines()
        if "custom_components.vtx_voip" in line and ("WARNING" in line or "ERROR" in line)
    ]
    assert not ours, "\n".join(ours)
