"""Costs against Home Assistant's own floor, measured side by side in one Home Assistant, 500 lines.

Run with ``scripts/benchmark -k cost``. Numbers are printed, never asserted against a
threshold (the test only checks that what it measures happened: every push wrote its state).

- **CPU per DND push**: the CPU time (user + system) of the Home Assistant process per push,
  from the webhook's HTTP request until the switch's state is written, against a bare
  webhook handler registered in the same Home Assistant that reads the same JSON body and
  writes one state per POST. The pushes are real ones: the simulator makes each DND change
  and its push body is kept; a separate process then POSTs the bodies one at a time, over
  loopback HTTP, to our webhook and to the bare one, so the sender's CPU is not counted.
  ``ROUNDS`` rounds of one change per line, each round sent to each handler in turn (each
  round starting with the next handler); the
  best round of each counts (as ``timeit`` does), after the registries' delayed saves; the
  median over the rounds of the ratio within each round is given too (less noisy).
  Besides the bare handler (one ``async_set``), the same bodies go to one writing the two
  states a DND push of ours writes (the switch and the line status), to one writing them
  through two minimal entities of the same platforms, and to an empty one (HTTP and the
  webhook component alone).
- **Memory per line entity**: Python allocations held (``tracemalloc``) once our entry with
  500 lines is loaded, divided by its entities, against a minimal integration that adds,
  for each of our entities, an entity of the same platform with no coordinator (a
  unique id, a device per line, the same entities disabled by default), set up in the same
  Home Assistant. The platforms are set up before either is measured.

``VTX_BENCH_PROFILE=1`` prints, while our webhook handles pushes (cProfile, CPU time of
the event-loop thread), the 25 functions with most own time and the integration's 25 with
most cumulative time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
import cProfile
import gc
import importlib
import io
import json
import os
from pathlib import Path
import pstats
import re
import statistics
import sys
import time
import tracemalloc

from aiohttp import ClientSession, web
from homeassistant.components import webhook
from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.button import ButtonEntity
from homeassistant.components.event import EventEntity
from homeassistant.components.sensor import SensorEntity
from homeassistant.components.switch import SwitchEntity
from homeassistant.components.text import TextEntity
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.vtx_voip.const import DOMAIN
from tests.integration.conftest import demo_entry, line_subentry
from vtx_simulator import Simulator

from .conftest import FIRST_USER_ID, record, seed_with_lines, sized

# VTX_BENCH_COST_LINES: fewer lines for a quick run (20 in the quick mode).
LINES = int(os.environ.get("VTX_BENCH_COST_LINES", sized("500", "20")))
ROUNDS = sized(10, 2)
# The registries' delayed saves (10 s) are let pass before measuring.
SETTLE_SECONDS = 12
MINIMAL = "bench_minimal"
BARE_WEBHOOK_ID = "bench_bare_webhook"
BARE_TWO_WEBHOOK_ID = "bench_bare_two_webhook"
EMPTY_WEBHOOK_ID = "bench_empty_webhook"
ENTITIES_WEBHOOK_ID = "bench_entities_webhook"
PROFILE = os.environ.get("VTX_BENCH_PROFILE") == "1"
# Set-up with tracemalloc at 500 lines takes minutes.
pytestmark = pytest.mark.timeout(1800)
PLATFORMS = ("binary_sensor", "button", "event", "sensor", "switch", "text")

# The sender: POSTs each body of a JSON file to its URL, one at a time; prints the statuses.
SENDER = """
import asyncio, collections, json, sys
import aiohttp

