"""Set-up of the development instance (scripts/develop, the browser test), through Home Assistant's APIs.

Two phases:

``--prepare CONFIG_DIR``, before Home Assistant starts: writes the files a fresh
configuration folder needs (an empty ``automations.yaml``; onboarding's *core config*
step marked done, see `prepare`) and installs the repository's blueprints (copied again
at every start, so they stay current).

Then, with Home Assistant running: waits for it, finishes onboarding with the demo login
(demo / demo-password), adds the VTX VoIP integration for the simulator's demo account
and four lines, points push at this instance (option *Push base URL*), installs the
"Front desk" dashboard from config/dashboards/front_desk.yaml (the integration's board,
a dashboard strategy), makes it the dashboard Home Assistant opens on, and waits until
the board lists the four lines. Each step is skipped when already done, so running it
again only re-reads the dashboard file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import shutil
import sys
import time
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME  # noqa: E402

USERNAME = "demo"
PASSWORD = "demo-password"
LINES = "176125 = Room 101\n176129 = Room 102\n176133 = Room 103\n176137 = Front desk"
DASHBOARD = ROOT / "config" / "dashboards" / "front_desk.yaml"
DASHBOARD_URL = "front-desk"
BLUEPRINTS = ROOT / "blueprints"
# Entries made by onboarding's core config step; they would reach the internet.
ONBOARDING_DOMAINS = ("google_translate", "met", "radio_browser", "shopping_list")
# The http: block of configuration.yaml is moved into Home Assistant's storage on the
# first start (2026.10); these repair issues then only say that it stays in the file,
# which is on purpose (a fresh config folder needs it to listen on 127.0.0.1 only).
HTTP_YAML_ISSUES = ("deprecated_yaml", "yaml_still_present_after_migration")


def prepare(config: Path) -> None:
    """Write what a fresh configuration folder needs before Home Assistant starts.

    Onboarding's *core config* step would add Radio Browser, Google Translate, Met and
    a shopping list, and Radio Browser contacts the internet as soon as it is set up.
    This instance talks to 127.0.0.1 only, so on a fresh folder the step is recorded as
    done (location, units and time zone come from configuration.yaml); the user,
    analytics and integration steps are still done through the onboarding API.
    """
    config.mkdir(parents=True, exist_ok=True)
    # The blueprints, as a user installs them: Settings > Blueprints lists them.
    for source in sorted(BLUEPRINTS.rglob("*.yaml")):
        target = config / "blueprints" / source.relative_to(BLUEPRINTS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    automations = config / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n", encoding="utf-8")
    storage = config / ".storage"
    onboarding = storage / "onboarding"
    if not onboarding.exists() and not (storage / "auth").exists():
        storage.mkdir(exist_ok=True)
        onboarding.write_text(
            json.dumps(
                {"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": ["core_config"]}}, indent=2
            ),
            encoding="utf-8",
        )


async def _wait(session: aiohttp.ClientSession, url: str, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as response:
                if response.status < 500:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {limit:.0f} s")


async def _token(session: aiohttp.ClientSession, ha: str) -> str:
    client_id = f"{ha}/"
    async with session.get(f"{ha}/api/onboarding") as response:
        # Once onboarding is done, Home Assistant no longer serves this view.
        done = response.status == 404
        steps = {} if done else {step["step"]: step["done"] for step in await response.json()}
    if done:
        steps = dict.fromkeys(("user", "core_config", "analytics", "integration"), True)
    if not steps.get("user"):
        async with session.post(
            f"{ha}/api/onboarding/users",
            json={"client_id": client_id, "name": "Demo", "username": USERNAME, "password": PASSWORD, "language": "en"},
        ) as response:
            response.raise_for_status()
            code = (await response.json())["auth_code"]
    else:
        async with session.post(
            f"{ha}/auth/login_flow",
            json={"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
        ) as response:
            flow = await response.json()
        async with session.post(
            f"{ha}/auth/login_flow/{flow['flow_id']}",
            json={"client_id": client_id, "username": USERNAME, "password": PASSWORD},
        ) as response:
            result = await response.json()
            if "result" not in result:
                raise SystemExit("The demo login was refused: delete config/.storage to start over")
            code = result["result"]
    async with session.post(
        f"{ha}/auth/token", data={"grant_type": "authorization_code", "code": code, "client_id": client_id}
    ) as response:
        response.raise_for_status()
        token: str = (await response.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    if not steps.get("core_config"):
        # Only when prepare() did not run; the integrations it adds are removed below.
        async with session.post(f"{ha}/api/onboarding/core_config", headers=headers) as response:
            response.raise_for_status()
    if not steps.get("analytics"):
        async with session.post(f"{ha}/api/onboarding/analytics", headers=headers) as response:
            response.raise_for_status()
    if not steps.get("integration"):
        async with session.post(
            f"{ha}/api/onboarding/integration",
            headers=headers,
            json={"client_id": client_id, "redirect_uri": f"{ha}/?auth_callback=1"},
        ) as response:
            response.raise_for_status()
    return token


async def _running(session: aiohttp.ClientSession, ha: str, headers: dict[str, str], limit: float = 180) -> None:
    """Wait until Home Assistant has finished starting."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        async with session.get(f"{ha}/api/config", headers=headers) as response:
            if response.status == 200 and (await response.json()).get("state") == "RUNNING":
                return
        await asyncio.sleep(0.5)
    raise SystemExit(f"Home Assistant did not finish starting within {limit:.0f} s")


