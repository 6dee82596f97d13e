"""The automation blueprints, loaded by Home Assistant's blueprint integration and run against the simulator."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import Blueprint
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_persistent_notifications,
)

from custom_components.vtx_voip.const import DOMAIN
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102

BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / DOMAIN
DND_101 = "switch.room_101_do_not_disturb"
DND_102 = "switch.room_102_do_not_disturb"
PUT_FEATURE = "PUT /openapi/v1/feat/{feature_id}"


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A configuration directory of the test's own, to copy the blueprints into."""
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
async def pushes_settle(simulator: Simulator) -> AsyncGenerator[None]:
    """Let the simulator's last pushes reach Home Assistant before tearing down."""
    yield
    await simulator.wait_for_pushes()


@pytest.fixture
async def blueprints(hass: HomeAssistant) -> None:
    """Install the blueprints as a user would: in blueprints/automation/vtx_voip/.

    Also set up what a real instance always has: the core actions and notifications.
    """
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "persistent_notification", {})
    target = Path(hass.config.path("blueprints", "automation", DOMAIN))

    def install() -> None:
        target.mkdir(parents=True, exist_ok=True)
        for path in BLUEPRINTS.glob("*.yaml"):
            shutil.copy(path, target / path.name)

    await hass.async_add_executor_job(install)


async def setup_automations(hass: HomeAssistant, *instances: tuple[str, dict[str, Any]]) -> None:
    """Set up one automation per (blueprint file, inputs)."""
    config = [
        {
            "alias": f"{name.removesuffix('.yaml')} {index}",
            "use_blueprint": {"path": f"{DOMAIN}/{name}", "input": inputs},
        }
        for index, (name, inputs) in enumerate(instances)
    ]
    assert await async_setup_component(hass, "automation", {"automation": config})
    await hass.async_block_till_done()
    for index, (name, _) in enumerate(instances):
        entity_id = f"automation.{name.removesuffix('.yaml')}_{index}"
        assert hass.states.get(entity_id).state == STATE_ON, entity_id


async def settle(hass: HomeAssistant, simulator: Simulator) -> None:
    """Wait for the simulator's pushes and what they set off in Home Assistant."""
    for _ in range(3):
        await simulator.wait_for_pushes()
        await hass.async_block_till_done()


async def action(hass: HomeAssistant, domain: str, service: str, entity_id: str, **data: Any) -> None:
    """Call an action on an entity, blocking."""
    await hass.services.async_call(domain, service, {"entity_id": entity_id, **data}, blocking=True)


def line_device(hass: HomeAssistant, user_id: int) -> str:
    """The device id of a line."""
    entity = er.async_get(hass).async_get(f"switch.room_{'101' if user_id == ROOM_101 else '102'}_do_not_disturb")
    assert entity is not None
    assert entity.device_id is not None
    return entity.device_id


def notifications(hass: HomeAssistant) -> list[dict[str, Any]]:
    """The persistent notifications, oldest first."""
    return [dict(item) for item in async_get_persistent_notifications(hass).values()]


def dnd(simulator: Simulator, user_id: int) -> str:
    """DND on the simulator."""
    return str(simulator.feature(user_id, "CENTRAL_DND")["status"])


@pytest.mark.usefixtures("blueprints")
async def test_blueprints_are_valid(hass: HomeAssistant) -> None:
    """Each file is an automation blueprint Home Assistant loads, its line inputs filtered to VTX VoIP."""
    loaded = await async_get_blueprints(hass).async_get_blueprints()
    assert set(loaded) == {
        f"{DOMAIN}/room_dnd_led.yaml",
        f"{DOMAIN}/missed_call_notification.yaml",
        f"{DOMAIN}/check_out.yaml",
    }
    for path, blueprint in loaded.items():
        assert isinstance(blueprint, Blueprint), path
        assert blueprint.domain == "automation"
        assert blueprint.metadata["source_url"].endswith(path.removeprefix(f"{DOMAIN}/"))
    inputs = {path.split("/")[1]: blueprint.inputs for path, blueprint in loaded.items()}  # type: ignore[union-attr]
    assert inputs["room_dnd_led.yaml"]["dnd_switch"]["selector"]["entity"]["filter"] == [
        {"integration": DOMAIN, "domain": ["switch"]}
    ]
    assert inputs["missed_call_notification.yaml"]["call_events"]["selector"]["entity"]["filter"] == [
        {"integration": DOMAIN, "domain": ["event"]}
    ]
    assert inputs["check_out.yaml"]["line"]["selector"]["device"]["filter"] == [
        {"integration": DOMAIN, "model": "VPBX line"}
    ]


