"""What the browser tests share: a simulator and Home Assistant set up as scripts/develop does, the board.

``running_instance()`` starts the simulator (seeded with 60 lines) and Home Assistant in a
temporary config folder (port 8123 and 8099 when free, others otherwise) and sets them up
with scripts/develop_setup.py (four lines). ``Board`` wraps a page showing the board.
Used by tests/e2e/test_dashboard.py and tests/e2e/cold_open.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import socket
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("VTX_CHROMIUM", "/usr/bin/chromium")
# Screenshots: .cache/e2e (git-ignored) unless VTX_SCREENSHOTS names a folder (docs/ refreshes
# the README's pictures).
PICTURES = Path(os.environ.get("VTX_SCREENSHOTS") or ROOT / ".cache" / "e2e")
ROOM_101, ROOM_102, ROOM_103, FRONT_DESK = 176125, 176129, 176133, 176137
# Lines the simulator has beyond the demo's four, added while the test runs.
EXTRA_LINES = [(180001 + index, f"Room {201 + index}") for index in range(56)]
# Four lines side by side; high enough for the page without scrolling.
VIEWPORT: ViewportSize = {"width": 1280, "height": 560}
# A phone held upright.
PHONE: ViewportSize = {"width": 390, "height": 844}
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

    async def phone(self, *args: str) -> None:
        """Act as a phone with ``scripts/phone`` (the simulator's ``ctl``), as a developer would."""
        port = self.sim_url.rsplit(":", 1)[1]
        process = await asyncio.create_subprocess_exec(
            str(ROOT / "scripts" / "phone"),
            *args,
            env={**os.environ, "VTX_SIM_PORT": port},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        assert process.returncode == 0, output.decode(errors="replace")

    async def feature(self, user_id: int, feat_name: str) -> dict[str, Any]:
        """A line's feature, as the simulator holds it."""
        state = await self.control("GET", "state")
        line = next(line for line in state["lines"] if line["userId"] == user_id)
        return dict(next(f for f in line["features"] if f["featName"] == feat_name))

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


@asynccontextmanager
async def running_instance() -> AsyncIterator[Instance]:
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

    async def set_tariffs(self, price: str, setup: str, internal: str) -> None:
        """Price the destination classes through the options flow (*Tariffs*), as a user would.

        Every class per started minute at ``price`` plus ``setup``; internal calls at ``internal``,
        the rooms' extensions (100-199) internal where the form asks for them.
        """
        result = await self.hass(
            f"""async (hass) => {{
                const entry = (await hass.callWS({{type: "config_entries/get", domain: "vtx_voip"}}))[0];
                const menu = await hass.callApi("POST", "config/config_entries/options/flow",
                    {{handler: entry.entry_id, show_advanced_options: false}});
                const form = await hass.callApi("POST", `config/config_entries/options/flow/${{menu.flow_id}}`,
                    {{next_step_id: "tariffs"}});
                const answer = {{}};
                for (const field of form.data_schema) {{
                    if (field.name === "internal_extensions") answer[field.name] = "100-199";
                    if (field.type !== "expandable") continue;
                    answer[field.name] = field.name === "internal"
                        ? {{price_per_minute: {internal}, billing: "per_minute", minimum_seconds: 0, setup_price: 0}}
                        : {{price_per_minute: {price}, billing: "per_minute", minimum_seconds: 0, setup_price: {setup}}};
                }}
                return await hass.callApi("POST", `config/config_entries/options/flow/${{form.flow_id}}`, answer);
            }}"""
        )
        assert result["type"] == "create_entry", result

    async def entry_state(self) -> str:
        """The state of the VTX VoIP entry (``loaded``...)."""
        script = 'async (hass) => (await hass.callWS({type: "config_entries/get", domain: "vtx_voip"}))[0].state'
        return str(await self.hass(script))

    async def automation(self, blueprint: str, inputs: dict[str, Any], index: int) -> None:
        """Create an automation from one of the integration's blueprints."""
        config = {"alias": f"Demo {blueprint}", "use_blueprint": {"path": f"vtx_voip/{blueprint}", "input": inputs}}
        result = await self.hass(
            f"(hass) => hass.callApi('POST', 'config/automation/config/demo{index}', {json.dumps(config)})"
        )
        assert result == {"result": "ok"}, result

    async def cut_off(self) -> list[str]:
        """The texts on the board's cards that do not fit (cut off with an ellipsis)."""
        found = await self.page.locator("vtx-voip-front-desk-card").evaluate(
            """(card) => [...card.shadowRoot.querySelectorAll(".label, .value, .status, .name, button.text, .note")]
                .filter((node) => node.offsetParent !== null && node.scrollWidth > node.clientWidth + 1)
                .map((node) => node.textContent)"""
        )
        return [str(text) for text in found]

    async def add_user(self, name: str, username: str, password: str) -> None:
        """Add a user who is not an administrator (*Settings > People > Add person*)."""
        await self.hass(
            f"""async (hass) => {{
                const user = await hass.callWS({{type: "config/auth/create", name: "{name}", group_ids: ["system-users"]}});
                await hass.callWS({{type: "config/auth_provider/homeassistant/create", user_id: user.user.id,
                    username: "{username}", password: "{password}"}});
            }}"""
        )

    async def notification(self, title: str) -> dict[str, Any]:
        """The persistent notification titled ``title``, once it is shown (followed by subscription)."""
        found = await self.page.evaluate(
            """(title) => new Promise((resolve) => {
                const hass = document.querySelector("home-assistant").hass;
                const stop = hass.connection.subscribeMessage((message) => {
                    const match = Object.values(message.notifications || {}).find((item) => item.title === title);
                    if (match) {
                        stop.then((unsub) => unsub());
                        resolve(match);
                    }
                }, {type: "persistent_notification/subscribe"});
            })""",
            title,
        )
        return dict(found)

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
        """Save a screenshot of the whole board as PICTURES/<name>.

        Home Assistant scrolls inside its own layout (a full-page screenshot would repeat
        its sidebar): the window is made as high as the board instead.
        """
        size = self.page.viewport_size or VIEWPORT
        # The board's height plus Home Assistant's toolbar above it (the page may be scrolled).
        height = await self.page.locator("vtx-voip-front-desk-card").evaluate("e => e.getBoundingClientRect().height")
        await self.page.set_viewport_size({"width": size["width"], "height": max(VIEWPORT["height"], int(height) + 80)})
        await self.page.mouse.move(0, 0)
        await self.page.wait_for_timeout(500)
        await asyncio.to_thread(PICTURES.mkdir, parents=True, exist_ok=True)
        await self.page.screenshot(path=str(PICTURES / name))
        await self.page.set_viewport_size(size)


# What the frontend shows when the board's strategy (or card) is not defined in time.
STRATEGY_ERROR = "Error loading the dashboard strategy"
ERRORS = "hui-error-card, hui-warning"


async def log_in(page: Any, ha_url: str, username: str = "demo", password: str = "demo-password") -> None:
    """Log in (the demo user by default) with *Keep me logged in*, so the tokens are in the page's storage."""
    await page.goto(f"{ha_url}/")
    await page.get_by_label("Username").fill(username)
    await page.locator("input[type=password]").fill(password)
    await page.get_by_role("checkbox").check()
    await page.get_by_role("button", name="Log in").click()


async def shown(page: Any, seconds: float = 60) -> str | None:
    """``None`` once the board's cards are shown, else what the page shows instead.

    Waits for the first of: a line's card, the frontend's strategy error, an error card.
    """
    error = page.get_by_text(STRATEGY_ERROR).or_(page.locator(ERRORS))
    await page.locator(CARDS).first.or_(error).first.wait_for(timeout=seconds * 1000)
    if await page.locator(CARDS).count():
        return None
    return " / ".join(text.strip() for text in await error.all_inner_texts()) or "an error"


async def open_board(page: Any, url: str, seconds: float = 60) -> str | None:
    """Open the board once, no reload: ``None`` when its cards are shown, else what was shown instead."""
    await page.goto(url)
    return await shown(page, seconds)


async def cold_opens(browser: Any, state: Any, url: str, count: int, stop_at_first: bool) -> list[str | None]:
    """Open the board in ``count`` fresh browser contexts (the login's storage carried over).

    Each context has an empty HTTP cache and a new page: a cold load. Returns each load's
    outcome (``None``: the board opened); stops after the first failure when asked to.
    """
    outcomes: list[str | None] = []
    for _ in range(count):
        context = await browser.new_context(storage_state=state, viewport=VIEWPORT)
        try:
            page = await context.new_page()
            outcomes.append(await open_board(page, url))
        finally:
            await context.close()
        if stop_at_first and outcomes[-1] is not None:
            break
    return outcomes


async def warm_opens(browser: Any, state: Any, url: str, count: int) -> list[str | None]:
    """Open the board ``count`` times in new pages of one context whose HTTP cache is warm."""
    context = await browser.new_context(storage_state=state, viewport=VIEWPORT)
    outcomes: list[str | None] = []
    try:
        first = await context.new_page()
        await open_board(first, url)
        await first.close()
        for _ in range(count):
            page = await context.new_page()
            outcomes.append(await open_board(page, url))
            await page.close()
    finally:
        await context.close()
    return outcomes