async def _flow(session: aiohttp.ClientSession, url: str, headers: dict[str, str], data: dict[str, Any]) -> Any:
    async with session.post(url, headers=headers, json=data) as response:
        result = await response.json()
        if response.status >= 400:
            raise SystemExit(f"{url}: {response.status} {result}")
        return result


async def _entries(session: aiohttp.ClientSession, ha: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    async with session.get(f"{ha}/api/config/config_entries/entry", headers=headers) as response:
        response.raise_for_status()
        entries: list[dict[str, Any]] = await response.json()
    return entries


async def _integration(session: aiohttp.ClientSession, ha: str, simulator: str, headers: dict[str, str]) -> None:
    entries = await _entries(session, ha, headers)
    for entry in entries:
        if entry["domain"] in ONBOARDING_DOMAINS and entry["source"] == "onboarding":
            async with session.delete(
                f"{ha}/api/config/config_entries/entry/{entry['entry_id']}", headers=headers
            ) as response:
                response.raise_for_status()
    ours = [entry for entry in entries if entry["domain"] == "vtx_voip"]
    if not ours:
        base = f"{ha}/api/config/config_entries/flow"
        step = await _flow(session, base, headers, {"handler": "vtx_voip", "show_advanced_options": False})
        step = await _flow(
            session,
            f"{base}/{step['flow_id']}",
            headers,
            {
                "url": f"{simulator}/openapi/",
                "username": DEMO_USERNAME,
                "password": DEMO_PASSWORD,
                "application_id": DEMO_APPLICATION_ID,
            },
        )
        if step.get("step_id") != "lines":
            raise SystemExit(f"The account step of VTX VoIP stopped at {step}")
        step = await _flow(session, f"{base}/{step['flow_id']}", headers, {"user_ids": LINES})
        if step.get("type") != "create_entry":
            raise SystemExit(f"Adding VTX VoIP stopped at {step}")
        entry_id = step["result"]["entry_id"]
        print("Added VTX VoIP for the simulator with four demo lines")
    else:
        entry_id = ours[0]["entry_id"]
    # Push to this instance (the simulator runs on the same machine). Saving the same
    # value again changes nothing.
    base = f"{ha}/api/config/config_entries/options/flow"
    step = await _flow(session, base, headers, {"handler": entry_id})
    if step.get("type") == "form":
        step = await _flow(session, f"{base}/{step['flow_id']}", headers, {"push_base_url": ha})
        if step.get("type") != "create_entry":
            raise SystemExit(f"Setting the push base URL stopped at {step}")


class _Socket:
    """Home Assistant's websocket API, one command at a time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 1

    async def call(self, command: str, **data: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "type": command, **data})
        while True:
            answer: dict[str, Any] = await self.ws.receive_json()
            if answer.get("id") == self.next_id and answer.get("type") == "result":
                return answer


async def _websocket_steps(session: aiohttp.ClientSession, ha: str, token: str) -> None:
    config = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))
    async with session.ws_connect(f"{ha}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise SystemExit("websocket authentication failed")
        socket = _Socket(ws)
        # The http: settings (loopback only) are a trial on the first start until
        # confirmed; without this Home Assistant would go back to its defaults (all
        # addresses) after five minutes. An error means nothing was pending.
        await socket.call("http/config/promote")
        issues = await socket.call("repairs/list_issues")
        for issue in issues.get("result", {}).get("issues", []):
            if issue["domain"] == "http" and issue["issue_id"] in HTTP_YAML_ISSUES and not issue["ignored"]:
                await socket.call("repairs/ignore_issue", domain="http", issue_id=issue["issue_id"], ignore=True)
        answer = await socket.call("lovelace/dashboards/list")
        if not answer.get("success"):
            raise SystemExit(f"listing dashboards failed: {answer}")
        if not any(item["url_path"] == DASHBOARD_URL for item in answer["result"]):
            result = await socket.call(
                "lovelace/dashboards/create",
                url_path=DASHBOARD_URL,
                title="Front desk",
                icon="mdi:phone-classic",
                show_in_sidebar=True,
                require_admin=False,
                mode="storage",
            )
            if not result.get("success"):
                raise SystemExit(f"creating the dashboard failed: {result}")
        # The file is the source of truth: edits made in the UI are replaced at the next start.
        result = await socket.call("lovelace/config/save", url_path=DASHBOARD_URL, config=config)
        if not result.get("success"):
            raise SystemExit(f"saving the dashboard failed: {result}")
        # Home Assistant opens on the board (Settings > Dashboards > Set as default).
        system = await socket.call("frontend/get_system_data", key="core")
        value = dict((system.get("result") or {}).get("value") or {})
        if value.get("default_panel") != DASHBOARD_URL:
            result = await socket.call(
                "frontend/set_system_data", key="core", value={**value, "default_panel": DASHBOARD_URL}
            )
            if not result.get("success"):
                raise SystemExit(f"making the board the default dashboard failed: {result}")
        await _board(socket, ws, LINES.count("\n") + 1)


async def _board(socket: _Socket, ws: aiohttp.ClientWebSocketResponse, lines: int, limit: float = 60) -> None:
    """Wait until the integration's board lists ``lines`` lines, each with its entities."""
    answer = await socket.call("vtx_voip/front_desk/subscribe")
    if not answer.get("success"):
        raise SystemExit(f"The front desk board is not available: {answer}")
    deadline = time.monotonic() + limit
    board: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            message = await ws.receive_json(timeout=max(deadline - time.monotonic(), 0.1))
        except TimeoutError:
            break
        if message.get("id") == socket.next_id and message.get("type") == "event":
            board = message["event"]
            if len(board["lines"]) >= lines and all("dnd" in line["entities"] for line in board["lines"]):
                await socket.call("unsubscribe_events", subscription=socket.next_id)
                return
    raise SystemExit(f"The front desk board did not list {lines} lines: {board.get('lines')}")


async def setup(ha: str, simulator: str) -> None:
    """Run every step against a running Home Assistant and simulator."""
    async with aiohttp.ClientSession() as session:
        await _wait(session, f"{simulator}/_control/state")
        await _wait(session, f"{ha}/api/onboarding")
        token = await _token(session, ha)
        headers = {"Authorization": f"Bearer {token}"}
        await _running(session, ha, headers)
        await _integration(session, ha, simulator, headers)
        await _websocket_steps(session, ha, token)
    print("Development instance ready")


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--prepare", type=Path, metavar="CONFIG_DIR", help="only prepare a configuration folder")
    parser.add_argument("--ha", default="http://127.0.0.1:8123")
    parser.add_argument("--simulator", default="http://127.0.0.1:8099")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare)
        return
    asyncio.run(setup(args.ha.rstrip("/"), args.simulator.rstrip("/")))


if __name__ == "__main__":
    main()