async def main(path):
    with open(path, encoding="utf-8") as file:
        requests = json.load(file)
    statuses = collections.Counter()
    async with aiohttp.ClientSession() as session:
        for url, body, headers in requests:
            async with session.post(url, data=body.encode(), headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
    print(json.dumps(statuses))

asyncio.run(main(sys.argv[1]))
"""


class _Minimal(Entity):
    """What every minimal entity has: a name, a unique id and a line's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, line: int, key: str, enabled: bool) -> None:
        self.line, self.key = line, key
        self._attr_name = key
        self._attr_unique_id = f"{line}_{key}"
        self._attr_entity_registry_enabled_default = enabled
        self._attr_device_info = DeviceInfo(identifiers={(MINIMAL, str(line))}, name=f"Minimal {line}")


class _MinimalSwitch(_Minimal, SwitchEntity):
    _attr_is_on = False

    def show(self, on: bool) -> None:
        """Write a new state."""
        self._attr_is_on = on
        self.async_write_ha_state()


class _MinimalBinarySensor(_Minimal, BinarySensorEntity):
    _attr_is_on = False


class _MinimalSensor(_Minimal, SensorEntity):
    _attr_native_value = None

    def show(self, value: str) -> None:
        """Write a new state."""
        self._attr_native_value = value
        self.async_write_ha_state()


class _MinimalText(_Minimal, TextEntity):
    _attr_native_value = ""


class _MinimalButton(_Minimal, ButtonEntity):
    async def async_press(self) -> None:
        """Do nothing."""


class _MinimalEvent(_Minimal, EventEntity):
    _attr_event_types = ["call"]


class _MinimalFlow(ConfigFlow):
    """The minimal integration's config flow (never shown)."""

    VERSION = 1


MINIMAL_CLASSES: dict[str, type[_Minimal]] = {
    "binary_sensor": _MinimalBinarySensor,
    "button": _MinimalButton,
    "event": _MinimalEvent,
    "sensor": _MinimalSensor,
    "switch": _MinimalSwitch,
    "text": _MinimalText,
}


def _paired_ratio(ours: list[float], floor: list[float]) -> float:
    """The median over the rounds of ours against the floor in the same round (seconds apart).

    The machine's speed drifts over minutes; two handlers measured within one round share
    that drift, so their ratio varies less than the ratio of the best rounds.
    """
    return statistics.median(mine / theirs for mine, theirs in zip(ours, floor, strict=True))


def _held_bytes(before: tracemalloc.Snapshot) -> int:
    """Bytes allocated since ``before`` and still held (the simulator's own files excluded)."""
    gc.collect()
    after = tracemalloc.take_snapshot()
    own = tracemalloc.Filter(False, "*vtx_simulator*")
    return sum(
        stat.size_diff for stat in after.filter_traces([own]).compare_to(before.filter_traces([own]), "filename")
    )


@pytest.fixture
async def cost_setup(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, socket_enabled: None
) -> AsyncGenerator[tuple[str, ClientSession]]:
    """Home Assistant's server on a real port (URL yielded), production-like logging and loop."""
    hass.loop.set_debug(False)
    assert await async_setup_component(hass, "webhook", {})
    assert await async_setup_component(hass, DOMAIN, {})
    for platform in PLATFORMS:
        assert await async_setup_component(hass, platform, {})
    client = await hass_client_no_auth()
    async with ClientSession() as session:
        yield f"http://127.0.0.1:{client.server.port}", session


async def _send(requests: list[tuple[str, str, dict[str, str]]], path: Path) -> Counter[str]:
    """POST the requests one at a time from a process of its own; return the statuses."""
    await asyncio.to_thread(path.write_text, json.dumps(requests), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SENDER, str(path), stdout=asyncio.subprocess.PIPE
    )
    out, _err = await process.communicate()
    assert process.returncode == 0
    return Counter(json.loads(out))


async def _setup_minimal(
    hass: HomeAssistant, entities: list[tuple[str, int, str, bool]], created: dict[tuple[int, str], _Minimal]
) -> MockConfigEntry:
    """Set up the minimal integration with the given entities (platform, line, key, enabled) into ``created``."""

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
        return True

    mock_integration(hass, MockModule(MINIMAL, async_setup_entry=setup_entry))
    for platform in PLATFORMS:

        async def setup_platform(
            hass: HomeAssistant, entry: ConfigEntry, add: AddEntitiesCallback, platform: str = platform
        ) -> None:
            cls = MINIMAL_CLASSES[platform]
            made = [cls(line, key, enabled) for kind, line, key, enabled in entities if kind == platform]
            created.update({(entity.line, entity.key): entity for entity in made})
            add(made)

        mock_platform(hass, f"{MINIMAL}.{platform}", MockPlatform(async_setup_entry=setup_platform))
    mock_platform(hass, f"{MINIMAL}.config_flow", None)
    entry = MockConfigEntry(domain=MINIMAL)
    entry.add_to_hass(hass)
    with mock_config_flow(MINIMAL, _MinimalFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    return entry


async def test_cost_ratios(hass: HomeAssistant, cost_setup: tuple[str, ClientSession], tmp_path: Path) -> None:
    """CPU per DND push and memory per line entity, ours against Home Assistant's floor, 500 lines."""
    server_url, session = cost_setup
    captured: list[tuple[str, str, dict[str, str]]] | None = None

    async def transport(url: str, body: bytes, headers: dict[str, str]) -> int:
        if captured is not None:
            captured.append((url, body.decode(), dict(headers)))
            return 200
        async with session.post(url, data=body, headers=headers) as response:
            return response.status

    simulator = Simulator(seed_with_lines(LINES), push_transport=transport)
    await simulator.start()
    try:
        # --- memory: ours, then the minimal entities of the same platforms ------------
        for module in PLATFORMS:  # their code is loaded before, as the minimal ones' is
            importlib.import_module(f"custom_components.vtx_voip.{module}")
        entry = demo_entry(
            simulator.base_url,
            options={"push_base_url": server_url},
            subentries_data=[line_subentry(FIRST_USER_ID + index, f"Bench {index}") for index in range(LINES)],
        )
        entry.add_to_hass(hass)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        ours_bytes = _held_bytes(before)
        tracemalloc.stop()
        registry = er.async_get(hass)
        ours = er.async_entries_for_config_entry(registry, entry.entry_id)
        line_entities = [
            (item.domain, int(device_line), str(item.unique_id).split("_", 1)[1], item.disabled_by is None)
            for item in ours
            if item.device_id
            and (device_line := str(item.unique_id).split("_", 1)[0]).isdigit()
            and int(device_line) >= FIRST_USER_ID
        ]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        minimal_entities: dict[tuple[int, str], _Minimal] = {}
        minimal_entry = await _setup_minimal(hass, line_entities, minimal_entities)
        minimal_bytes = _held_bytes(before)
        tracemalloc.stop()
        minimal = er.async_entries_for_config_entry(registry, minimal_entry.entry_id)
        assert len(minimal) == len(line_entities)
        per_ours = ours_bytes / len(ours)
        per_minimal = minimal_bytes / len(minimal)
        domains = Counter(item.domain for item in ours)
        record(
            f"cost: memory per line entity, {LINES} lines (tracemalloc, held after set-up)",
            ["entities", "platforms", "ours KiB", "minimal KiB", "ours B/entity", "minimal B/entity", "ratio"],
            [
                f"{len(ours)} / {len(minimal)}",
                " ".join(f"{domain}:{count}" for domain, count in sorted(domains.items())),
                f"{ours_bytes / 1024:.0f}",
                f"{minimal_bytes / 1024:.0f}",
                f"{per_ours:.0f}",
                f"{per_minimal:.0f}",
                f"{per_ours / per_minimal:.2f}",
            ],
        )

        # --- CPU per push: ours, then the bare handler, with the same bodies ---------
        # Each bare handler writes states of its own: a state written again unchanged costs less.
        bare_states = {
            webhook_id: [f"switch.bench_bare_{kind}_{index}" for index in range(LINES)]
            for kind, webhook_id in (("one", BARE_WEBHOOK_ID), ("two", BARE_TWO_WEBHOOK_ID))
        }
        for states in bare_states.values():
            for entity_id in states:
                hass.states.async_set(entity_id, "off")

        status_states = [f"sensor.bench_bare_{index}_status" for index in range(LINES)]
        for entity_id in status_states:
            hass.states.async_set(entity_id, "available")

        async def bare(hass: HomeAssistant, webhook_id: str, request: web.Request) -> None:
            """Read the body, write the switch's state: Home Assistant's floor for a push."""
            body = await request.json()
            feature = body["featureEvents"][0]["feature"]
            index = (int(feature["userId"]) - FIRST_USER_ID) % LINES
            hass.states.async_set(bare_states[webhook_id][index], "on" if feature["status"] == "ACTIVE" else "off")
            if webhook_id == BARE_TWO_WEBHOOK_ID:  # and the line's status, as ours writes both
                on = feature["status"] == "ACTIVE"
                hass.states.async_set(status_states[index], "do_not_disturb" if on else "available")

        async def entities(hass: HomeAssistant, webhook_id: str, request: web.Request) -> None:
            """Read the body, write the two states through minimal entities of the same platforms."""
            body = await request.json()
            feature = body["featureEvents"][0]["feature"]
            on = feature["status"] == "ACTIVE"
            line = int(feature["userId"])
            switch = minimal_entities[(line, "do_not_disturb")]
            status = minimal_entities[(line, "line_status")]
            assert isinstance(switch, _MinimalSwitch)
            assert isinstance(status, _MinimalSensor)
            switch.show(on)
            status.show("do_not_disturb" if on else "available")

        async def empty(hass: HomeAssistant, webhook_id: str, request: web.Request) -> None:
            """Read the body, write nothing: what HTTP and the webhook component cost."""
            await request.read()

        webhook.async_register(hass, "bench", "bare", BARE_WEBHOOK_ID, bare)
        webhook.async_register(hass, "bench", "bare, two states", BARE_TWO_WEBHOOK_ID, bare)
        webhook.async_register(hass, "bench", "empty", EMPTY_WEBHOOK_ID, empty)
        webhook.async_register(hass, "bench", "minimal entities", ENTITIES_WEBHOOK_ID, entities)
        switches = {f"switch.bench_{index}_do_not_disturb" for index in range(LINES)}
        written: Counter[str] = Counter()
        # Every state our pushes wrote, by entity (the line's number left out).
        ours_writes: Counter[str] = Counter()

        @callback
        def on_change(event: Event[EventStateChangedData]) -> None:
            entity_id = event.data["entity_id"]
            if entity_id in switches:
                written["ours"] += 1
            if entity_id.startswith("switch.bench_bare_"):
                written["bare"] += 1
            elif "_bare_" not in entity_id and not entity_id.split(".", 1)[1].startswith("minimal_"):
                ours_writes[re.sub(r"_\d+_", "_N_", entity_id)] += 1

        unsub = hass.bus.async_listen("state_changed", on_change)
        # The registries save 10 s after the set-ups (Home Assistant's delayed writes): let
        # them, so that no round of either pays for them.
        await asyncio.sleep(SETTLE_SECONDS)
        await hass.async_block_till_done()
        cpu: dict[str, list[float]] = {"ours": [], "bare": [], "bare2": [], "entities": [], "empty": []}
        profiler = cProfile.Profile(time.process_time) if PROFILE else None  # CPU time, not wall
        requests_before = simulator.total_requests()
        pushes = 0
        handlers: list[tuple[str, str | None]] = [
            ("ours", None),
            ("bare", BARE_WEBHOOK_ID),
            ("bare2", BARE_TWO_WEBHOOK_ID),
            ("entities", ENTITIES_WEBHOOK_ID),
            ("empty", EMPTY_WEBHOOK_ID),
        ]
        for round_ in range(ROUNDS):
            captured = []
            for index in range(LINES):
                simulator.set_dnd(FIRST_USER_ID + index, round_ % 2 == 0)
            await simulator.wait_for_pushes(within=60)
            bodies, captured = captured, None
            assert bodies
            pushes += len(bodies)
            # Each round starts with another handler: what the round's set-up leaves behind
            # (the simulator's pushes, a timer) does not always fall on the same one.
            shift = round_ % len(handlers)
            for name, webhook_id in handlers[shift:] + handlers[:shift]:
                requests = [
                    (url if webhook_id is None else f"{server_url}/api/webhook/{webhook_id}", body, head)
                    for url, body, head in bodies
                ]
                await hass.async_block_till_done()
                start = time.process_time()
                if profiler is not None and name == "ours":
                    profiler.enable()
                statuses = await _send(requests, tmp_path / f"{name}.json")
                await hass.async_block_till_done()
                if profiler is not None and name == "ours":
                    profiler.disable()
                cpu[name].append((time.process_time() - start) / len(requests))
                assert statuses == {"200": len(requests)}, statuses
        unsub()
        # Every push wrote its switch's state, in ours and in the bare handler.
        assert written == {"ours": pushes, "bare": 2 * pushes}, written
        # The best round of each, as timeit does: a round that met background work (a
        # presence read, a timer) says less about a push.
        ours_cpu, bare_cpu, bare2_cpu, entities_cpu, empty_cpu = (
            min(cpu[name]) * 1e6 for name in ("ours", "bare", "bare2", "entities", "empty")
        )
        record(
            f"cost: CPU per DND push, webhook to state written, {LINES} lines (Home Assistant process)",
            [
                "pushes",
                "API requests meanwhile",
                "states written per push (ours)",
                "ours us/push",
                "bare us/push",
                "ratio",
                "bare, 2 states us",
                "ratio to it",
                "minimal entities, 2 states us",
                "ratio to them",
                "empty handler us",
                "median round ratio to bare",
                "to minimal entities",
                "ours per round us",
            ],
            [
                pushes,
                simulator.total_requests() - requests_before,
                " ".join(f"{name}:{count / pushes:.2f}" for name, count in sorted(ours_writes.items())),
                f"{ours_cpu:.0f}",
                f"{bare_cpu:.0f}",
                f"{ours_cpu / bare_cpu:.2f}",
                f"{bare2_cpu:.0f}",
                f"{ours_cpu / bare2_cpu:.2f}",
                f"{entities_cpu:.0f}",
                f"{ours_cpu / entities_cpu:.2f}",
                f"{empty_cpu:.0f}",
                f"{_paired_ratio(cpu['ours'], cpu['bare']):.2f}",
                f"{_paired_ratio(cpu['ours'], cpu['entities']):.2f}",
                " ".join(f"{value * 1e6:.0f}" for value in cpu["ours"]),
            ],
        )
        if profiler is not None:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats("vtx_voip", 25)
            print(out.getvalue())
    finally:
        await simulator.stop()