# --- Room DND LED ---------------------------------------------------------------------------
@pytest.mark.usefixtures("blueprints")
async def test_room_dnd_led_with_a_room_switch(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The LED follows the phone; the room switch sets the phone and follows it; nothing loops."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"led_101": {}, "switch_101": {}}})
    await setup_automations(
        hass,
        (
            "room_dnd_led.yaml",
            {"dnd_switch": DND_101, "led": "input_boolean.led_101", "room_control": "input_boolean.switch_101"},
        ),
    )

    # DND pressed on the phone: pushed to Home Assistant, the LED and the room switch follow.
    simulator.reset_request_counts()
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    assert hass.states.get(DND_101).state == STATE_ON
    assert hass.states.get("input_boolean.led_101").state == STATE_ON
    assert hass.states.get("input_boolean.switch_101").state == STATE_ON
    assert PUT_FEATURE not in simulator.request_counts()

    # The room switch turned off: the phone's DND goes off (one write), the LED follows.
    await action(hass, "input_boolean", "turn_off", "input_boolean.switch_101")
    await settle(hass, simulator)
    assert dnd(simulator, ROOM_101) == "INACTIVE"
    assert hass.states.get(DND_101).state == STATE_OFF
    assert hass.states.get("input_boolean.led_101").state == STATE_OFF
    assert simulator.request_counts()[PUT_FEATURE] == 1

    # And on again.
    await action(hass, "input_boolean", "turn_on", "input_boolean.switch_101")
    await settle(hass, simulator)
    assert dnd(simulator, ROOM_101) == "ACTIVE"
    assert hass.states.get("input_boolean.led_101").state == STATE_ON
    assert simulator.request_counts()[PUT_FEATURE] == 2
    # Room 102 was left alone.
    assert dnd(simulator, ROOM_102) == "INACTIVE"


@pytest.mark.usefixtures("blueprints")
async def test_room_dnd_led_with_a_button(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A room button toggles the phone's DND at each press; the LED follows the phone."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"led_102": {}}})
    assert await async_setup_component(hass, "input_button", {"input_button": {"button_102": {}}})
    await setup_automations(
        hass,
        (
            "room_dnd_led.yaml",
            {"dnd_switch": DND_102, "led": "input_boolean.led_102", "room_control": "input_button.button_102"},
        ),
    )
    await action(hass, "input_button", "press", "input_button.button_102")
    await settle(hass, simulator)
    assert dnd(simulator, ROOM_102) == "ACTIVE"
    assert hass.states.get("input_boolean.led_102").state == STATE_ON

    await action(hass, "input_button", "press", "input_button.button_102")
    await settle(hass, simulator)
    assert dnd(simulator, ROOM_102) == "INACTIVE"
    assert hass.states.get("input_boolean.led_102").state == STATE_OFF


@pytest.mark.usefixtures("blueprints")
async def test_room_dnd_led_without_a_room_control(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Without a room control, the LED still follows the phone, DND from Home Assistant included."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"led_101": {}}})
    await setup_automations(hass, ("room_dnd_led.yaml", {"dnd_switch": DND_101, "led": "input_boolean.led_101"}))
    await action(hass, "switch", "turn_on", DND_101)
    await settle(hass, simulator)
    assert hass.states.get("input_boolean.led_101").state == STATE_ON
    simulator.set_dnd(ROOM_101, False)
    await settle(hass, simulator)
    assert hass.states.get("input_boolean.led_101").state == STATE_OFF


# --- Missed call notification ---------------------------------------------------------------
@pytest.mark.usefixtures("blueprints")
async def test_missed_call_notification_every_line(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """With no line picked, every line's missed call (and only missed ones) is notified."""
    await setup_automations(hass, ("missed_call_notification.yaml", {}))
    simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", duration=42)
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=10)
    await settle(hass, simulator)
    assert notifications(hass) == []

    simulator.make_call(ROOM_101, direction="incoming", number="+41794445566", missed=True)
    await settle(hass, simulator)
    [notification] = notifications(hass)
    assert notification["title"] == "Missed call"
    assert notification["message"] == "Missed call on Room 101 from +41794445566."


@pytest.mark.usefixtures("blueprints")
async def test_missed_call_notification_picked_lines(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """With lines picked, only their missed calls are notified, through the given action."""
    await setup_automations(
        hass,
        (
            "missed_call_notification.yaml",
            {
                "call_events": ["event.room_102_call"],
                "notify": [
                    {
                        "action": "persistent_notification.create",
                        "data": {
                            "notification_id": "front_desk",
                            "title": "{{ missed_call.line }}",
                            "message": "Call back {{ missed_call.number }} ({{ missed_call.dialled_number }})",
                        },
                    }
                ],
            },
        ),
    )
    simulator.make_call(ROOM_101, direction="incoming", number="+41794445566", missed=True)
    await settle(hass, simulator)
    assert notifications(hass) == []

    simulator.make_call(ROOM_102, direction="incoming", number="+41797778899", missed=True)
    await settle(hass, simulator)
    [notification] = notifications(hass)
    assert notification["notification_id"] == "front_desk"
    assert notification["title"] == "Room 102"
    assert notification["message"].startswith("Call back +41797778899 (")


# --- Check-out ------------------------------------------------------------------------------
async def _travel(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _guest_stay(hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory) -> None:
    """An old call, then (after the caller checks in) a stay in Room 101: calls, DND and a forward."""
    simulator.make_call(ROOM_101, direction="outgoing", number="+41220000000", duration=600)
    await settle(hass, simulator)
    await _travel(hass, freezer, timedelta(days=3))


async def _stay_calls(hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory) -> None:
    await _travel(hass, freezer, timedelta(hours=2))
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95)
    await settle(hass, simulator)
    await _travel(hass, freezer, timedelta(hours=1))
    simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", duration=30)
    simulator.make_call(ROOM_101, direction="incoming", number="+41794445566", missed=True)
    simulator.set_dnd(ROOM_101, True)
    simulator.set_forward(ROOM_101, "unconditional", True, "+41791234567")
    await settle(hass, simulator)
    await _travel(hass, freezer, timedelta(hours=1))


@pytest.mark.usefixtures("blueprints")
async def test_check_out(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Check-in by a button starts the stay; check-out bills it, resets the line and sends the priced totals."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry,
        options={
            **config_entry.options,
            "tariffs": {"national_fixed": {"price_per_minute": "0.08", "billing": "per_minute", "setup_price": "0.10"}},
        },
    )
    hass.config.currency = "CHF"
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    baseline_forward = simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL")
    assert await async_setup_component(
        hass, "input_button", {"input_button": {"check_out_101": {}, "check_in_101": {}}}
    )
    assert await async_setup_component(hass, "input_text", {"input_text": {"guest_101": {"initial": "Ms Muster"}}})
    await setup_automations(
        hass,
        (
            "check_out.yaml",
            {
                "line": line_device(hass, ROOM_101),
                "checked_out": "input_button.check_out_101",
                "checked_in": "input_button.check_in_101",
                "guest": "input_text.guest_101",
            },
        ),
    )
    await _guest_stay(hass, simulator, freezer)
    await action(hass, "input_button", "press", "input_button.check_in_101")
    await settle(hass, simulator)
    check_in = dt_util.now()
    cost = hass.states.get("sensor.room_101_stay_call_cost")
    assert cost is not None
    assert cost.attributes["guest"] == "Ms Muster"
    await _stay_calls(hass, simulator, freezer)
    assert hass.states.get("sensor.room_101_stay_calls").state == "3"

    await action(hass, "input_button", "press", "input_button.check_out_101")
    await settle(hass, simulator)

    assert dnd(simulator, ROOM_101) == "INACTIVE"
    assert simulator.feature(ROOM_101, "CALL_FORWARD_UNCONDITIONAL") == baseline_forward
    assert hass.states.get(DND_101).state == STATE_OFF
    [notification] = notifications(hass)
    assert notification["title"] == "Check-out: Room 101"
    # 95 s to a fixed line: 0.10 + 2 x 0.08; incoming calls free.
    assert notification["message"] == (
        f"Guest: Ms Muster. Calls since {check_in.strftime('%d.%m.%Y %H:%M')}: 3 (1 outgoing, 1 incoming, 1 missed).\n"
        "Outgoing call time: 1 min 35 s (95 s).\n"
        "Cost: CHF 0.26.\n"
        "Put back: do not disturb, forward all calls."
    )
    assert hass.states.get("sensor.room_101_stay_calls").state == "unknown"


@pytest.mark.usefixtures("blueprints", "entity_registry_enabled_by_default")
async def test_check_out_by_the_line_button_and_failures(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The line's own Check out button sends the summary; no stay, or the API down, are told."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"checked_out_101": {}}})
    await setup_automations(
        hass,
        (
            "check_out.yaml",
            {
                "line": line_device(hass, ROOM_101),
                "checked_out": "input_boolean.checked_out_101",
                "notify": [
                    {
                        "action": "persistent_notification.create",
                        "data": {
                            "title": "{{ line_name }}",
                            "message": "{{ totals.calls if totals else 'none' }} | {{ summary }}",
                        },
                    }
                ],
            },
        ),
    )
    await _guest_stay(hass, simulator, freezer)
    await hass.services.async_call(
        DOMAIN, "check_in", {}, target={"device_id": line_device(hass, ROOM_101)}, blocking=True
    )
    await _stay_calls(hass, simulator, freezer)
    button = er.async_get(hass).async_get_entity_id("button", DOMAIN, f"{ROOM_101}_check_out")
    assert button is not None
    await action(hass, "button", "press", button)
    await settle(hass, simulator)
    [notification] = notifications(hass)
    # The stay only: the call from before check-in is not on it.
    assert notification["message"].startswith("3 | Calls since ")
    assert "(1 outgoing, 1 incoming, 1 missed)" in notification["message"]
    assert notification["message"].endswith("Put back: do not disturb, forward all calls.")
    assert dnd(simulator, ROOM_101) == "INACTIVE"

    # Turned on with no stay open: told, nothing else happens.
    await action(hass, "input_boolean", "turn_on", "input_boolean.checked_out_101")
    await settle(hass, simulator)
    assert notifications(hass)[-1]["message"] == "none | No stay could be checked out on this line."
    await action(hass, "input_boolean", "turn_off", "input_boolean.checked_out_101")
    await settle(hass, simulator)
    assert len(notifications(hass)) == 2

    # With the API failing: the bill still comes from the ledger, the reset is told as failed.
    await hass.services.async_call(
        DOMAIN, "check_in", {}, target={"device_id": line_device(hass, ROOM_101)}, blocking=True
    )
    await _travel(hass, freezer, timedelta(minutes=10))
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=60)
    simulator.set_dnd(ROOM_101, True)
    await settle(hass, simulator)
    simulator.fail_next(503, count=None)
    await action(hass, "input_boolean", "turn_on", "input_boolean.checked_out_101")
    await hass.async_block_till_done()
    simulator.clear_faults()
    message = notifications(hass)[-1]["message"]
    assert message.startswith("1 | Calls since ")
    assert message.endswith(
        "(60 s).\nCost: EUR 0.00.\nThe line could not be reset yet: it is tried again until it is back to its baseline."
    )
    assert dnd(simulator, ROOM_101) == "ACTIVE"
    # One summary per check-out, though the action's check-out fires the event too.
    assert len(notifications(hass)) == 3
    # The reset left pending is done once the API answers again.
    await _travel(hass, freezer, timedelta(minutes=1))
    assert dnd(simulator, ROOM_101) == "INACTIVE"
    assert init_integration.runtime_data.stays.reset_pending(ROOM_101) is None
