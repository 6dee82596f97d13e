"""Actions of the VTX VoIP integration: forwards, check-out reset, call history, stays.

Call records are personal data of the guests: ``get_call_history`` and ``check_out``
(which answers with the bill) are for administrators; ``check_in`` is open to every user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr, entity_registry as er
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.helpers.target import TargetSelection, async_extract_referenced_entity_ids
from homeassistant.util import dt as dt_util
import probatio as vol

from .billing.bill import sum_totals, totals
from .billing.ledger import LedgerError
from .billing.stays import ledger_failed
from .const import DOMAIN, FORWARD_FEATURES
from .data import LineConfig, VtxConfigEntry
from .lines.manager import LineManager, validate_forward

SERVICE_SET_CALL_FORWARD: Final = "set_call_forward"
SERVICE_RESET_LINE: Final = "reset_line"
SERVICE_SAVE_BASELINE: Final = "save_baseline"
SERVICE_GET_CALL_HISTORY: Final = "get_call_history"
SERVICE_CHECK_IN: Final = "check_in"
SERVICE_CHECK_OUT: Final = "check_out"

ATTR_FORWARD: Final = "forward"
ATTR_DESTINATION: Final = "destination"
ATTR_ENABLED: Final = "enabled"
ATTR_UNTIL: Final = "until"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_GUEST: Final = "guest"

_TARGET: Final[dict[Any, Any]] = cv.TARGET_SERVICE_FIELDS

SET_CALL_FORWARD_SCHEMA: Final = vol.Schema(
    {
        **_TARGET,
        vol.Required(ATTR_FORWARD): vol.In(list(FORWARD_FEATURES)),
        vol.Optional(ATTR_DESTINATION): vol.All(cv.string, vol.Length(min=1, max=255)),
        vol.Optional(ATTR_ENABLED, default=True): cv.boolean,
        vol.Optional(ATTR_UNTIL): cv.datetime,
    }
)
LINE_SCHEMA: Final = vol.Schema(_TARGET)
CALL_HISTORY_SCHEMA: Final = vol.Schema(
    {
        **_TARGET,
        vol.Required(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
    }
)
CHECK_IN_SCHEMA: Final = vol.Schema({**_TARGET, vol.Optional(ATTR_GUEST): vol.All(cv.string, vol.Length(max=200))})


def _as_utc(value: datetime) -> datetime:
    return dt_util.as_utc(value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone()))


def _target_lines(hass: HomeAssistant, call: ServiceCall) -> list[tuple[VtxConfigEntry, LineConfig]]:
    """Resolve the action's target (devices, entities, areas, labels) to lines of loaded entries.

    An account device targeted by its id stands for all of its lines (not when it is only
    reached through an area, a label or one of its entities). Raises a translated
    ``ServiceValidationError`` when no line is targeted, or when a targeted line belongs
    to an entry that is not loaded.
    """
    target = TargetSelection(call.data)
    selected = async_extract_referenced_entity_ids(hass, target, primary_entities_only=False)
    ent_reg = er.async_get(hass)
    dev_reg = dr.async_get(hass)
    device_ids = set(selected.referenced_devices)
    for entity_id in selected.referenced | selected.indirectly_referenced:
        if (entity := ent_reg.async_get(entity_id)) is not None and entity.device_id:
            device_ids.add(entity.device_id)
    found: dict[tuple[str, int], tuple[VtxConfigEntry, LineConfig]] = {}
    not_loaded = False
    for device_id in device_ids:
        if (device := dev_reg.async_get(device_id)) is None:
            continue
        identifiers = {ident for domain, ident in device.identifiers if domain == DOMAIN}
        if not identifiers:
            continue
        entry: VtxConfigEntry | None = hass.config_entries.async_get_entry(device.config_entry_id or "")
        if entry is None or entry.domain != DOMAIN:
            continue
        if entry.state is not ConfigEntryState.LOADED:
            not_loaded = True
            continue
        lines = entry.runtime_data.lines
        if entry.entry_id in identifiers:  # the account device
            user_ids = set(lines) if device_id in target.device_ids else set()
        else:
            user_ids = {int(ident) for ident in identifiers if ident.isdigit()}
        for user_id in user_ids & lines.keys():
            found[(entry.entry_id, user_id)] = (entry, lines[user_id])
    if not found:
        if not_loaded:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="entry_not_loaded")
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_lines_targeted")
    return sorted(found.values(), key=lambda item: (item[1].name, item[1].user_id))


def _manager(entry: VtxConfigEntry) -> LineManager:
    return entry.runtime_data.manager


async def _async_set_call_forward(call: ServiceCall) -> ServiceResponse:
    until = _as_utc(call.data[ATTR_UNTIL]) if ATTR_UNTIL in call.data else None
    destination = validate_forward(call.data.get(ATTR_DESTINATION), until)
    results = [
        await _manager(entry).async_set_forward(
            line, call.data[ATTR_FORWARD], enabled=call.data[ATTR_ENABLED], destination=destination, until=until
        )
        for entry, line in _target_lines(call.hass, call)
    ]
    response: dict[str, Any] = {"lines": results}
    return response


async def _async_reset_line(call: ServiceCall) -> ServiceResponse:
    results = []
    for entry, line in _target_lines(call.hass, call):
        changes = await _manager(entry).async_reset(line)
        results.append({"line": line.name, "user_id": line.user_id, "changes": changes})
    response: dict[str, Any] = {"lines": results}
    return response


async def _async_save_baseline(call: ServiceCall) -> ServiceResponse:
    results = [
        {"line": line.name, "user_id": line.user_id, "features": await _manager(entry).async_save_baseline(line)}
        for entry, line in _target_lines(call.hass, call)
    ]
    response: dict[str, Any] = {"lines": results}
    return response


async def _async_get_call_history(call: ServiceCall) -> ServiceResponse:
    start = _as_utc(call.data[ATTR_START])
    end = _as_utc(call.data[ATTR_END]) if ATTR_END in call.data else dt_util.utcnow()
    if end <= start:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="end_before_start")
    lines: list[dict[str, Any]] = []
    downtime: set[tuple[datetime, datetime]] = set()
    history = True
    for entry, line in _target_lines(call.hass, call):
        runtime = entry.runtime_data
        try:
            bill = await runtime.stays.async_range_bill(line.user_id, start, end)
        except LedgerError as err:
            raise ledger_failed(err) from err
        history = history and bill.history
        downtime.update(bill.downtime)
        lines.append(
            {
                "line": line.name,
                "user_id": line.user_id,
                "calls": [row.as_dict() for row in bill.rows],
                "totals": totals(bill.rows),
                "history": bill.history,
            }
        )
    response: dict[str, Any] = {
        "start": dt_util.as_local(start).isoformat(),
        "end": dt_util.as_local(end).isoformat(),
        "currency": call.hass.config.currency,
        "lines": lines,
        "totals": sum_totals([item["totals"] for item in lines]),
        "history": history,
        "downtime": [
            {"start": dt_util.as_local(a).isoformat(), "end": dt_util.as_local(b).isoformat()}
            for a, b in sorted(downtime)
        ],
    }
    return response


async def _async_check_in(call: ServiceCall) -> ServiceResponse:
    guest = call.data.get(ATTR_GUEST)
    results = [
        await entry.runtime_data.stays.async_check_in(line, guest) for entry, line in _target_lines(call.hass, call)
    ]
    response: dict[str, Any] = {"lines": results}
    return response


async def _async_check_out(call: ServiceCall) -> ServiceResponse:
    targets = _target_lines(call.hass, call)
    missing = [line.name for entry, line in targets if entry.runtime_data.stays.stay_of(line.user_id) is None]
    if missing:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_stay", translation_placeholders={"line": ", ".join(missing)}
        )
    results = [await entry.runtime_data.stays.async_check_out(line) for entry, line in targets]
    response: dict[str, Any] = {
        "currency": call.hass.config.currency,
        "lines": results,
        "totals": sum_totals([item["totals"] for item in results]),
    }
    return response


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (once, in ``async_setup``)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_CALL_FORWARD,
        _async_set_call_forward,
        schema=SET_CALL_FORWARD_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RESET_LINE, _async_reset_line, schema=LINE_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SAVE_BASELINE,
        _async_save_baseline,
        schema=LINE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_GET_CALL_HISTORY,
        _async_get_call_history,
        schema=CALL_HISTORY_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_CHECK_IN, _async_check_in, schema=CHECK_IN_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_CHECK_OUT,
        _async_check_out,
        schema=LINE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
