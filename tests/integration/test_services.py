"""Actions: set_call_forward (with until), reset_line, save_baseline, get_call_history."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import area_registry as ar, device_registry as dr, entity_registry as er
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.vtx_voip.const import DOMAIN
from custom_components.vtx_voip.lines.manager import REVERT_RETRY_DELAY
from vtx_simulator import Simulator

from .conftest import ROOM_101, ROOM_102

CFU = "CALL_FORWARD_UNCONDITIONAL"
CFU_DATA = "callForwardUnconditionalData"
CFB = "CALL_FORWARD_BUSY"
DND = "CENTRAL_DND"
GET_FEATURE = "GET /openapi/v1/feat/{feature_id}"
PUT_FEATURE = "PUT /openapi/v1/feat/{feature_id}"
GET_FEATURES = "GET /openapi/v1/users/{user_id}/feat"
MOBILE = "+41791234567"


@pytest.fixture(autouse=True)
async def pushes_settle(simulator: Simulator) -> AsyncGenerator[None]:
    """Let the simulator's last pushes reach Home Assistant before tearing down."""
    yield
    await simulator.wait_for_pushes()


def line_device(hass: HomeAssistant, user_id: int) -> str:
    """The device id of a line."""
    ent_reg = er.async_get(hass)
    entity_id = ent_reg.async_get_entity_id("button", DOMAIN, f"{user_id}_reset_line")
    assert entity_id is not None
    entity = ent_reg.async_get(entity_id)
    assert entity is not None
    assert entity.device_id is not None
    return entity.device_id


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any] | None = None, *, response: bool = True, **target: Any
) -> Any:
    """Call one of the integration's actions, blocking; return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data or {}, target=target or None, blocking=True, return_response=response
    )


async def travel(hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: datetime | timedelta) -> None:
    """Move the clock (to an instant or by a delta) and run what falls due, polls included."""
    if isinstance(to, timedelta):
        freezer.tick(to)
    else:
        freezer.move_to(to)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def status(simulator: Simulator, user_id: int, feat_name: str) -> str:
    """A feature's status on the simulator."""
    return str(simulator.feature(user_id, feat_name)["status"])


def cfu_destination(simulator: Simulator, user_id: int) -> str:
    """The unconditional forward's destination on the simulator."""
    return str(simulator.feature(user_id, CFU)[CFU_DATA]["destinationUri"])


