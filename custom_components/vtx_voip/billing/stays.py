"""Stays: check-in takes the line's baseline, check-out bills the stay and puts the line back.

A stay lives in the ledger (it survives restarts and hard kills like the calls). While a
stay is open, the line's ``stay_calls`` and ``stay_call_cost`` sensors follow it: they are
recomputed from the ledger whenever a call of the line is recorded, so they always show
what ``check_out`` would bill.

A guest's changes never outlive the stay: a reset that fails at check-out is kept pending
(in the ledger, so a restart does not forget it) and tried again with back-off until the
line is back to its baseline; after ``RESET_REPAIR_AFTER`` it is a repair issue. While a
reset is pending, a check-in keeps the last good baseline (the line still holds the last
guest's changes). A call record that arrives after the check-out of the stay it started
in is a late charge (``vtx_voip_late_charge``). Every check-out, whichever way it was
made, fires ``vtx_voip_check_out`` with its bill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Final

from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.http.const import KEY_HASS_REFRESH_TOKEN_ID, KEY_HASS_USER
from homeassistant.components.websocket_api.connection import current_connection
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.http import current_request
from homeassistant.util import dt as dt_util

from ..api import CallLog, Feature, VtxClient
from ..api.assumptions import STATUS_ACTIVE
from ..api.numbers import number_of_login
from ..const import CONF_NUMBER, DOMAIN, FEATURE_DND, FORWARD_FEATURES, LOGGER, SUBENTRY_TYPE_LINE
from ..lines.config import LineConfig
from ..lines.discovery import signal_line_login
from ..lines.manager import LineManager
from ..presence import PresenceStatus, presence_status
from .bill import LineBill, async_line_bill, price, totals
from .calls import SOURCE_PUSH, CallEventType, CallTracker, signal_call
from .ledger import LedgerCall, LedgerError, Stay
from .numbering import NumberingPlan
from .tariffs import Tariffs, retention_days

# How long the signed CSV path of a check-out stays valid (signed for the admin who checked out).
SIGNED_PATH_VALIDITY: Final = timedelta(hours=1)
BILL_URL: Final = "/api/vtx_voip/bill/{entry_id}"
# Fired with the bill at every check-out (board, button, action).
EVENT_CHECK_OUT: Final = f"{DOMAIN}_check_out"
# Fired with the call's row when a call of a closed stay is recorded after its check-out.
EVENT_LATE_CHARGE: Final = f"{DOMAIN}_late_charge"
# A reset left pending is tried again after this, doubling up to the maximum.
RESET_RETRY_FIRST: Final = timedelta(seconds=30)
RESET_RETRY_MAX: Final = timedelta(minutes=10)
# A reset pending this long is a repair issue.
RESET_REPAIR_AFTER: Final = timedelta(minutes=15)
# The features a check-in names when they are on in the baseline it keeps.
NOTABLE_FEATURES: Final = (FEATURE_DND, *FORWARD_FEATURES.values())


def stay_csv_path(entry_id: str, stay_id: int) -> str:
    """Return the HTTP path of a stay's bill as CSV (``export.VtxStayBillView``)."""
    return f"{BILL_URL.format(entry_id=entry_id)}/stay/{stay_id}.csv"


def signal_stay(entry_id: str) -> str:
    """Dispatcher signal sent with a user_id when a line's stay, its totals or its pending reset change."""
    return f"{DOMAIN}_{entry_id}_stay"


def reset_issue_id(entry_id: str, user_id: int) -> str:
    """Return the repair issue id of a line's pending reset."""
    return f"reset_pending_{entry_id}_{user_id}"


@dataclass(slots=True)
class StayTotals:
    """What the sensors show of an open stay."""

    stay: Stay
    calls: int = 0
    cost: Decimal = Decimal(0)


