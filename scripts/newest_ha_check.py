"""Drive a real Home Assistant of the newest release against the simulator, as a user would.

Used by scripts/newest_ha, in three sub-commands:

``requirements``, run with the newest Home Assistant's venv: prints the requirements
of every integration such an instance sets up with this integration (Home Assistant's
default integrations, http, webhook, the manifest's dependencies and after-dependencies,
and what those need, the way Home Assistant's requirements check walks them), so that
they are installed once when the venv is built instead of by Home Assistant at start.

``live --ha URL --simulator URL --results FILE``, run while both processes run: creates
the owner user through the onboarding API, gets a token, adds VTX VoIP through the
config flow of the REST API with the simulator's demo account and two lines, then
checks that the entry is loaded, that the first line's DND switch shows the
simulator's state, that a change made on the phone (the simulator's control API)
reaches the switch within 3 s by push, and that turning the switch off through a
service call reaches the simulator. Results go to FILE as JSON.

``report --results FILE --log FILE``, once Home Assistant has stopped: scans the log
(no ERROR record; no deprecation or "Detected that custom integration" record
mentioning vtx_voip) and prints the report. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import json
from pathlib import Path
import re
import sys
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "vtx_voip"
MANIFEST = ROOT / "custom_components" / DOMAIN / "manifest.json"
# The lines given to the config flow; the first is the one checked.
LINES = {176125: "Room 101", 176129: "Room 102"}
FIRST_LINE = next(iter(LINES))
DND_FEATURE = "CENTRAL_DND"
PUSH_WITHIN = 3.0
WRITE_WITHIN = 5.0
OWNER = {"name": "Newest HA check", "username": "owner", "password": "newest-ha-check-password"}
# A log record starts with "2026-11-01 12:00:00.123 LEVEL (thread) [logger] message".
# Since 2026.11 the time carries its offset ("12:00:00.123+00:00").
RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?(?:[+-]\d\d:?\d\d|Z)? (?P<level>[A-Z]+) (?:\([^)]*\) )?(?:\[(?P<logger>[^\]]+)\])?"
)
# ERROR records that come from the host, not from the integration: Home Assistant always
# sets up camera and ffmpeg (base platforms, assist), which log these when the machine has
# no libturbojpeg or no ffmpeg binary. Tolerated (and listed) only when they do not
# mention the integration. (logger, part of the message, reason)
HOST_ERRORS = (
    ("haffmpeg.core", "No such file or directory: 'ffmpeg'", "no ffmpeg binary on this host"),
    ("homeassistant.components.camera.img_util", "Error loading libturbojpeg", "no libturbojpeg on this host"),
)
DEPRECATION = re.compile(r"deprecated|will stop working|Detected that custom integration", re.IGNORECASE)


# --- requirements --------------------------------------------------------------------
def requirements(manifest_path: Path) -> list[str]:
    """Return the requirements of what a minimal instance with the integration sets up."""
    import homeassistant  # noqa: PLC0415 - only in the newest Home Assistant's venv
    from homeassistant import bootstrap, requirements as ha_requirements  # noqa: PLC0415

    components = Path(homeassistant.__file__).parent / "components"
    custom = json.loads(manifest_path.read_text(encoding="utf-8"))

    def manifest(domain: str) -> dict[str, Any] | None:
        if domain == custom["domain"]:
            return dict(custom)
        path = components / domain / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    todo = [
        *bootstrap.CORE_INTEGRATIONS,
        *bootstrap.DEFAULT_INTEGRATIONS,
        "http",
        "webhook",
        "logger",
        custom["domain"],
    ]
    seen: set[str] = set()
    found: dict[str, None] = {}
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        if (data := manifest(domain)) is None:
            continue
        found.update(dict.fromkeys(data.get("requirements", [])))
        todo.extend(data.get("dependencies", []))
        todo.extend(data.get("after_dependencies", []))
        # Home Assistant also checks the requirements of the discovery integrations a
        # manifest refers to (homeassistant/requirements.py).
        todo.extend(
            check for check, keys in ha_requirements.DISCOVERY_INTEGRATIONS.items() if any(key in data for key in keys)
        )
    return sorted(found, key=str.lower)


# --- live checks ---------------------------------------------------------------------
class Failed(Exception):
    """A check did not pass."""


class Live:
    """The running Home Assistant and simulator."""

    def __init__(self, session: Any, ha: str, simulator: str) -> None:
        """Initialise."""
        self.session = session
        self.ha = ha
        self.simulator = simulator
        self.headers: dict[str, str] = {}
        self.results: list[dict[str, Any]] = []
        self.entity_id = ""

    async def check(self, name: str, func: Callable[[], Awaitable[str]]) -> bool:
        """Run one check, record OK/FAIL with its duration; True when it passed."""
        start = time.monotonic()
        try:
            detail, ok = await func(), True
        except Exception as err:  # noqa: BLE001 - every failure is reported
            detail, ok = f"{type(err).__name__}: {err}" if not isinstance(err, Failed) else str(err), False
        self.results.append({"name": name, "ok": ok, "detail": detail, "seconds": round(time.monotonic() - start, 2)})
        print(f"  {'OK  ' if ok else 'FAIL'} {name} ({time.monotonic() - start:.1f} s): {detail}", flush=True)
        return ok

    async def _json(self, method: str, url: str, *, auth: bool = True, **kwargs: Any) -> Any:
        headers = self.headers if auth else {}
        async with self.session.request(method, url, headers=headers, **kwargs) as response:
            text = await response.text()
            if response.status >= 400:
                raise Failed(f"{method} {url}: HTTP {response.status} {text[:300]}")
            return json.loads(text) if text.strip() else None

    async def _until(self, what: str, probe: Callable[[], Awaitable[Any]], within: float, step: float = 0.1) -> Any:
        """Return probe()'s first truthy answer, or raise Failed after ``within`` seconds."""
        deadline = time.monotonic() + within
        last: Any = None
        while True:
            try:
                if value := await probe():
                    return value
            except (OSError, TimeoutError, Failed) as err:
                last = err
            except Exception as err:  # noqa: BLE001 - aiohttp's errors while a server starts
                last = err
            if time.monotonic() > deadline:
                raise Failed(f"{what} not within {within:.0f} s" + (f" (last: {last})" if last else ""))
            await asyncio.sleep(step)

    # -- steps --
    async def started(self) -> str:
        """Both processes answer; Home Assistant serves onboarding."""

        async def answers(url: str) -> bool:
            async with self.session.get(url) as response:
                return response.status < 500

        await self._until("the simulator answering", lambda: answers(f"{self.simulator}/_control/state"), 30)
        await self._until("Home Assistant answering", lambda: answers(f"{self.ha}/api/onboarding"), 150, 0.3)
        return "simulator and Home Assistant answer"

    async def onboard(self) -> str:
        """The owner user through the onboarding API, then a token."""
        client_id = f"{self.ha}/"
        steps = await self._json("GET", f"{self.ha}/api/onboarding", auth=False)
        if any(step["step"] == "user" and step["done"] for step in steps):
            raise Failed("the owner user already exists in a fresh configuration")
        answer = await self._json(
            "POST",
            f"{self.ha}/api/onboarding/users",
            auth=False,
            json={"client_id": client_id, "language": "en", **OWNER},
        )
        token = await self._json(
            "POST",
            f"{self.ha}/auth/token",
            auth=False,
            data={"grant_type": "authorization_code", "code": answer["auth_code"], "client_id": client_id},
        )
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

        async def running() -> bool:
            config = await self._json("GET", f"{self.ha}/api/config")
            return bool(config.get("state") == "RUNNING")

        await self._until("Home Assistant RUNNING", running, 120, 0.3)
        config = await self._json("GET", f"{self.ha}/api/config")
        return f"owner '{OWNER['username']}' created, token issued, Home Assistant {config.get('version')} RUNNING"

    async def config_flow(self) -> str:
        """The config flow: account (simulator URL, demo credentials), then the lines."""
        from vtx_simulator.const import DEMO_APPLICATION_ID, DEMO_PASSWORD, DEMO_USERNAME  # noqa: PLC0415

        base = f"{self.ha}/api/config/config_entries/flow"
        step = await self._json("POST", base, json={"handler": DOMAIN, "show_advanced_options": False})
        if step.get("step_id") != "user":
            raise Failed(f"the flow opened with {step}")
        step = await self._json(
            "POST",
            f"{base}/{step['flow_id']}",
            json={
                "url": f"{self.simulator}/openapi/",
                "username": DEMO_USERNAME,
                "password": DEMO_PASSWORD,
                "application_id": DEMO_APPLICATION_ID,
            },
        )
        if step.get("step_id") != "lines" or step.get("errors"):
            raise Failed(f"the account step answered {step}")
        lines = "\n".join(f"{user_id} = {name}" for user_id, name in LINES.items())
        step = await self._json("POST", f"{base}/{step['flow_id']}", json={"user_ids": lines})
        if step.get("type") != "create_entry":
            raise Failed(f"the lines step answered {step}")
        return f"entry '{step.get('title')}' created with {len(LINES)} lines"

    async def loaded(self) -> str:
        """The entry reaches the state loaded."""

        async def state() -> str | None:
            entries = await self._json("GET", f"{self.ha}/api/config/config_entries/entry")
            ours = [entry for entry in entries if entry["domain"] == DOMAIN]
            if ours and ours[0]["state"] not in ("not_loaded", "setup_in_progress"):
                return str(ours[0]["state"])
            return None

        found = await self._until("the entry set up", state, 60, 0.3)
        if found != "loaded":
            raise Failed(f"the entry is {found}")
        return "entry state loaded"

    async def _sim_dnd(self) -> bool:
        dump = await self._json("GET", f"{self.simulator}/_control/state", auth=False)
        line = next(line for line in dump["lines"] if line["userId"] == FIRST_LINE)
        feature = next(feature for feature in line["features"] if feature["featName"] == DND_FEATURE)
        return bool(feature["status"] == "ACTIVE")

    async def _ha_state(self) -> str:
        state = await self._json("GET", f"{self.ha}/api/states/{self.entity_id}")
        return str(state["state"])

    async def _find_entity(self) -> str:
        """The DND switch of the first line, from the entity registry (websocket API)."""
        unique_id = f"{FIRST_LINE}_do_not_disturb"
        async with self.session.ws_connect(f"{self.ha}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.headers["Authorization"].split()[1]})
            if (await ws.receive_json()).get("type") != "auth_ok":
                raise Failed("websocket authentication refused")
            await ws.send_json({"id": 1, "type": "config/entity_registry/list"})
            while (answer := await ws.receive_json()).get("id") != 1:
                pass
        for entry in answer.get("result") or []:
            if entry["platform"] == DOMAIN and entry["unique_id"] == unique_id:
                return str(entry["entity_id"])
        raise Failed(f"no entity with unique id {unique_id}")

    async def dnd_matches(self) -> str:
        """The first line's DND switch shows what the simulator has."""
        self.entity_id = await self._until("the DND switch registered", self._find_entity, 30, 0.5)

        async def known() -> str | None:
            state = await self._ha_state()
            return state if state in ("on", "off") else None

        state = await self._until(f"{self.entity_id} on or off", known, 30, 0.2)
        expected = "on" if await self._sim_dnd() else "off"
        if state != expected:
            raise Failed(f"{self.entity_id} is {state}, the simulator has DND {expected}")
        return f"{self.entity_id} = {state}, simulator DND {expected}"

    async def _subscribed(self) -> str | None:
        answer = await self._json("GET", f"{self.simulator}/_control/subscriptions", auth=False)
        for sub in answer["subscriptions"]:
            if sub["notificationUrl"].startswith(f"{self.ha}/api/webhook/") and FIRST_LINE in sub.get("userIds", []):
                return str(sub["notificationUrl"])
        return None

    async def _phone_dnd(self, on: bool) -> None:
        await self._json("POST", f"{self.simulator}/_control/dnd", auth=False, json={"userId": FIRST_LINE, "on": on})

    async def push(self) -> str:
        """A DND change on the phone reaches the switch within 3 s (push to the webhook)."""
        url = await self._until("a push subscription to this instance's webhook", self._subscribed, 60, 0.3)
        if await self._ha_state() == "on":  # start from off so that the change is to on
            await self._phone_dnd(False)
            await self._until(f"{self.entity_id} off", self._is("off"), 30)
        await self._json("DELETE", f"{self.simulator}/_control/deliveries", auth=False)
        start = time.monotonic()
        await self._phone_dnd(True)
        await self._until(f"{self.entity_id} on after the phone's change", self._is("on"), PUSH_WITHIN, 0.05)
        took = time.monotonic() - start
        deliveries = (await self._json("GET", f"{self.simulator}/_control/deliveries", auth=False))["deliveries"]
        delivered = [d for d in deliveries if d["url"] == url and d.get("done") and d.get("status") == 200]
        if not delivered:
            raise Failed(f"the switch changed, but no push was delivered to {url} with 200: {deliveries}")
        return f"on after {took:.2f} s, pushed to {url.split('/api/webhook/')[0]}/api/webhook/… (HTTP 200)"

    def _is(self, wanted: str) -> Callable[[], Awaitable[bool]]:
        async def probe() -> bool:
            return await self._ha_state() == wanted

        return probe

    async def turn_off(self) -> str:
        """switch.turn_off through the REST API reaches the simulator."""
        start = time.monotonic()
        await self._json("POST", f"{self.ha}/api/services/switch/turn_off", json={"entity_id": self.entity_id})

        async def sim_off() -> bool:
            return not await self._sim_dnd()

        await self._until("DND off at the simulator", sim_off, WRITE_WITHIN)
        took = time.monotonic() - start
        await self._until(f"{self.entity_id} off", self._is("off"), WRITE_WITHIN)
        return f"simulator DND INACTIVE {took:.2f} s after the service call; {self.entity_id} = off"


async def live(ha: str, simulator: str) -> list[dict[str, Any]]:
    """Run the checks against the running processes; return the results."""
    import aiohttp  # noqa: PLC0415 - not needed by the other sub-commands

    sys.path.insert(0, str(ROOT))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        run = Live(session, ha, simulator)
        for name, func in (
            ("start", run.started),
            ("onboarding and token", run.onboard),
            ("config flow", run.config_flow),
            ("entry loaded", run.loaded),
            ("DND switch matches the simulator", run.dnd_matches),
            ("phone-side DND change pushed within 3 s", run.push),
            ("switch.turn_off reaches the simulator", run.turn_off),
        ):
            if not await run.check(name, func):
                break  # the later checks depend on this one
    return run.results


# --- log and report ------------------------------------------------------------------
def log_records(text: str) -> list[tuple[str, str, str]]:
    """Split a log into (level, logger, whole record); continuation lines join their record."""
    records: list[tuple[str, str, str]] = []
    for line in text.splitlines():
        if match := RECORD_START.match(line):
            records.append((match["level"], match["logger"] or "", line))
        elif records:
            level, logger, record = records[-1]
            records[-1] = (level, logger, record + "\n" + line)
    return records


def host_error(logger: str, record: str) -> str | None:
    """Return why an ERROR record is the host's (see HOST_ERRORS), or None."""
    if DOMAIN in record:
        return None
    for name, part, reason in HOST_ERRORS:
        if logger == name and part in record:
            return reason
    return None


def log_problems(text: str) -> dict[str, list[str]]:
    """Sort the log's records: errors, host errors (tolerated), deprecations about the integration.

    A log with text but no record in the expected format is an error itself (the check
    would otherwise pass on a log it cannot read).
    """
    found: dict[str, list[str]] = {"errors": [], "host": [], "deprecations": []}
    records = log_records(text)
    if text.strip() and not records:
        found["errors"].append("no record of the log is in the expected format; first line: " + text.splitlines()[0])
    for level, logger, record in records:
        if level in ("ERROR", "CRITICAL", "FATAL"):
            if reason := host_error(logger, record):
                found["host"].append(f"[{reason}] " + record.splitlines()[0])
            else:
                found["errors"].append(record)
        elif DOMAIN in record and DEPRECATION.search(record):
            found["deprecations"].append(record)
    return found


def _excerpt(record: str, lines: int = 12) -> str:
    parts = record.splitlines()
    shown = parts[:lines] + ([f"      … {len(parts) - lines} more lines"] if len(parts) > lines else [])
    return "\n".join("      " + part for part in shown)


def report(results_path: Path, log: Path, version: str, timings: list[str]) -> int:
    """Print the report; 1 when any check failed."""
    results: list[dict[str, Any]] = []
    if results_path.exists():
        results = json.loads(results_path.read_text(encoding="utf-8"))
    if not results:
        results.append({"name": "live checks", "ok": False, "detail": "no results (did the check run?)", "seconds": 0})
    if log.exists():
        found = log_problems(log.read_text(encoding="utf-8", errors="replace"))
        errors, host, deprecations = found["errors"], found["host"], found["deprecations"]
        detail = f"{len(errors)} ERROR record(s)" if errors else "none"
        if host:
            detail += f"; {len(host)} tolerated, caused by the host, not by {DOMAIN}"
        results.append(
            {
                "name": "log: no ERROR record",
                "ok": not errors,
                "detail": detail,
                "seconds": 0,
                "records": errors + [f"tolerated: {line}" for line in host],
            }
        )
        results.append(
            {
                "name": f"log: no deprecation warning about {DOMAIN}",
                "ok": not deprecations,
                "detail": f"{len(deprecations)} record(s)" if deprecations else "none",
                "seconds": 0,
                "records": deprecations,
            }
        )
    else:
        results.append({"name": "log", "ok": False, "detail": f"{log} is missing", "seconds": 0})
    print(f"\nnewest Home Assistant check: Home Assistant {version}")
    for result in results:
        print(
            f"  {'OK  ' if result['ok'] else 'FAIL'} {result['name']:<44} {result['seconds']:6.2f} s  {result['detail']}"
        )
        for record in result.get("records", []):
            print(_excerpt(record))
    if timings:
        print("  timings: " + ", ".join(timings))
    print(f"  log: {log}")
    ok = all(result["ok"] for result in results)
    print("newest Home Assistant check: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def main() -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("requirements", help="print the requirements to install (newest HA's venv)")
    cmd.add_argument("--manifest", type=Path, default=MANIFEST)
    cmd = commands.add_parser("live", help="drive the running Home Assistant and simulator")
    cmd.add_argument("--ha", required=True)
    cmd.add_argument("--simulator", required=True)
    cmd.add_argument("--results", type=Path, required=True)
    cmd = commands.add_parser("report", help="scan the log and print the report")
    cmd.add_argument("--results", type=Path, required=True)
    cmd.add_argument("--log", type=Path, required=True)
    cmd.add_argument("--version", default="?")
    cmd.add_argument("--timing", action="append", default=[], help="NAME=SECONDS, printed in the report")
    args = parser.parse_args()
    if args.command == "requirements":
        print("\n".join(requirements(args.manifest)))
        return 0
    if args.command == "live":
        results = asyncio.run(live(args.ha.rstrip("/"), args.simulator.rstrip("/")))
        args.results.write_text(json.dumps(results, indent=2), encoding="utf-8")
        return 0 if all(result["ok"] for result in results) else 1
    return report(args.results, args.log, args.version, args.timing)


if __name__ == "__main__":
    sys.exit(main())