async def test_action_descriptions(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """services.yaml loads: every action targets VTX VoIP entities (and so their devices), with its fields."""
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == {
        "set_call_forward",
        "reset_line",
        "save_baseline",
        "get_call_history",
        "check_in",
        "check_out",
    }
    for description in descriptions.values():
        # hassfest refuses device filters on a target; the entity filter still offers the devices.
        assert description["target"] == {"entity": [{"integration": DOMAIN}]}
    assert set(descriptions["set_call_forward"]["fields"]) == {"forward", "destination", "enabled", "until"}
    assert descriptions["set_call_forward"]["fields"]["forward"]["selector"]["select"]["options"] == [
        "unconditional",
        "busy",
        "timeout",
        "not_reachable",
        "unregistered",
    ]
    assert set(descriptions["get_call_history"]["fields"]) == {"start", "end"}
    assert descriptions["get_call_history"]["response"] == {"optional": False}
    assert set(descriptions["check_in"]["fields"]) == {"guest"}
    assert descriptions["check_out"]["response"] == {"optional": True}


# --- set_call_forward -------------------------------------------------------------------
async def test_set_call_forward_by_device(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A forward set on a line device: normalised destination, one GET and one PUT, the change returned."""
    original = cfu_destination(simulator, ROOM_101)
    simulator.reset_request_counts()
    result = await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": "+41 79 123 45 67"},
        device_id=line_device(hass, ROOM_101),
    )
    assert result == {
        "lines": [
            {
                "line": "Room 101",
                "user_id": ROOM_101,
                "feature": CFU,
                "before": {"status": "INACTIVE", "destination": original},
                "after": {"status": "ACTIVE", "destination": MOBILE},
            }
        ]
    }
    assert simulator.request_counts() == {GET_FEATURE: 1, PUT_FEATURE: 1}
    assert status(simulator, ROOM_101, CFU) == "ACTIVE"
    assert cfu_destination(simulator, ROOM_101) == MOBILE
    assert status(simulator, ROOM_102, CFU) == "INACTIVE"
    assert hass.states.get("switch.room_101_forward_all_calls").state == STATE_ON


async def test_set_call_forward_by_entity(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Any entity of a line stands for the line; off keeps the destination."""
    simulator.set_forward(ROOM_102, "busy", True, "sip:desk@example.com")
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    result = await call(
        hass,
        "set_call_forward",
        {"forward": "busy", "enabled": False},
        entity_id="sensor.room_102_presence",
    )
    assert [line["user_id"] for line in result["lines"]] == [ROOM_102]
    assert result["lines"][0]["after"] == {"status": "INACTIVE", "destination": "sip:desk@example.com"}
    assert status(simulator, ROOM_102, CFB) == "INACTIVE"
    assert status(simulator, ROOM_101, CFB) == "INACTIVE"


async def test_account_device_targets_all_its_lines(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The account device is the lines' parent: targeting it targets every line."""
    result = await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": MOBILE},
        device_id=init_integration.runtime_data.account_device_id,
    )
    assert [line["line"] for line in result["lines"]] == ["Room 101", "Room 102"]
    assert status(simulator, ROOM_101, CFU) == status(simulator, ROOM_102, CFU) == "ACTIVE"
    # Not through one of its entities (nor an area or a label): that is too wide a net.
    with pytest.raises(ServiceValidationError):
        await call(hass, "reset_line", entity_id="binary_sensor.openapi_291908_bus_ent_push_notifications")
    assert status(simulator, ROOM_101, CFU) == "ACTIVE"


async def test_until_undoes_the_forward(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """With until, the forward goes back to how it was at that instant, and only then."""
    original = cfu_destination(simulator, ROOM_101)
    until = dt_util.utcnow() + timedelta(hours=2)
    result = await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": MOBILE, "until": until.isoformat()},
        device_id=line_device(hass, ROOM_101),
    )
    # Times in responses are in Home Assistant's time zone.
    assert result["lines"][0]["until"] == dt_util.as_local(until).isoformat()
    assert dt_util.parse_datetime(result["lines"][0]["until"]) == until
    manager = init_integration.runtime_data.manager
    assert manager is not None
    assert len(manager.store.reverts) == 1

    await travel(hass, freezer, timedelta(hours=1))
    assert status(simulator, ROOM_101, CFU) == "ACTIVE"

    await travel(hass, freezer, until + timedelta(seconds=1))
    assert status(simulator, ROOM_101, CFU) == "INACTIVE"
    assert cfu_destination(simulator, ROOM_101) == original
    assert manager.store.reverts == []
    assert hass.states.get("switch.room_101_forward_all_calls").state == "off"


async def test_until_kept_across_restarts(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """An undo due while the entry was down is done as soon as it is set up again."""
    original = cfu_destination(simulator, ROOM_102)
    until = dt_util.utcnow() + timedelta(hours=1)
    await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": MOBILE, "until": until.isoformat()},
        entity_id="switch.room_102_forward_all_calls",
    )
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{init_integration.entry_id}.lines"]["data"]
    assert [(item["user_id"], item["feature"], item["status"]) for item in stored["reverts"]] == [
        (ROOM_102, CFU, "INACTIVE")
    ]

    freezer.move_to(until + timedelta(hours=3))
    assert status(simulator, ROOM_102, CFU) == "ACTIVE"
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert status(simulator, ROOM_102, CFU) == "INACTIVE"
    assert cfu_destination(simulator, ROOM_102) == original
    manager = init_integration.runtime_data.manager
    assert manager is not None
    assert manager.store.reverts == []


async def test_second_until_keeps_the_first_state(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A timed forward changed again goes back to the state before the first change, at the new end."""
    original = cfu_destination(simulator, ROOM_101)
    device_id = line_device(hass, ROOM_101)
    first = dt_util.utcnow() + timedelta(hours=1)
    second = dt_util.utcnow() + timedelta(hours=3)
    await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": MOBILE, "until": first.isoformat()},
        device_id=device_id,
    )
    await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": "+41791112233", "until": second.isoformat()},
        device_id=device_id,
    )
    await travel(hass, freezer, first + timedelta(minutes=1))
    assert cfu_destination(simulator, ROOM_101) == "+41791112233"
    assert status(simulator, ROOM_101, CFU) == "ACTIVE"

    await travel(hass, freezer, second + timedelta(minutes=1))
    assert status(simulator, ROOM_101, CFU) == "INACTIVE"
    assert cfu_destination(simulator, ROOM_101) == original


async def test_setting_without_until_cancels_the_undo(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A later setting without until is permanent: the pending undo is dropped."""
    device_id = line_device(hass, ROOM_101)
    until = dt_util.utcnow() + timedelta(hours=1)
    await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": MOBILE, "until": until.isoformat()},
        device_id=device_id,
    )
    await call(hass, "set_call_forward", {"forward": "unconditional"}, device_id=device_id)
    manager = init_integration.runtime_data.manager
    assert manager is not None
    assert manager.store.reverts == []
    await travel(hass, freezer, until + timedelta(minutes=1))
    assert status(simulator, ROOM_101, CFU) == "ACTIVE"


async def test_undo_retried_when_the_api_fails(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An undo that fails (API down) is logged and tried again later until it works."""
    until = dt_util.utcnow() + timedelta(minutes=30)
    await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": MOBILE, "until": until.isoformat()},
        device_id=line_device(hass, ROOM_101),
    )
    simulator.fail_next(503, count=None)
    with caplog.at_level(logging.WARNING, logger="custom_components.vtx_voip"):
        await travel(hass, freezer, until + timedelta(seconds=1))
        await travel(hass, freezer, REVERT_RETRY_DELAY)
        await travel(hass, freezer, REVERT_RETRY_DELAY)
    assert status(simulator, ROOM_101, CFU) == "ACTIVE"
    # Said once, not at every retry.
    assert caplog.text.count("Undoing CALL_FORWARD_UNCONDITIONAL of line 176125 failed") == 1

    simulator.clear_faults()
    await travel(hass, freezer, REVERT_RETRY_DELAY)
    assert status(simulator, ROOM_101, CFU) == "INACTIVE"
    manager = init_integration.runtime_data.manager
    assert manager is not None
    assert manager.store.reverts == []


async def test_naive_until_is_local_time(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """An until without a zone is in Home Assistant's time zone."""
    await hass.config.async_set_time_zone("Europe/Zurich")
    local = dt_util.now().replace(microsecond=0) + timedelta(hours=1)
    result = await call(
        hass,
        "set_call_forward",
        {"forward": "unconditional", "destination": MOBILE, "until": local.replace(tzinfo=None).isoformat()},
        device_id=line_device(hass, ROOM_101),
    )
    assert result["lines"][0]["until"] == local.isoformat()
    assert result["lines"][0]["until"].endswith(local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"forward": "unconditional", "destination": "not a number"},
            '"not a number" is neither a phone number nor a SIP address',
        ),
        ({"forward": "busy", "destination": "12"}, '"12" is neither a phone number nor a SIP address'),
        (
            {"forward": "unconditional", "destination": MOBILE, "until": "2020-01-01T00:00:00+00:00"},
            "The time to undo the forward must be in the future",
        ),
    ],
)
async def test_set_call_forward_invalid(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, data: dict[str, Any], message: str
) -> None:
    """Bad arguments are refused with a translated validation error before any request."""
    simulator.reset_request_counts()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_call_forward", data, device_id=line_device(hass, ROOM_101))
    assert err.value.translation_domain == DOMAIN
    assert str(err.value) == message
    assert simulator.total_requests() == 0