@dataclass(slots=True)
class PendingReset:
    """A line that still holds a guest's changes: its reset failed at check-out."""

    user_id: int
    stay_id: int | None
    since: datetime
    error: str | None
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return what the board and the check-in answer show."""
        return {
            "stay_id": self.stay_id,
            "since": dt_util.as_local(self.since).isoformat(),
            "error": self.error,
            "attempts": self.attempts,
        }


def ledger_failed(err: LedgerError) -> HomeAssistantError:
    """Return the translated error of a ledger that cannot be read or written."""
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key="ledger_failed", translation_placeholders={"error": str(err)}
    )


def _summary(body: Mapping[str, Any]) -> dict[str, Any]:
    feature = Feature.from_json(dict(body))
    result: dict[str, Any] = {"status": feature.status}
    if feature.forward is not None:
        result["destination"] = feature.forward.destination_uri
    return result


def feature_differences(
    current: Mapping[str, Feature], baseline: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Return the features whose status or data differ from a baseline (``feature``, ``baseline``, ``current``)."""
    result: list[dict[str, Any]] = []
    for name, feature in sorted(current.items()):
        saved = baseline.get(name)
        if saved is None or not feature.differs_from(saved):
            continue
        result.append({"feature": name, "baseline": _summary(saved), "current": _summary(feature.to_json())})
    return result


def _signed(hass: HomeAssistant, path: str) -> str | None:
    """Sign a path for the administrator acting now (board or API), never for the content user."""
    if (connection := current_connection.get()) is not None:
        if connection.refresh_token_id and connection.user.is_admin:
            return async_sign_path(hass, path, SIGNED_PATH_VALIDITY, refresh_token_id=connection.refresh_token_id)
        return None
    request = current_request.get()
    if request is not None and KEY_HASS_REFRESH_TOKEN_ID in request and request[KEY_HASS_USER].is_admin:
        return async_sign_path(hass, path, SIGNED_PATH_VALIDITY, refresh_token_id=request[KEY_HASS_REFRESH_TOKEN_ID])
    return None


