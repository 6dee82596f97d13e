"""Stays: check-in takes the line's baseline, check-out bills the stay and puts the line back.

A stay lives in the ledger (it survives restarts and hard kills like the calls). While a
stay is open, the line's ``stay_calls`` and ``stay_call_cost`` sensors follow it: they are
recomputed from the ledger whenever a call of the line is recorded, so they always show
what ``check_out`` would bill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.util import dt as dt_util

from ..api import CallLog, VtxClient
from ..const import DOMAIN, LOGGER
from ..lines.config import LineConfig
from ..lines.manager import LineManager
from .bill import LineBill, async_line_bill, price, totals
from .calls import CallEventType, CallTracker, signal_call
from .ledger import LedgerError, Stay
from .tariffs import Tariffs

# How long the signed CSV path of a check-out stays valid.
SIGNED_PATH_VALIDITY: Final = timedelta(days=7)
BILL_URL: Final = "/api/vtx_voip/bill/{entry_id}"
# Fired with the bill when a stay is checked out by its button.
EVENT_CHECK_OUT: Final = f"{DOMAIN}_check_out"


def stay_csv_path(entry_id: str, stay_id: int) -> str:
    """Return the HTTP path of a stay's bill as CSV (``export.VtxStayBillView``)."""
    return f"{BILL_URL.format(entry_id=entry_id)}/stay/{stay_id}.csv"


def signal_stay(entry_id: str) -> str:
    """Dispatcher signal sent with a user_id when a line's stay or its totals change."""
    return f"{DOMAIN}_{entry_id}_stay"


@dataclass(slots=True)
class StayTotals:
    """What the sensors show of an open stay."""

    stay: Stay
    calls: int = 0
    cost: Decimal = Decimal(0)


def ledger_failed(err: LedgerError) -> HomeAssistantError:
    """Return the translated error of a ledger that cannot be read or written."""
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key="ledger_failed", translation_placeholders={"error": str(err)}
    )


class StayManager:
    """The stays of one entry's lines."""

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
        self._unsub: Callable[[], None] | None = None

    async def async_load(self) -> None:
        """Read the open stays and their totals; follow new calls."""
        for stay in await self.hass.async_add_executor_job(self.tracker.ledger.open_stays):
            self.current[stay.user_id] = StayTotals(stay)
            await self._async_refresh(stay.user_id)
        self._unsub = async_dispatcher_connect(self.hass, signal_call(self.entry_id), self._async_call)

    @callback
    def async_stop(self) -> None:
        """Stop following calls (on unload)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    @callback
    def _async_call(self, user_id: int, call: CallLog, event_type: CallEventType) -> None:
        if user_id in self.current:
            self.hass.async_create_task(self._async_refresh(user_id), eager_start=False)

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
        rows = price(calls, self.tariffs)
        if self.current.get(user_id) is held:
            held.calls = len(rows)
            held.cost = sum((row.cost for row in rows), Decimal(0))
            async_dispatcher_send(self.hass, signal_stay(self.entry_id), user_id)

    async def async_check_in(self, line: LineConfig, guest: str | None) -> dict[str, Any]:
        """Start a stay on a line; its current features become its baseline.

        A baseline that cannot be read (API down) keeps the previous one: the stay starts
        anyway, and the answer says so.
        """
        result: dict[str, Any] = {"line": line.name, "user_id": line.user_id, "guest": guest}
        try:
            result["baseline_features"] = await self.manager.async_save_baseline(line)
            # On disk now: a hard kill during the stay must not take the baseline along.
            await self.manager.store.async_save()
        except HomeAssistantError as err:
            LOGGER.warning(
                "Check-in of %s: the baseline could not be taken (%s); the previous one is kept", line.name, err
            )
            result["baseline_features"] = None
            result["baseline_error"] = str(err)
        now = dt_util.utcnow()
        previous = self.current.get(line.user_id)
        try:
            stay = await self.hass.async_add_executor_job(
                self.tracker.ledger.check_in, line.user_id, guest, int(now.timestamp())
            )
        except LedgerError as err:
            raise ledger_failed(err) from err
        if previous is not None:
            LOGGER.info("Check-in on %s closed the stay still open since %s", line.name, previous.stay.start)
            result["closed_stay"] = previous.stay.stay_id
        self.current[line.user_id] = StayTotals(stay)
        async_dispatcher_send(self.hass, signal_stay(self.entry_id), line.user_id)
        result["stay_id"] = stay.stay_id
        result["start"] = dt_util.as_local(dt_util.utc_from_timestamp(stay.start)).isoformat()
        return result

    def stay_of(self, user_id: int) -> StayTotals | None:
        """Return the open stay of a line."""
        return self.current.get(user_id)

    async def async_bill(self, line: LineConfig, stay: Stay, end: datetime) -> LineBill:
        """Return the bill of a stay up to ``end``."""
        try:
            return await async_line_bill(
                self.hass,
                self.tracker,
                self.client,
                self.tariffs,
                line.user_id,
                dt_util.utc_from_timestamp(stay.start),
                end,
            )
        except LedgerError as err:
            raise ledger_failed(err) from err

    async def async_check_out(self, line: LineConfig) -> dict[str, Any]:
        """Bill the open stay, put the line back to its baseline, close the stay.

        The bill is what matters: a reset that fails is reported in the answer (and the
        stay is closed all the same); a bill that cannot be read keeps the stay open.
        """
        held = self.current.get(line.user_id)
        if held is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_stay", translation_placeholders={"line": line.name}
            )
        stay = held.stay
        end = dt_util.utcnow()
        bill = await self.async_bill(line, stay, end)
        reset: dict[str, Any]
        try:
            reset = {"changes": await self.manager.async_reset(line)}
        except HomeAssistantError as err:
            LOGGER.warning("Check-out of %s: the line could not be reset (%s)", line.name, err)
            reset = {"error": str(err)}
        try:
            await self.hass.async_add_executor_job(self.tracker.ledger.check_out, stay.stay_id, int(end.timestamp()))
        except LedgerError as err:
            raise ledger_failed(err) from err
        if self.current.get(line.user_id) is held:
            del self.current[line.user_id]
        async_dispatcher_send(self.hass, signal_stay(self.entry_id), line.user_id)
        return {
            "line": line.name,
            "user_id": line.user_id,
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
            "csv_path": async_sign_path(
                self.hass, stay_csv_path(self.entry_id, stay.stay_id), SIGNED_PATH_VALIDITY, use_content_user=True
            ),
            "reset": reset,
        }
