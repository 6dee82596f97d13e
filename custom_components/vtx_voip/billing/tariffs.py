"""Tariffs (an options step) and the price of one call.

Per destination class (``numbering.DestinationClass``, emergency excepted: always free): a
price per minute, charged per started minute or per second with a minimum of seconds, and
a set-up price per connected call. A call that was not connected (0 seconds) costs nothing;
incoming calls are free unless the ``bill_incoming`` option says otherwise (they are then
priced by the class of the caller's number). Each call's cost is rounded to the cent
(half up); totals add rounded costs, so a bill adds up to what its rows show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from .numbering import FREE_CLASSES, Destination, DestinationClass, NumberingPlan, parse_extension_ranges

CONF_TARIFFS: Final = "tariffs"
CONF_BILL_INCOMING: Final = "bill_incoming"
CONF_RETENTION_DAYS: Final = "retention_days"
# Short numbers billed as internal, as ranges (``100-199, 2000-2999``).
CONF_INTERNAL_EXTENSIONS: Final = "internal_extensions"
DEFAULT_RETENTION_DAYS: Final = 400
MIN_RETENTION_DAYS: Final = 1
MAX_RETENTION_DAYS: Final = 3650
CONF_PRICE: Final = "price_per_minute"
CONF_BILLING: Final = "billing"
CONF_MINIMUM: Final = "minimum_seconds"
CONF_SETUP: Final = "setup_price"
CENT: Final = Decimal("0.01")
# The classes a tariff is set for (emergency and freephone calls are free).
PRICED_CLASSES: Final = tuple(c for c in DestinationClass if c not in FREE_CLASSES)


class Billing(StrEnum):
    """How the seconds of a call are charged."""

    PER_MINUTE = "per_minute"  # each started minute
    PER_SECOND = "per_second"  # each second, at least ``minimum_seconds``


def _decimal(value: Any) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation, ValueError, TypeError:
        return Decimal(0)
    return result if result.is_finite() and result >= 0 else Decimal(0)


@dataclass(frozen=True, slots=True)
class ClassTariff:
    """The tariff of one destination class."""

    price_per_minute: Decimal = Decimal(0)
    billing: Billing = Billing.PER_MINUTE
    minimum_seconds: int = 0
    setup_price: Decimal = Decimal(0)

    @classmethod
    def from_options(cls, data: Mapping[str, Any] | None) -> ClassTariff:
        """Read one class's options (tolerant: anything unusable is 0 / per minute)."""
        data = data or {}
        try:
            billing = Billing(data.get(CONF_BILLING, Billing.PER_MINUTE))
        except ValueError:
            billing = Billing.PER_MINUTE
        try:
            minimum = max(int(data.get(CONF_MINIMUM, 0) or 0), 0)
        except ValueError, TypeError:
            minimum = 0
        return cls(
            price_per_minute=_decimal(data.get(CONF_PRICE, 0)),
            billing=billing,
            minimum_seconds=minimum,
            setup_price=_decimal(data.get(CONF_SETUP, 0)),
        )

    def cost(self, seconds: int) -> Decimal:
        """Return what a connected call of ``seconds`` costs, to the cent."""
        if self.billing is Billing.PER_MINUTE:
            minutes = (Decimal(seconds) / 60).to_integral_value(rounding=ROUND_CEILING)
            amount = self.setup_price + minutes * self.price_per_minute
        else:
            billed = max(seconds, self.minimum_seconds)
            amount = self.setup_price + self.price_per_minute * Decimal(billed) / 60
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Tariffs:
    """The tariffs of an entry."""

    classes: dict[DestinationClass, ClassTariff] = field(default_factory=dict)
    bill_incoming: bool = False
    # The extension ranges of the options (the own lines are added by the stays).
    plan: NumberingPlan = field(default_factory=NumberingPlan)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Tariffs:
        """Read the entry's options."""
        raw = options.get(CONF_TARIFFS)
        raw = raw if isinstance(raw, Mapping) else {}
        return cls(
            classes={
                cls_: ClassTariff.from_options(value if isinstance(value := raw.get(cls_.value), Mapping) else None)
                for cls_ in PRICED_CLASSES
            },
            bill_incoming=bool(options.get(CONF_BILL_INCOMING, False)),
            plan=NumberingPlan(extensions=extension_ranges(options)),
        )

    def cost(self, destination: Destination, duration: int, *, incoming: bool) -> Decimal:
        """Return what a call costs the line, to the cent."""
        if duration <= 0 or destination.free or destination.destination_class in FREE_CLASSES:
            return Decimal("0.00")
        if incoming and not self.bill_incoming:
            return Decimal("0.00")
        tariff = self.classes.get(destination.destination_class, ClassTariff())
        return tariff.cost(duration)


# Options that only change what calls cost: applied in place (``StayManager.async_apply_options``), no reload.
BILLING_OPTIONS: Final = frozenset({CONF_TARIFFS, CONF_BILL_INCOMING, CONF_INTERNAL_EXTENSIONS, CONF_RETENTION_DAYS})


def extension_ranges(options: Mapping[str, Any]) -> tuple[tuple[int, int], ...]:
    """Return the internal extension ranges of the options (none when unreadable: the flow validates)."""
    value = options.get(CONF_INTERNAL_EXTENSIONS)
    try:
        return parse_extension_ranges(value if isinstance(value, str) else None)
    except ValueError:
        return ()


def retention_days(options: Mapping[str, Any]) -> int:
    """Return the retention option in days, bounded."""
    try:
        days = int(options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS))
    except ValueError, TypeError:
        return DEFAULT_RETENTION_DAYS
    return min(max(days, MIN_RETENTION_DAYS), MAX_RETENTION_DAYS)
