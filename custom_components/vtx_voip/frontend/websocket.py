"""Websocket API of the front desk board: every line with its entity ids, kept current.

``vtx_voip/front_desk/subscribe`` (optional ``entry_id``, ``area_id``, ``language``) sends
at once, then whenever a line is added, renamed, moved or removed, an entry is loaded or
unloaded, a call is missed, or the day changes: every line of every loaded entry (or of
the one entry, or of the devices in the area) with its device, its entity ids by key, its
missed calls since check-in (or today), the action that checks a line out, and the labels
of the board in the asked language from the integration's translations. The board
(``frontend/vtx-voip-front-desk.js``) renders the entities' states from ``hass.states``.

A line's open stay (guest, check-in, calls and running cost) comes with it. The board acts
on a stay with three commands: ``vtx_voip/front_desk/check_in`` (every user, as the
``check_in`` action), ``vtx_voip/front_desk/bill`` (the open stay's bill so far) and
``vtx_voip/front_desk/check_out`` (the stay's bill; fires ``vtx_voip_check_out`` as every
check-out does). Bills hold guests' call records: the last two require an administrator,
and the board says so to other users instead of offering them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import async_response, require_admin, websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, SupportsResponse, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_call_later, async_track_time_change
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
import probatio as vol

from ..api.numbers import format_number
from ..billing.bill import totals
from ..billing.calls import EVENT_CALL
from ..billing.stays import StayTotals, signal_stay, stay_csv_path
from ..const import DOMAIN
from ..data import LineConfig, VtxConfigEntry

# The entities of a line the board shows: its key -> (platform, unique id suffix).
LINE_ENTITIES: Final[dict[str, tuple[Platform, str]]] = {
    "status": (Platform.SENSOR, "line_status"),
    "presence": (Platform.SENSOR, "presence"),
    "dnd": (Platform.SWITCH, "do_not_disturb"),
    "forward": (Platform.SWITCH, "call_forward_unconditional"),
    "forward_destination": (Platform.TEXT, "call_forward_unconditional_destination"),
    "last_call": (Platform.SENSOR, "last_call"),
    "call": (Platform.EVENT, "call"),
}
# Changes arriving together (a line added registers a dozen entities) are sent once.
SEND_DELAY: Final = 0.2
# Labels of the board: its name -> translation key below component.vtx_voip.
ENTITY_LABELS: Final[dict[str, str]] = {
    "status": "entity.sensor.line_status.name",
    "presence": "entity.sensor.presence.name",
    "dnd": "entity.switch.do_not_disturb.name",
    "forward": "entity.switch.call_forward_unconditional.name",
    "forward_destination": "entity.text.call_forward_unconditional_destination.name",
    "last_call": "entity.sensor.last_call.name",
    "missed_call": "entity.event.call.state_attributes.event_type.state.missed_call",
}
STATE_LABELS: Final[dict[str, str]] = {
    "status": "entity.sensor.line_status.state.",
    "presence": "entity.sensor.presence.state.",
}
BOARD_LABELS: Final = "selector.front_desk.options."
# The bill's texts (column headers, directions, destination classes), as the CSV has them.
BILL_LABELS: Final = "selector.bill_csv.options."
# A line's status while it is on a call (the check-out's confirm warns).
ON_CALL: Final = "on_call"


def check_out_action(hass: HomeAssistant, entry: VtxConfigEntry, user_id: int) -> str:
    """Return the action the board's check-out calls for a line.

    ``check_out`` (the stay's bill, then the reset) while the line has an open stay and the
    action exists; else ``reset_line`` (``check_out`` refuses a line without a stay).
    """
    if hass.services.has_service(DOMAIN, "check_out") and entry.runtime_data.stays.stay_of(user_id) is not None:
        return "check_out"
    return "reset_line"


def missed_window(entry: VtxConfigEntry, user_id: int) -> tuple[datetime, bool]:
    """Return since when the board counts a line's missed calls, and whether that is its check-in.

    The check-in of the line's open stay, else the start of the local day.
    """
    if (stay := entry.runtime_data.stays.stay_of(user_id)) is not None:
        return dt_util.utc_from_timestamp(stay.stay.start), True
    return dt_util.start_of_local_day(), False


async def async_labels(hass: HomeAssistant, language: str) -> dict[str, Any]:
    """Return the board's labels in ``language`` (English for what is not translated)."""
    prefix = f"component.{DOMAIN}."
    texts: dict[str, str] = {}
    for lang in dict.fromkeys(("en", language)):
        for category in ("entity", "selector", "services"):
            texts.update(await async_get_translations(hass, lang, category, [DOMAIN]))
    labels: dict[str, Any] = {name: texts.get(prefix + key, "") for name, key in ENTITY_LABELS.items()}
    for name, key in STATE_LABELS.items():
        labels[f"{name}_states"] = {
            full[len(prefix + key) :]: text for full, text in texts.items() if full.startswith(prefix + key)
        }
    labels.update(
        {
            full[len(prefix + BOARD_LABELS) :]: text
            for full, text in texts.items()
            if full.startswith(prefix + BOARD_LABELS)
        }
    )
    labels["bill_texts"] = {
        full[len(prefix + BILL_LABELS) :]: text for full, text in texts.items() if full.startswith(prefix + BILL_LABELS)
    }
    return labels


def _stay(held: StayTotals | None) -> dict[str, Any] | None:
    if held is None:
        return None
    return {
        "stay_id": held.stay.stay_id,
        "guest": held.stay.guest,
        "start": dt_util.as_local(dt_util.utc_from_timestamp(held.stay.start)).isoformat(),
        "calls": held.calls,
        "cost": float(held.cost),
    }


def _loaded_entries(hass: HomeAssistant, entry_id: str | None) -> list[VtxConfigEntry]:
    entries: list[VtxConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return [entry for entry in entries if entry_id is None or entry.entry_id == entry_id]


@callback
def async_board(hass: HomeAssistant, entry_id: str | None = None, area_id: str | None = None) -> dict[str, Any]:
    """Every line to show, sorted by name, and how to check one out."""
    ent_reg = er.async_get(hass)
    dev_reg = dr.async_get(hass)
    lines: list[dict[str, Any]] = []
    for entry in _loaded_entries(hass, entry_id):
        runtime = entry.runtime_data
        for line in runtime.lines.values():
            device = dev_reg.async_get_device_by_identifier((DOMAIN, str(line.user_id)), entry.entry_id)
            shown = {
                key: registry_entry
                for key, (platform, suffix) in LINE_ENTITIES.items()
                if (entity_id := ent_reg.async_get_entity_id(platform, DOMAIN, f"{line.user_id}_{suffix}"))
                and (registry_entry := ent_reg.async_get(entity_id)) is not None
                and not registry_entry.disabled
            }
            # A line is in the area of its status entity, else of its device.
            status = shown.get("status")
            area = (status.area_id if status else None) or (device.area_id if device else None)
            if device is None or not shown or (area_id is not None and area != area_id):
                continue
            entities = {key: registry_entry.entity_id for key, registry_entry in shown.items()}
            since, since_check_in = missed_window(entry, line.user_id)
            missed = runtime.calls.missed_since(line.user_id, since)
            lines.append(
                {
                    "entry_id": entry.entry_id,
                    "user_id": line.user_id,
                    "name": device.name_by_user or device.name or line.name,
                    "device_id": device.id,
                    "area_id": area,
                    "entities": entities,
                    "missed": len(missed),
                    "last_missed": missed[-1].isoformat() if missed else None,
                    "missed_since": since.isoformat(),
                    "missed_since_check_in": since_check_in,
                    "check_out": _check_out(hass, entry, line.user_id),
                    "stay": _stay(runtime.stays.stay_of(line.user_id)),
                    "reset_pending": pending.as_dict()
                    if (pending := runtime.stays.reset_pending(line.user_id)) is not None
                    else None,
                }
            )
    lines.sort(key=lambda item: (str(item["name"]).casefold(), item["user_id"]))
    return {"lines": lines, "currency": hass.config.currency}


def _check_out(hass: HomeAssistant, entry: VtxConfigEntry, user_id: int) -> dict[str, Any]:
    action = check_out_action(hass, entry, user_id)
    return {"action": action, "response": hass.services.supports_response(DOMAIN, action) is not SupportsResponse.NONE}


@websocket_command(
    {
        vol.Required("type"): "vtx_voip/front_desk/subscribe",
        vol.Optional("entry_id"): str,
        vol.Optional("area_id"): str,
        vol.Optional("language"): vol.All(str, vol.Length(min=2, max=16)),
    }
)
@async_response
async def ws_subscribe_front_desk(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Send the board now and after every change that concerns it."""
    msg_id: int = msg["id"]
    entry_id: str | None = msg.get("entry_id")
    area_id: str | None = msg.get("area_id")
    labels = await async_labels(hass, msg.get("language") or hass.config.language)
    pending: CALLBACK_TYPE | None = None
    # A stay opened or closed changes a line's missed calls and check-out: followed for
    # every loaded entry (entries loaded later are picked up at the next send).
    stay_listeners: dict[str, CALLBACK_TYPE] = {}

    @callback
    def follow_stays() -> None:
        loaded = {entry.entry_id for entry in _loaded_entries(hass, entry_id)}
        for gone in stay_listeners.keys() - loaded:
            stay_listeners.pop(gone)()
        for new in loaded - stay_listeners.keys():
            stay_listeners[new] = async_dispatcher_connect(hass, signal_stay(new), changed)

    @callback
    def send(_now: Any = None) -> None:
        nonlocal pending
        pending = None
        follow_stays()
        board = async_board(hass, entry_id, area_id)
        connection.send_message(event_message(msg_id, {**board, "labels": labels, "admin": connection.user.is_admin}))

    @callback
    def changed(*_args: Any) -> None:
        nonlocal pending
        if pending is None:
            pending = async_call_later(hass, SEND_DELAY, send)

    @callback
    def entry_changed(_change: Any, entry: Any) -> None:
        if entry.domain == DOMAIN:
            changed()

    @callback
    def entity_changed(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        entity_id = event.data.get("entity_id", "")
        if entity_id.split(".")[0] in {platform.value for platform, _ in LINE_ENTITIES.values()}:
            changed()

    unsubs = [
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed),
        hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, entity_changed),
        hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, changed),
        hass.bus.async_listen(EVENT_CALL, changed),
        async_track_time_change(hass, changed, hour=0, minute=0, second=0),
    ]

    @callback
    def unsubscribe() -> None:
        if pending is not None:
            pending()
        for unsub in [*unsubs, *stay_listeners.values()]:
            unsub()

    connection.subscriptions[msg_id] = unsubscribe
    connection.send_result(msg_id)
    send()


def _line(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> tuple[VtxConfigEntry, LineConfig] | None:
    """Return the loaded entry and line a command names, or answer ``not_found``."""
    for entry in _loaded_entries(hass, msg["entry_id"]):
        if (line := entry.runtime_data.lines.get(msg["user_id"])) is not None:
            return entry, line
    connection.send_error(msg["id"], ERR_NOT_FOUND, "No such line")
    return None


def _on_call(hass: HomeAssistant, user_id: int) -> bool:
    """Whether the line's status is *on a call* now."""
    entity_id = er.async_get(hass).async_get_entity_id(Platform.SENSOR, DOMAIN, f"{user_id}_line_status")
    state = hass.states.get(entity_id) if entity_id else None
    return state is not None and state.state == ON_CALL


def _readable(bill: dict[str, Any]) -> dict[str, Any]:
    """Return the bill with each call's number spaced for reading (``number_display``)."""
    return {
        **bill,
        "calls": [
            {**row, "number_display": format_number(row["number"]) if row.get("number") else None}
            for row in bill["calls"]
        ],
    }


LINE_COMMAND: Final[dict[str | vol.Marker, Any]] = {
    vol.Required("entry_id"): str,
    vol.Required("user_id"): vol.All(int, vol.Range(min=1)),
}


@websocket_command(
    {
        vol.Required("type"): "vtx_voip/front_desk/check_in",
        **LINE_COMMAND,
        vol.Optional("guest"): vol.All(str, vol.Strip, vol.Length(max=200)),
    }
)
@async_response
async def ws_check_in(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Check a guest in (every user may, as with the ``check_in`` action)."""
    if (found := _line(hass, connection, msg)) is None:
        return
    entry, line = found
    result = await entry.runtime_data.stays.async_check_in(line, msg.get("guest") or None)
    connection.send_result(msg["id"], result)


@websocket_command({vol.Required("type"): "vtx_voip/front_desk/bill", **LINE_COMMAND})
@require_admin
@async_response
async def ws_bill(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Answer the open stay's bill up to now (administrators: it lists the guest's calls)."""
    if (found := _line(hass, connection, msg)) is None:
        return
    entry, line = found
    stays = entry.runtime_data.stays
    if (held := stays.stay_of(line.user_id)) is None:
        connection.send_result(msg["id"], {"line": line.name, "user_id": line.user_id, "stay": None})
        return
    end = dt_util.utcnow()
    bill = await stays.async_bill(line, held.stay, end)
    result = {
        "line": line.name,
        "user_id": line.user_id,
        "guest": held.stay.guest,
        "stay_id": held.stay.stay_id,
        "start": dt_util.as_local(dt_util.utc_from_timestamp(held.stay.start)).isoformat(),
        "end": dt_util.as_local(end).isoformat(),
        "currency": hass.config.currency,
        "calls": [row.as_dict() for row in bill.rows],
        "totals": totals(bill.rows),
        "csv_path": stay_csv_path(entry.entry_id, held.stay.stay_id),
        "on_call": _on_call(hass, line.user_id),
    }
    connection.send_result(msg["id"], _readable(result))


@websocket_command({vol.Required("type"): "vtx_voip/front_desk/check_out", **LINE_COMMAND})
@require_admin
@async_response
async def ws_check_out(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Check the line's stay out and answer its bill (administrators)."""
    if (found := _line(hass, connection, msg)) is None:
        return
    entry, line = found
    # The stays fire vtx_voip_check_out for every check-out, this one included.
    result = await entry.runtime_data.stays.async_check_out(line)
    connection.send_result(
        msg["id"], _readable({**result, "csv_path": stay_csv_path(entry.entry_id, result["stay_id"])})
    )


@callback
def async_setup_websocket(hass: HomeAssistant) -> None:
    """Register the board's websocket commands (once, in ``async_setup``)."""
    for command in (ws_subscribe_front_desk, ws_check_in, ws_bill, ws_check_out):
        async_register_command(hass, command)
