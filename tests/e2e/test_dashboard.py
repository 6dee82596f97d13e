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

from collections.abc import AsyncIterator
import json
import re
import shutil
import tempfile
import time

import pytest

from .harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXTRA_LINES,
    FRONT_DESK,
    ROOM_101,
    ROOM_102,
    ROOM_103,
    VIEWPORT,
    Board,
    Instance,
    running_instance,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def instance() -> AsyncIterator[Instance]:
    """Simulator and Home Assistant, set up like scripts/develop."""
    async with running_instance() as running:
        yield running


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
