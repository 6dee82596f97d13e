"""CSV export of bills from an authenticated Home Assistant HTTP view, for administrators.

``/api/vtx_voip/bill/{entry_id}/stay/{stay_id}.csv``: a stay's bill (``check_out``
returns this path, and signed for the administrator who checked out);
``/api/vtx_voip/bill/{entry_id}.csv`` with ``start``, optional ``end`` and optional
``user_id``: a range's bill, of one line or all. The rows are those of the actions
(``billing``), written for a guest to read, in the language of ``lang`` (default: Home
Assistant's). Every request is authenticated by Home Assistant (a user's token, or a
path signed for one) and must be an administrator's (guests' calls are personal data):
any other user gets 401.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
import re
from typing import Final

from aiohttp import web
from homeassistant.components.http.decorators import require_admin
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..data import VtxConfigEntry
from .bill import BillRow, to_csv
from .ledger import LedgerError, Stay
from .stays import BILL_URL

# The longest range one export may cover (the ledger keeps at most 10 years).
MAX_RANGE_DAYS: Final = 3660
_TEXTS_PREFIX: Final = f"component.{DOMAIN}.selector.bill_csv.options."
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")


async def _texts(hass: HomeAssistant, request: web.Request) -> tuple[dict[str, str], str]:
    """Return the CSV's texts in the language asked (``lang``), else Home Assistant's, and that language."""
    asked = request.query.get("lang", "")
    language = asked if _LANGUAGE.fullmatch(asked) else hass.config.language
    translations = await async_get_translations(hass, language, "selector", [DOMAIN])
    texts = {
        key.removeprefix(_TEXTS_PREFIX): value for key, value in translations.items() if key.startswith(_TEXTS_PREFIX)
    }
    return texts, language


def _guest_finder(stays: list[Stay]) -> Callable[[BillRow], str | None]:
    """Return the guest of a call: of the stay its start falls in."""

    def guest_of(row: BillRow) -> str | None:
        for stay in stays:
            if stay.start <= row.call.start and (stay.end is None or row.call.start <= stay.end):
                return stay.guest
        return None

    return guest_of


def _entry(request: web.Request, entry_id: str) -> VtxConfigEntry | None:
    entry: VtxConfigEntry | None = request.app[KEY_HASS].config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        return None
    return entry


def _csv(body: str, filename: str) -> web.Response:
    return web.Response(
        body=body.encode(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = dt_util.parse_datetime(value)
    if parsed is None:
        return None
    return dt_util.as_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_util.get_default_time_zone()))


class VtxStayBillView(HomeAssistantView):
    """A stay's bill as CSV."""

    url = f"{BILL_URL}/stay/{{stay_id:[0-9]{{1,12}}}}.csv"
    name = "api:vtx_voip:stay_bill"
    requires_auth = True

    @require_admin
    async def get(self, request: web.Request, entry_id: str, stay_id: str) -> web.Response:
        """Answer the CSV of one stay (open: up to now; calls recorded after check-out marked late)."""
        if (entry := _entry(request, entry_id)) is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        runtime = entry.runtime_data
        hass = request.app[KEY_HASS]
        try:
            stay = await hass.async_add_executor_job(runtime.calls.ledger.stay, int(stay_id))
            if stay is None:
                return web.Response(status=HTTPStatus.NOT_FOUND)
            bill = await runtime.stays.async_stay_bill(stay)
        except LedgerError as err:
            LOGGER.warning("A stay's bill could not be read from the ledger: %s", err)
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        line = runtime.lines.get(stay.user_id)
        name = line.name if line is not None else str(stay.user_id)
        texts, language = await _texts(hass, request)
        body = to_csv([(name, bill.rows, lambda _row: stay.guest)], hass.config.currency, texts, language)
        return _csv(body, f"stay-{stay.stay_id}.csv")


class VtxRangeBillView(HomeAssistantView):
    """A range's bill as CSV (``start``, ``end``, ``user_id`` in the query)."""

    url = f"{BILL_URL}.csv"
    name = "api:vtx_voip:bill"
    requires_auth = True

    @require_admin
    async def get(self, request: web.Request, entry_id: str) -> web.Response:
        """Answer the CSV of the lines' calls that started in the range."""
        if (entry := _entry(request, entry_id)) is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        runtime = entry.runtime_data
        hass = request.app[KEY_HASS]
        start = _time(request.query.get("start"))
        end = _time(request.query.get("end")) or dt_util.utcnow()
        if start is None or end <= start or (end - start).days > MAX_RANGE_DAYS:
            return web.Response(status=HTTPStatus.BAD_REQUEST, text="start (and end after it) as ISO 8601 times")
        raw_user = request.query.get("user_id")
        if raw_user is not None and (not raw_user.isdigit() or int(raw_user) not in runtime.lines):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        user_ids = [int(raw_user)] if raw_user is not None else sorted(runtime.lines)
        lines: list[tuple[str, list[BillRow], Callable[[BillRow], str | None]]] = []
        try:
            for user_id in user_ids:
                bill = await runtime.stays.async_range_bill(user_id, start, end)
                guests = await runtime.stays.async_guests(user_id, start, end)
                line = runtime.lines.get(user_id)
                lines.append((line.name if line is not None else str(user_id), bill.rows, _guest_finder(guests)))
        except LedgerError as err:
            LOGGER.warning("A bill could not be read from the ledger: %s", err)
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        texts, language = await _texts(hass, request)
        return _csv(to_csv(lines, hass.config.currency, texts, language), "calls.csv")
