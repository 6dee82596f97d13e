"""First-run set-up of the development instance, through Home Assistant's own APIs.

Waits for Home Assistant, finishes onboarding with the demo login (demo / demo-password),
adds the VTX VoIP integration for the simulator's demo account and four lines, points
push at this instance, and installs the "Front desk" dashboard (config/dashboards/).
Each step is skipped when already done, so running it again changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
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


async def _wait(session: aiohttp.ClientSession, url: str, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as response:
                if response.status < 500:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(1)
    raise SystemExit(f"{url} did not answer within {limit} s")


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


async def _flow(session: aiohttp.ClientSession, url: str, headers: dict[str, str], data: dict[str, Any]) -> Any:
    async with session.post(url, headers=headers, json=data) as response:
        result = await response.json()
        if response.status >= 400:
            raise SystemExit(f"{url}: {response.status} {result}")
        return result


async def _integration(session: aiohttp.ClientSession, ha: str, simulator: str, headers: dict[str, str]) -> None:
    async with session.get(f"{ha}/api/config/config_entries/entry?domain=vtx_voip", headers=headers) as response:
        entries = await response.json()
    if not entries:
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
        step = await _flow(session, f"{base}/{step['flow_id']}", headers, {"user_ids": LINES})
        if step.get("type") != "create_entry":
            raise SystemExit(f"Adding the integration stopped at {step}")
        entry_id = step["result"]["entry_id"]
        print("Added VTX VoIP with four demo lines")
    else:
        entry_id = entries[0]["entry_id"]
    # Push to this instance (the simulator runs on the same machine).
    base = f"{ha}/api/config/config_entries/options/flow"
    step = await _flow(session, base, headers, {"handler": entry_id})
    if step.get("type") == "form":
        await _flow(session, f"{base}/{step['flow_id']}", headers, {"push_base_url": ha})


async def _dashboard(session: aiohttp.ClientSession, ha: str, token: str) -> None:
    config = yaml.safe_load(DASHBOARD.read_text(encoding="utf-8"))
    async with session.ws_connect(f"{ha}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise SystemExit("websocket authentication failed")
        # The http: settings of configuration.yaml (loopback only) need a confirmation
        # once in Home Assistant 2026.10; give it here (an error means none was pending).
        await ws.send_json({"id": 1, "type": "http/config/promote"})
        await ws.receive_json()
        await ws.send_json({"id": 2, "type": "lovelace/dashboards/list"})
        answer = await ws.receive_json()
        if "result" not in answer:
            raise SystemExit(f"listing dashboards failed: {answer}")
        dashboards = answer["result"]
        if not any(item["url_path"] == "front-desk" for item in dashboards):
            await ws.send_json(
                {
                    "id": 3,
                    "type": "lovelace/dashboards/create",
                    "url_path": "front-desk",
                    "title": "Front desk",
                    "icon": "mdi:phone-classic",
                    "show_in_sidebar": True,
                    "require_admin": False,
                    "mode": "storage",
                }
            )
            result = await ws.receive_json()
            if not result.get("success"):
                raise SystemExit(f"creating the dashboard failed: {result}")
        await ws.send_json({"id": 4, "type": "lovelace/config/save", "url_path": "front-desk", "config": config})
        result = await ws.receive_json()
        if not result.get("success"):
            raise SystemExit(f"saving the dashboard failed: {result}")


async def main() -> None:
    """Run every step."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--ha", default="http://127.0.0.1:8123")
    parser.add_argument("--simulator", default="http://127.0.0.1:8099")
    args = parser.parse_args()
    async with aiohttp.ClientSession() as session:
        await _wait(session, f"{args.simulator}/_control/state")
        await _wait(session, f"{args.ha}/api/onboarding")
        token = await _token(session, args.ha)
        headers = {"Authorization": f"Bearer {token}"}
        await _integration(session, args.ha, args.simulator, headers)
        await _dashboard(session, args.ha, token)
    print("Development instance ready")


if __name__ == "__main__":
    asyncio.run(main())