async def test_set_call_forward_without_any_destination(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Turning on a forward that has nowhere to go is refused; nothing is written."""
    simulator.set_feature(ROOM_101, CFU, data={"destinationUri": ""})
    simulator.reset_request_counts()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_call_forward", {"forward": "unconditional"}, device_id=line_device(hass, ROOM_101))
    assert err.value.translation_key == "destination_missing"
    assert err.value.translation_placeholders == {"line": "Room 101"}
    assert PUT_FEATURE not in simulator.request_counts()
    assert status(simulator, ROOM_101, CFU) == "INACTIVE"


async def test_set_call_forward_api_failure(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """An API failure is a translated error and changes nothing."""
    simulator.fail_next(500)
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "set_call_forward",
            {"forward": "unconditional", "destination": MOBILE, "until": (dt_util.utcnow() + timedelta(hours=1))},
            device_id=line_device(hass, ROOM_101),
        )
    assert err.value.translation_key == "write_failed"
    assert status(simulator, ROOM_101, CFU) == "INACTIVE"
    manager = init_integration.runtime_data.manager
    assert manager is not None
    assert manager.store.reverts == []


# --- targets ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        {},
        {ATTR_ENTITY_ID: "sun.sun"},
        {ATTR_DEVICE_ID: "0" * 32},
        {"area_id": "nowhere"},
    ],
)
async def test_no_line_targeted(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, target: dict[str, Any]
) -> None:
    """An action that reaches no line is refused, with a translated validation error."""
    for service, data in (
        ("set_call_forward", {"forward": "unconditional", "enabled": False}),
        ("reset_line", {}),
        ("save_baseline", {}),
        ("get_call_history", {"start": "2026-01-01T00:00:00+00:00"}),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, service, data, **target)
        assert err.value.translation_key == "no_lines_targeted"


async def test_target_by_area(hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry) -> None:
    """An area targets the lines in it; the account device in the same area does not widen it."""
    area = ar.async_get(hass).async_create("Room 101")
    dev_reg = dr.async_get(hass)
    dev_reg.async_update_device(line_device(hass, ROOM_101), area_id=area.id)
    dev_reg.async_update_device(init_integration.runtime_data.account_device_id, area_id=area.id)
    result = await call(hass, "set_call_forward", {"forward": "unconditional", "destination": MOBILE}, area_id=area.id)
    assert [line["user_id"] for line in result["lines"]] == [ROOM_101]
    assert status(simulator, ROOM_102, CFU) == "INACTIVE"


async def test_line_of_an_unloaded_entry(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A line whose account is not loaded is named as such."""
    device_id = line_device(hass, ROOM_101)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "reset_line", device_id=device_id)
    assert err.value.translation_key == "entry_not_loaded"