class StayManager:
    """The stays of one entry's lines, their bills, and the resets left pending."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        tracker: CallTracker,
        client: VtxClient,
        manager: LineManager,
        tariffs: Tariffs,
    ) -> None:
        """Initialise."""
        self.hass = hass
        self.entry_id = entry_id
        self.tracker = tracker
        self.client = client
        self.manager = manager
        self.tariffs = tariffs
        self.current: dict[int, StayTotals] = {}
        self.pending: dict[int, PendingReset] = {}
        self.logins: dict[int, str] = {}
        # The calls on the bill each stay was checked out with (this run): any other call of
        # a closed stay recorded later is a late charge.
        self._billed: dict[int, frozenset[str]] = {}
        self._closing: set[int] = set()
        self._unsub: Callable[[], None] | None = None
        self._unsub_login: Callable[[], None] = lambda: None
        self._timers: dict[tuple[str, int], Callable[[], None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False

    async def async_load(self) -> None:
        """Read the open stays and their totals, the pending resets; follow new calls."""
        ledger = self.tracker.ledger
        for stay in await self.hass.async_add_executor_job(ledger.open_stays):
            self.current[stay.user_id] = StayTotals(stay)
            await self._async_refresh(stay.user_id)
        self.logins = await self.hass.async_add_executor_job(ledger.line_logins)
        for user_id, stay_id, since, error in await self.hass.async_add_executor_job(ledger.pending_resets):
            pending = PendingReset(user_id, stay_id, dt_util.utc_from_timestamp(since), error)
            self.pending[user_id] = pending
            self._schedule_retry(user_id, timedelta(0))
            self._schedule_issue(pending)
        self._unsub = async_dispatcher_connect(self.hass, signal_call(self.entry_id), self._async_call)
        self._unsub_login = async_dispatcher_connect(
            self.hass, signal_line_login(self.entry_id), self.async_learn_login
        )

    @callback
    def async_stop(self) -> None:
        """Stop following calls and retrying resets (on unload; pending resets stay in the ledger)."""
        self._stopped = True
        if self._unsub is not None:
            self._unsub()
            self._unsub_login()
            self._unsub = None
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()

    def _start(self, coro: Any, name: str) -> None:
        task = self.hass.async_create_background_task(coro, f"{DOMAIN} {name}", eager_start=False)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- what is internal --------------------------------------------------------------
    @property
    def plan(self) -> NumberingPlan:
        """The numbering plan of the account: extension ranges, its lines' numbers and login names."""
        numbers: set[str] = set()
        logins: set[str] = set()
        if (entry := self.hass.config_entries.async_get_entry(self.entry_id)) is not None:
            for subentry in entry.subentries.values():
                number = subentry.data.get(CONF_NUMBER)
                if subentry.subentry_type == SUBENTRY_TYPE_LINE and isinstance(number, str) and number:
                    numbers.add(number)
        for login in self.logins.values():
            logins.add(login.lower())
            if (number := number_of_login(login)) is not None:
                numbers.add(number)
        return replace(self.tariffs.plan, own_numbers=frozenset(numbers), own_logins=frozenset(logins))

    async def async_apply_options(self, options: Mapping[str, Any]) -> None:
        """Take changed billing options (tariffs, internal extensions, retention) in place."""
        tariffs = Tariffs.from_options(options)
        days = timedelta(days=retention_days(options))
        if tariffs == self.tariffs and days == self.tracker.retention:
            return
        self.tariffs = tariffs
        self.tracker.retention = days
        for user_id in list(self.current):
            await self._async_refresh(user_id)

    @callback
    def async_learn_login(self, user_id: int, login: str | None) -> None:
        """Keep a login name of one of the account's lines (configured or discovered): calls to it are internal."""
        if not login or self.logins.get(user_id) == login:
            return
        self.logins[user_id] = login
        self._start(self._async_save_login(user_id, login), f"login of {user_id}")

    async def _async_save_login(self, user_id: int, login: str) -> None:
        try:
            await self.hass.async_add_executor_job(self.tracker.ledger.set_line_login, user_id, login)
        except LedgerError as err:
            LOGGER.debug("The login name of line %s could not be kept: %s", user_id, err)

    # --- totals of the open stays, late charges ---------------------------------------
    @callback
    def _async_call(self, user_id: int, call: CallLog, event_type: CallEventType) -> None:
        if user_id in self.current:
            self.hass.async_create_task(self._async_refresh(user_id), eager_start=False)
        if call.call_start is not None:
            self._start(self._async_late_charge(user_id, call), f"late charge of {user_id}")

    async def _async_late_charge(self, user_id: int, call: CallLog) -> None:
        """Add a call recorded after the check-out of the stay it started in to that stay."""
        assert call.call_start is not None
        try:
            stay = await self.hass.async_add_executor_job(
                self.tracker.ledger.closed_stay_at, user_id, int(call.call_start.timestamp())
            )
        except LedgerError as err:
            LOGGER.warning("A late call of line %s could not be matched with a stay: %s", user_id, err)
            return
        if stay is None or call.id in self._billed.get(stay.stay_id, ()):
            return
        received = int(dt_util.utcnow().timestamp())
        await self._async_add_late_charge(stay, LedgerCall.from_call_log(call, received=received, source=SOURCE_PUSH))

    async def _async_add_late_charge(self, stay: Stay, call: LedgerCall) -> None:
        """Record a late charge of a closed stay (once) and tell it: event and logbook."""
        try:
            if not await self.hass.async_add_executor_job(
                self.tracker.ledger.add_late_charge, call.call_id, stay.stay_id
            ):
                return
        except LedgerError as err:
            LOGGER.warning("A late charge of stay %s could not be recorded: %s", stay.stay_id, err)
            return
        [row] = price([call], self.tariffs, self.plan, (call.call_id,))
        user_id = stay.user_id
        line = self.manager.lines.get(user_id)
        LOGGER.info("A call of line %s arrived after check-out: a late charge of stay %s", user_id, stay.stay_id)
        self.hass.bus.async_fire(
            EVENT_LATE_CHARGE,
            {
                "config_entry_id": self.entry_id,
                "device_id": self._device_id(user_id),
                "line": line.name if line is not None else str(user_id),
                "user_id": user_id,
                "stay_id": stay.stay_id,
                "guest": stay.guest,
                "currency": self.hass.config.currency,
                "call": row.as_dict(),
            },
        )

    async def _async_refresh(self, user_id: int) -> None:
        held = self.current.get(user_id)
        if held is None:
            return
        now = int(dt_util.utcnow().timestamp())
        try:
            calls = await self.hass.async_add_executor_job(self.tracker.ledger.calls, user_id, held.stay.start, now)
        except LedgerError as err:
            LOGGER.warning("The stay of line %s could not be read from the ledger: %s", user_id, err)
            return
        rows = price(calls, self.tariffs, self.plan)
        if self.current.get(user_id) is held:
            held.calls = len(rows)
            held.cost = sum((row.cost for row in rows), Decimal(0))
            async_dispatcher_send(self.hass, signal_stay(self.entry_id), user_id)

    def _device_id(self, user_id: int) -> str | None:
        device = dr.async_get(self.hass).async_get_device_by_identifier((DOMAIN, str(user_id)), self.entry_id)
        return device.id if device is not None else None

    def _on_call(self, user_id: int) -> bool:
        # The entry's presence (the stays are built before the runtime data is assigned).
        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        presence = getattr(getattr(entry, "runtime_data", None), "presence", None)
        return presence is not None and presence_status(presence.line_data(user_id)) is PresenceStatus.ON_CALL

    # --- check-in ------------------------------------------------------------------------
    async def async_check_in(self, line: LineConfig, guest: str | None) -> dict[str, Any]:
        """Start a stay on a line; its current features become its baseline.

        While a reset is pending (the line still holds the last guest's changes) the last
        good baseline is kept. The answer names the features that differ from the
        baseline kept (``differences``: from the previous baseline when a new one was
        taken) and those on in it (``active``: DND, forwards), so a line left in DND is
        noticed. A baseline that cannot be read (API down) keeps the previous one: the stay
        starts anyway, and the answer says so.
        """
        user_id = line.user_id
        result: dict[str, Any] = {"line": line.name, "user_id": user_id, "guest": guest}
        previous = dict(self.manager.store.baselines.get(user_id) or {})
        pending = self.pending.get(user_id)
        try:
            if pending is None:
                result["baseline_features"] = await self.manager.async_save_baseline(line)
                # On disk now: a hard kill during the stay must not take the baseline along.
                await self.manager.store.async_save()
                taken = self.manager.store.baselines.get(user_id) or {}
                features = {name: Feature.from_json(body) for name, body in taken.items()}
            else:
                features = await self.manager.async_read_features(line)
                LOGGER.warning("Check-in of %s: its reset is still pending; the last good baseline is kept", line.name)
                result["baseline_features"] = len(previous)
            result["differences"] = feature_differences(features, previous)
        except HomeAssistantError as err:
            LOGGER.warning(
                "Check-in of %s: the baseline could not be taken (%s); the previous one is kept", line.name, err
            )
            result["baseline_features"] = None
            result["baseline_error"] = str(err)
            result["differences"] = []
        kept = self.manager.store.baselines.get(user_id) or {}
        result["active"] = sorted(
            name for name in NOTABLE_FEATURES if (body := kept.get(name)) and body.get("status") == STATUS_ACTIVE
        )
        result["baseline_kept"] = pending is not None or result["baseline_features"] is None
        result["reset_pending"] = pending.as_dict() if pending is not None else None
        now = dt_util.utcnow()
        held = self.current.get(user_id)
        try:
            stay = await self.hass.async_add_executor_job(
                self.tracker.ledger.check_in, user_id, guest, int(now.timestamp())
            )
        except LedgerError as err:
            raise ledger_failed(err) from err
        if held is not None:
            LOGGER.info("Check-in on %s closed the stay still open since %s", line.name, held.stay.start)
            result["closed_stay"] = held.stay.stay_id
        self.current[user_id] = StayTotals(stay)
        async_dispatcher_send(self.hass, signal_stay(self.entry_id), user_id)
        result["stay_id"] = stay.stay_id
        result["start"] = dt_util.as_local(dt_util.utc_from_timestamp(stay.start)).isoformat()
        return result

    def stay_of(self, user_id: int) -> StayTotals | None:
        """Return the open stay of a line."""
        return self.current.get(user_id)

    def reset_pending(self, user_id: int) -> PendingReset | None:
        """Return the line's reset left pending at a check-out (None: the line is at its baseline)."""
        return self.pending.get(user_id)

    # --- bills -----------------------------------------------------------------------------
    async def async_range_bill(self, user_id: int, start: datetime, end: datetime) -> LineBill:
        """Return a line's bill over a range (raises ``LedgerError``)."""
        return await async_line_bill(
            self.hass, self.tracker, self.client, self.tariffs, user_id, start, end, plan=self.plan
        )

    async def async_stay_bill(self, stay: Stay, end: datetime | None = None) -> LineBill:
        """Return a stay's bill (an open one up to ``end`` or now; late charges marked). Raises ``LedgerError``.

        The bill of a closed stay reads the API's history again: a call it finds only now
        (its push was lost) was recorded after the check-out, so it is a late charge too.
        """
        until = end or (dt_util.utc_from_timestamp(stay.end) if stay.end is not None else dt_util.utcnow())
        late: frozenset[str] = frozenset()
        if stay.end is not None:
            late = await self.hass.async_add_executor_job(self.tracker.ledger.late_charges, stay.stay_id)
        bill = await async_line_bill(
            self.hass,
            self.tracker,
            self.client,
            self.tariffs,
            stay.user_id,
            dt_util.utc_from_timestamp(stay.start),
            until,
            plan=self.plan,
            late=late,
        )
        if stay.end is None:
            return bill
        found = [row for row in bill.rows if not row.late and row.call.received > stay.end]
        for row in found:
            await self._async_add_late_charge(stay, row.call)
        if not found:
            return bill
        ids = {row.call.call_id for row in found}
        rows = [replace(row, late=True) if row.call.call_id in ids else row for row in bill.rows]
        return replace(bill, rows=rows)

    async def async_bill(self, line: LineConfig, stay: Stay, end: datetime) -> LineBill:
        """Return the bill of a stay up to ``end`` (translated error when the ledger fails)."""
        try:
            return await self.async_stay_bill(stay, end)
        except LedgerError as err:
            raise ledger_failed(err) from err

    async def _async_stay_calls(self, stay: Stay) -> list[LedgerCall]:
        try:
            return await self.hass.async_add_executor_job(
                self.tracker.ledger.calls, stay.user_id, stay.start, stay.end if stay.end is not None else stay.start
            )
        except LedgerError as err:
            LOGGER.warning("The calls of stay %s could not be read: %s", stay.stay_id, err)
            return []

    async def async_guests(self, user_id: int, start: datetime, end: datetime) -> list[Stay]:
        """Return a line's stays over a range (raises ``LedgerError``)."""
        return await self.hass.async_add_executor_job(
            self.tracker.ledger.stays_between, user_id, int(start.timestamp()), int(end.timestamp())
        )

    # --- check-out -----------------------------------------------------------------------
    async def async_check_out(self, line: LineConfig) -> dict[str, Any]:
        """Bill the open stay, put the line back to its baseline, close the stay; fire the bill.

        The bill is what matters: a reset that fails is reported in the answer, kept
        pending and tried again (the stay is closed all the same); a bill that cannot be
        read keeps the stay open. ``on_call``: the line was on a call at check-out (its
        record comes later, as a late charge).
        """
        user_id = line.user_id
        held = self.current.get(user_id)
        if held is None or user_id in self._closing:
            # None open, or one being checked out already (a second click): nothing to do twice.
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_stay", translation_placeholders={"line": line.name}
            )
        self._closing.add(user_id)
        try:
            return await self._async_check_out(line, held)
        finally:
            self._closing.discard(user_id)

    async def _async_check_out(self, line: LineConfig, held: StayTotals) -> dict[str, Any]:
        user_id = line.user_id
        stay = held.stay
        on_call = self._on_call(user_id)
        bill = await self.async_bill(line, stay, dt_util.utcnow())
        # The stay ends once its bill is made; a call of it not on the bill is a late charge.
        end = dt_util.utcnow()
        reset: dict[str, Any]
        try:
            reset = {"changes": await self.manager.async_reset(line)}
        except HomeAssistantError as err:
            LOGGER.warning("Check-out of %s: the line could not be reset (%s); trying again", line.name, err)
            reset = {"error": str(err)}
            if err.translation_key != "no_baseline":
                await self._async_set_pending(user_id, stay.stay_id, str(err))
                reset["pending"] = True
        else:
            await self._async_clear_pending(user_id)
        billed = frozenset(row.call.call_id for row in bill.rows)
        self._billed[stay.stay_id] = billed
        try:
            await self.hass.async_add_executor_job(self.tracker.ledger.check_out, stay.stay_id, int(end.timestamp()))
        except LedgerError as err:
            raise ledger_failed(err) from err
        if self.current.get(user_id) is held:
            del self.current[user_id]
        async_dispatcher_send(self.hass, signal_stay(self.entry_id), user_id)
        path = stay_csv_path(self.entry_id, stay.stay_id)
        result: dict[str, Any] = {
            "line": line.name,
            "user_id": user_id,
            "guest": stay.guest,
            "stay_id": stay.stay_id,
            "start": dt_util.as_local(dt_util.utc_from_timestamp(stay.start)).isoformat(),
            "end": dt_util.as_local(end).isoformat(),
            "currency": self.hass.config.currency,
            "calls": [row.as_dict() for row in bill.rows],
            "totals": totals(bill.rows),
            "history": bill.history,
            "downtime": [
                {"start": dt_util.as_local(a).isoformat(), "end": dt_util.as_local(b).isoformat()}
                for a, b in bill.downtime
            ],
            "csv_path": path,
            "reset": reset,
            "on_call": on_call,
        }
        # On the bus (automations, notifications) without a signed link: it would open the
        # bill to whoever reads the notification.
        self.hass.bus.async_fire(
            EVENT_CHECK_OUT, {"config_entry_id": self.entry_id, "device_id": self._device_id(user_id), **result}
        )
        # A record that came while the bill was made (after it was read) is a late charge.
        closed = replace(stay, end=int(end.timestamp()))
        for call in await self._async_stay_calls(closed):
            if call.call_id not in billed:
                await self._async_add_late_charge(closed, call)
        if (signed := _signed(self.hass, path)) is not None:
            result["csv_signed_path"] = signed
        return result

    # --- a line removed --------------------------------------------------------------------
    async def async_line_removed(self, user_id: int) -> None:
        """Close a removed line's open stay (its bill stays in the ledger) and drop its pending reset."""
        if (held := self.current.pop(user_id, None)) is not None:
            try:
                await self.hass.async_add_executor_job(
                    self.tracker.ledger.check_out, held.stay.stay_id, int(dt_util.utcnow().timestamp())
                )
            except LedgerError as err:
                LOGGER.warning("The stay of removed line %s could not be closed: %s", user_id, err)
            else:
                LOGGER.info("Line %s removed: its open stay %s is closed", user_id, held.stay.stay_id)
        await self._async_clear_pending(user_id)
        async_dispatcher_send(self.hass, signal_stay(self.entry_id), user_id)

    # --- resets left pending ---------------------------------------------------------------
    async def _async_set_pending(self, user_id: int, stay_id: int | None, error: str) -> None:
        pending = self.pending.get(user_id)
        if pending is None:
            pending = self.pending[user_id] = PendingReset(user_id, stay_id, dt_util.utcnow(), error)
            self._schedule_issue(pending)
        pending.error = error
        try:
            await self.hass.async_add_executor_job(
                self.tracker.ledger.set_pending_reset, user_id, stay_id, int(pending.since.timestamp()), error
            )
        except LedgerError as err:
            LOGGER.warning("The pending reset of line %s could not be kept on disk: %s", user_id, err)
        self._schedule_retry(user_id, RESET_RETRY_FIRST)

    async def _async_clear_pending(self, user_id: int) -> None:
        if self.pending.pop(user_id, None) is None:
            return
        for kind in ("retry", "issue"):
            if (cancel := self._timers.pop((kind, user_id), None)) is not None:
                cancel()
        ir.async_delete_issue(self.hass, DOMAIN, reset_issue_id(self.entry_id, user_id))
        try:
            await self.hass.async_add_executor_job(self.tracker.ledger.clear_pending_reset, user_id)
        except LedgerError as err:
            LOGGER.warning("The pending reset of line %s could not be cleared on disk: %s", user_id, err)
        async_dispatcher_send(self.hass, signal_stay(self.entry_id), user_id)

    def _schedule_retry(self, user_id: int, delay: timedelta) -> None:
        if self._stopped:
            return
        if (cancel := self._timers.pop(("retry", user_id), None)) is not None:
            cancel()
        self._timers["retry", user_id] = async_call_later(self.hass, delay, partial(self._retry_due, user_id))

    @callback
    def _retry_due(self, user_id: int, _now: datetime) -> None:
        self._timers.pop(("retry", user_id), None)
        if not self._stopped:
            self._start(self._async_retry(user_id), f"reset of {user_id}")

    async def _async_retry(self, user_id: int) -> None:
        pending = self.pending.get(user_id)
        line = self.manager.lines.get(user_id)
        if pending is None:
            return
        if line is None:
            await self._async_clear_pending(user_id)
            return
        try:
            changes = await self.manager.async_reset(line)
        except HomeAssistantError as err:
            pending.attempts += 1
            pending.error = str(err)
            delay = min(RESET_RETRY_FIRST * 2**pending.attempts, RESET_RETRY_MAX)
            LOGGER.debug("Reset of %s still fails (%s); next try in %s", line.name, err, delay)
            self._schedule_retry(user_id, delay)
            async_dispatcher_send(self.hass, signal_stay(self.entry_id), user_id)
            return
        LOGGER.info("Line %s is back to its baseline after check-out (%s change(s))", line.name, len(changes))
        await self._async_clear_pending(user_id)

    def _schedule_issue(self, pending: PendingReset) -> None:
        if self._stopped:
            return
        user_id = pending.user_id
        self._timers["issue", user_id] = async_track_point_in_utc_time(
            self.hass, partial(self._issue_due, user_id), max(pending.since + RESET_REPAIR_AFTER, dt_util.utcnow())
        )

    @callback
    def _issue_due(self, user_id: int, _now: datetime) -> None:
        self._timers.pop(("issue", user_id), None)
        if (pending := self.pending.get(user_id)) is None:
            return
        line = self.manager.lines.get(user_id)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            reset_issue_id(self.entry_id, user_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="reset_pending",
            translation_placeholders={
                "line": line.name if line is not None else str(user_id),
                "since": dt_util.as_local(pending.since).strftime("%Y-%m-%d %H:%M"),
                "error": pending.error or "-",
            },
        )