# --- baselines and reset ------------------------------------------------------------------
async def test_reset_line_writes_only_what_differs(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Reset puts back the baseline taken when the line was added, with one PUT per changed feature."""
    baseline_cfu = simulator.feature(ROOM_101, CFU)
    simulator.set_feature(ROOM_101, "CALL_TRANSFER", status="INACTIVE")
    simulator.set_dnd(ROOM_101, True)
    simulator.set_forward(ROOM_101, "unconditional", True, MOBILE)
    simulator.set_dnd(ROOM_102, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()

    simulator.reset_request_counts()
    result = await call(hass, "reset_line", device_id=line_device(hass, ROOM_101))
    assert simulator.request_counts() == {GET_FEATURES: 1, GET_FEATURE: 3, PUT_FEATURE: 3}
    assert result == {
        "lines": [
            {
                "line": "Room 101",
                "user_id": ROOM_101,
                # In the order the API lists the features.
                "changes": [
                    {"feature": "CALL_TRANSFER", "before": {"status": "INACTIVE"}, "after": {"status": "ACTIVE"}},
                    {"feature": DND, "before": {"status": "ACTIVE"}, "after": {"status": "INACTIVE"}},
                    {
                        "feature": CFU,
                        "before": {"status": "ACTIVE", "destination": MOBILE},
                        "after": {"status": "INACTIVE", "destination": baseline_cfu[CFU_DATA]["destinationUri"]},
                    },
                ],
            }
        ]
    }
    assert simulator.feature(ROOM_101, CFU) == baseline_cfu
    assert status(simulator, ROOM_101, DND) == "INACTIVE"
    assert status(simulator, ROOM_102, DND) == "ACTIVE"
    assert hass.states.get("switch.room_101_do_not_disturb").state == "off"

    simulator.reset_request_counts()
    again = await call(hass, "reset_line", device_id=line_device(hass, ROOM_101))
    assert again["lines"][0]["changes"] == []
    assert simulator.request_counts() == {GET_FEATURES: 1}


async def test_reset_line_finds_changes_push_missed(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Reset compares with the API, not with what Home Assistant last heard."""
    simulator.drop_pushes()
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    assert hass.states.get("switch.room_101_do_not_disturb").state == "off"
    simulator.clear_push_faults()

    result = await call(hass, "reset_line", entity_id="switch.room_101_do_not_disturb")
    assert [change["feature"] for change in result["lines"][0]["changes"]] == [DND]
    assert status(simulator, ROOM_101, DND) == "INACTIVE"


async def test_reset_line_cancels_timed_forwards(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """After a reset, a pending undo does not fire any more."""
    device_id = line_device(hass, ROOM_101)
    until = dt_util.utcnow() + timedelta(hours=1)
    await call(
        hass,
        "set_call_forward",
        {"forward": "busy", "destination": MOBILE, "until": until.isoformat()},
        device_id=device_id,
    )
    await call(hass, "reset_line", device_id=device_id)
    manager = init_integration.runtime_data.manager
    assert manager is not None
    assert manager.store.reverts == []
    # The guest's next forward must survive the old undo's time.
    simulator.set_forward(ROOM_101, "busy", True, "+41791112233")
    await travel(hass, freezer, until + timedelta(minutes=1))
    assert status(simulator, ROOM_101, CFB) == "ACTIVE"


async def test_save_baseline_then_reset(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """save_baseline makes the current features the ones reset puts back."""
    simulator.set_dnd(ROOM_102, True)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    device_id = line_device(hass, ROOM_102)
    saved = await call(hass, "save_baseline", device_id=device_id)
    assert saved == {
        "lines": [{"line": "Room 102", "user_id": ROOM_102, "features": len(simulator.features(ROOM_102))}]
    }

    simulator.set_dnd(ROOM_102, False)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    result = await call(hass, "reset_line", device_id=device_id)
    assert result["lines"][0]["changes"] == [
        {"feature": DND, "before": {"status": "INACTIVE"}, "after": {"status": "ACTIVE"}}
    ]
    assert status(simulator, ROOM_102, DND) == "ACTIVE"
    # Without a response asked for, the action works the same.
    assert await call(hass, "save_baseline", response=False, device_id=device_id) is None


async def test_baseline_kept_across_restarts(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The baseline taken at the first set-up stays the baseline after a reload."""
    simulator.set_dnd(ROOM_101, True)
    await simulator.wait_for_pushes()
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    result = await call(hass, "reset_line", device_id=line_device(hass, ROOM_101))
    assert [change["feature"] for change in result["lines"][0]["changes"]] == [DND]
    assert status(simulator, ROOM_101, DND) == "INACTIVE"


async def test_reset_line_api_failure(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Reading or writing failing during a reset is a translated error."""
    device_id = line_device(hass, ROOM_101)
    simulator.fail_next(503)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "reset_line", device_id=device_id)
    assert err.value.translation_key == "read_failed"
    assert err.value.translation_placeholders["line"] == "Room 101"

    simulator.set_dnd(ROOM_101, True)
    simulator.add_fault("status", status=500, method="PUT")
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "reset_line", device_id=device_id)
    assert err.value.translation_key == "write_failed"
    assert status(simulator, ROOM_101, DND) == "ACTIVE"


async def test_reset_line_auth_failure_starts_reauth(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Credentials refused while reading starts re-authentication."""
    simulator.fail_next(401)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "reset_line", device_id=line_device(hass, ROOM_101))
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    assert [flow["context"]["source"] for flow in init_integration.async_get_active_flows(hass, {"reauth"})] == [
        "reauth"
    ]


async def test_no_baseline_and_unavailable_line(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A line unreadable at set-up has no baseline and cannot save one until it is back."""
    simulator.add_fault("status", status=503, count=None, path=f"/users/{ROOM_102}/feat")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    device_id = line_device(hass, ROOM_102)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "reset_line", device_id=device_id)
    assert err.value.translation_key == "no_baseline"
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "save_baseline", device_id=device_id)
    assert err.value.translation_key == "read_failed"
    # Room 101 is not held back by Room 102.
    assert (await call(hass, "save_baseline", device_id=line_device(hass, ROOM_101)))["lines"][0]["features"] > 0

    # Readable again but without any feature (taken away at VTX): no empty baseline is saved.
    simulator.clear_faults()
    simulator.state.user_features[ROOM_102].clear()
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "save_baseline", device_id=device_id)
    assert err.value.translation_key == "line_unavailable"
    manager = config_entry.runtime_data.manager
    assert manager is not None
    assert ROOM_102 not in manager.store.baselines


async def test_unreadable_stored_data_is_dropped(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stored baselines or reverts that do not parse are dropped with one warning; set-up works."""
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}.lines"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}.lines",
        "data": {
            "baselines": {"abc": {}, str(ROOM_101): "nonsense"},
            "reverts": [
                {"user_id": ROOM_101, "feature": CFU, "at": "never", "status": "ACTIVE", "destination": None},
                "nonsense",
            ],
        },
    }
    config_entry.add_to_hass(hass)
    with caplog.at_level(logging.WARNING):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
    assert caplog.text.count("unreadable stored") == 1
    manager = config_entry.runtime_data.manager
    assert manager is not None
    assert manager.store.reverts == []
    assert set(manager.store.baselines) == {ROOM_101, ROOM_102}
    assert manager.store.baselines[ROOM_101]


async def test_stored_baseline_and_reverts_from_an_earlier_run(
    hass: HomeAssistant,
    simulator: Simulator,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What an earlier run stored is used: due reverts run at set-up, features gone are skipped."""
    baseline = {feature["featName"]: feature for feature in simulator.features(ROOM_101)}
    baseline[DND] = {**baseline[DND], "status": "ACTIVE"}
    baseline["GHOST_FEATURE"] = {"id": 1, "featName": "GHOST_FEATURE", "userId": ROOM_101, "status": "ACTIVE"}
    past = (dt_util.utcnow() - timedelta(hours=1)).isoformat()
    original = cfu_destination(simulator, ROOM_102)
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}.lines"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}.lines",
        "data": {
            "baselines": {str(ROOM_101): baseline},
            "reverts": [
                # A line no longer in the entry: kept, not run.
                {"user_id": 999, "feature": CFU, "at": past, "status": "ACTIVE", "destination": None},
                # A feature the line does not have: dropped.
                {
                    "user_id": ROOM_101,
                    "feature": "CALL_FORWARD_SELECTIVE",
                    "at": past,
                    "status": "ACTIVE",
                    "destination": None,
                },
                # Due while Home Assistant was down: run at once (no destination: only the status).
                {"user_id": ROOM_102, "feature": CFU, "at": past, "status": "ACTIVE", "destination": None},
            ],
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert status(simulator, ROOM_102, CFU) == "ACTIVE"
    assert cfu_destination(simulator, ROOM_102) == original
    assert "no longer has CALL_FORWARD_SELECTIVE" in caplog.text
    manager = config_entry.runtime_data.manager
    assert manager is not None
    assert [(item["user_id"], item["feature"]) for item in manager.store.reverts] == [(999, CFU)]

    result = await call(hass, "reset_line", device_id=line_device(hass, ROOM_101))
    assert result["lines"][0]["changes"] == [
        {"feature": DND, "before": {"status": "INACTIVE"}, "after": {"status": "ACTIVE"}}
    ]
    assert status(simulator, ROOM_101, DND) == "ACTIVE"


async def test_removal_deletes_the_stored_baselines(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Baselines and reverts are kept until the entry is deleted, then go with it."""
    key = f"{DOMAIN}.{init_integration.entry_id}.lines"
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert set(hass_storage[key]["data"]["baselines"]) == {str(ROOM_101), str(ROOM_102)}
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_targets_of_other_integrations(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Devices of other integrations are not lines, even with a look-alike identifier."""
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    dev_reg = dr.async_get(hass)
    plain = dev_reg.async_get_or_create(config_entry_id=other.entry_id, identifiers={("other", "lamp")})
    look_alike = dev_reg.async_get_or_create(config_entry_id=other.entry_id, identifiers={(DOMAIN, str(ROOM_101))})
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "reset_line", device_id=[plain.id, look_alike.id])
    assert err.value.translation_key == "no_lines_targeted"


# --- call history -------------------------------------------------------------------------
async def test_get_call_history_totals(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The bill: every call of the stay, with exact totals per line and overall."""
    check_in = dt_util.utcnow()

    async def later(minutes: int) -> None:
        await simulator.wait_for_pushes()
        await travel(hass, freezer, timedelta(minutes=minutes))

    await later(60)
    simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=95)
    await later(10)
    simulator.make_call(ROOM_101, direction="incoming", number="+41791112233", duration=30)
    await later(10)
    simulator.make_call(ROOM_101, direction="incoming", number="+41794445566", missed=True)
    await later(10)
    simulator.make_call(ROOM_101, direction="outgoing", number="+41227778899", duration=125)
    simulator.make_call(ROOM_102, direction="outgoing", number="+41225117902", duration=7)
    await later(10)

    result = await call(
        hass,
        "get_call_history",
        {"start": check_in.isoformat()},
        device_id=[line_device(hass, ROOM_101), line_device(hass, ROOM_102)],
    )
    # In Home Assistant's time zone, not UTC.
    assert result["start"] == dt_util.as_local(check_in).isoformat()
    assert result["end"] == dt_util.now().isoformat()
    assert not result["end"].endswith("+00:00")
    room_101, room_102 = result["lines"]
    assert room_101["line"] == "Room 101"
    assert room_101["totals"] == {
        "calls": 4,
        "incoming": 1,
        "outgoing": 2,
        "missed": 1,
        "outgoing_duration": 220,
        "incoming_duration": 30,
        # No tariff set: every call costs 0; classes by the callers' and dialled numbers.
        "cost": 0.0,
        "per_class": {
            "national_fixed": {"calls": 2, "outgoing_duration": 220, "incoming_duration": 0, "cost": 0.0},
            "national_mobile": {"calls": 2, "outgoing_duration": 0, "incoming_duration": 30, "cost": 0.0},
        },
    }
    # The ledger and the API's history merged: each call once, with its class and end.
    assert result["history"] is True
    assert result["downtime"] == []
    first = room_101["calls"][0]
    assert first["destination_class"] == "national_fixed"
    assert dt_util.parse_datetime(first["end"]) - dt_util.parse_datetime(first["start"]) == timedelta(seconds=95)
    assert [(item["type"], item["number"], item["duration"]) for item in room_101["calls"]] == [
        ("outgoing_call", "+41225117902", 95),
        ("incoming_call", "+41791112233", 30),
        ("missed_call", "+41794445566", 0),
        ("outgoing_call", "+41227778899", 125),
    ]
    assert room_102["totals"] == {
        "calls": 1,
        "incoming": 0,
        "outgoing": 1,
        "missed": 0,
        "outgoing_duration": 7,
        "incoming_duration": 0,
        "cost": 0.0,
        "per_class": {"national_fixed": {"calls": 1, "outgoing_duration": 7, "incoming_duration": 0, "cost": 0.0}},
    }
    assert result["totals"] == {
        "calls": 5,
        "incoming": 1,
        "outgoing": 3,
        "missed": 1,
        "outgoing_duration": 227,
        "incoming_duration": 30,
        "cost": 0.0,
        "per_class": {
            "national_fixed": {"calls": 3, "outgoing_duration": 227, "incoming_duration": 0, "cost": 0.0},
            "national_mobile": {"calls": 2, "outgoing_duration": 0, "incoming_duration": 30, "cost": 0.0},
        },
    }

    # A window that only holds the last two calls of Room 101.
    window = await call(
        hass,
        "get_call_history",
        {"start": (check_in + timedelta(minutes=75)).isoformat(), "end": (check_in + timedelta(minutes=95))},
        entity_id="switch.room_101_do_not_disturb",
    )
    assert [item["type"] for item in window["lines"][0]["calls"]] == ["missed_call", "outgoing_call"]
    assert window["totals"]["missed"] == 1
    assert window["totals"]["outgoing_duration"] == 125


async def test_get_call_history_errors(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """End before start is refused before any request; an API failure leaves the ledger's answer."""
    device_id = line_device(hass, ROOM_101)
    now = dt_util.utcnow()
    simulator.reset_request_counts()
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "get_call_history",
            {"start": now.isoformat(), "end": (now - timedelta(hours=1)).isoformat()},
            device_id=device_id,
        )
    assert err.value.translation_key == "end_before_start"
    assert simulator.total_requests() == 0

    pushed = simulator.make_call(ROOM_101, direction="outgoing", number="+41225117902", duration=9)
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()
    simulator.fail_next(502)
    week_ago = (now - timedelta(days=7)).replace(microsecond=0)
    result = await call(hass, "get_call_history", {"start": week_ago.isoformat()}, device_id=device_id)
    assert [item["id"] for item in result["lines"][0]["calls"]] == [pushed["id"]]
    assert result["history"] is False
    # Before this entry's first run, the ledger knows nothing: that is one downtime window.
    [window] = result["downtime"]
    assert window["start"] == dt_util.as_local(week_ago).isoformat()
    assert dt_util.parse_datetime(window["end"]) <= now


async def test_get_call_history_needs_a_response(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """get_call_history only makes sense with its response."""
    with pytest.raises(ServiceValidationError):
        await call(
            hass,
            "get_call_history",
            {"start": "2026-01-01T00:00:00+00:00"},
            response=False,
            device_id=line_device(hass, ROOM_101),
        )
