"""Destination classes of a call by its number: the Swiss numbering plan, in one table.

A call is classified by the number it went to: the E.164 number the API gives
(``callPartyNumber``, e.g. ``+41225117902``) or, failing that, the number dialled
(``callPartyDialNumber``, e.g. ``0225117902``) read as a Swiss number. What was dialled
decides first for the short numbers no E.164 form carries: emergency numbers and internal
extensions.

The account's own lines come before the plan (``NumberingPlan``): a call to (or from) any
number or login name of a line of the account is internal, and so is a short number in
the *Internal extensions* ranges of the options (``100-199, 2000-2999``), which are read
before the Swiss short-number rule (1xx). Emergency numbers stay emergency numbers.

The table (``SWISS_PREFIXES``) maps the national significant number's first digits to a
class, longest prefix first; anything else under +41 is national fixed, anything outside
+41 international. Freephone numbers (0800, and the international +800) are their own
class, free whatever the tariff; emergency numbers are free by their class.

Assumption (the API does not say): an extension of the same enterprise is dialled as 2 to
6 digits not starting with 0 or 1 (Swiss short numbers all start with 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import re
from typing import Final


class DestinationClass(StrEnum):
    """What a call costs depends on where it went."""

    INTERNAL = "internal"
    NATIONAL_FIXED = "national_fixed"
    NATIONAL_MOBILE = "national_mobile"
    INTERNATIONAL = "international"
    SPECIAL = "special"
    FREE = "free"
    EMERGENCY = "emergency"


COUNTRY_CODE: Final = "41"
# Emergency and rescue numbers (police, fire, ambulance, European emergency, Rega, poison...).
EMERGENCY_NUMBERS: Final = frozenset({"112", "117", "118", "144", "1414", "145", "143", "147"})
# National significant number prefix (after +41) -> class; the longest match wins.
SWISS_PREFIXES: Final[dict[str, DestinationClass]] = {
    "75": DestinationClass.NATIONAL_MOBILE,
    "76": DestinationClass.NATIONAL_MOBILE,
    "77": DestinationClass.NATIONAL_MOBILE,
    "78": DestinationClass.NATIONAL_MOBILE,
    "79": DestinationClass.NATIONAL_MOBILE,
    "800": DestinationClass.FREE,  # freephone
    "840": DestinationClass.SPECIAL,  # shared cost
    "842": DestinationClass.SPECIAL,
    "844": DestinationClass.SPECIAL,
    "848": DestinationClass.SPECIAL,
    "860": DestinationClass.SPECIAL,  # voice mail access
    "869": DestinationClass.SPECIAL,  # dial-up (obsolete)
    "878": DestinationClass.SPECIAL,  # personal numbers
    "900": DestinationClass.SPECIAL,  # premium rate
    "901": DestinationClass.SPECIAL,
    "906": DestinationClass.SPECIAL,
}
# Classes that cost the caller nothing whatever the tariff.
FREE_CLASSES: Final = frozenset({DestinationClass.FREE, DestinationClass.EMERGENCY})
# The international freephone numbers (UIFN, +800 and eight digits).
INTERNATIONAL_FREEPHONE: Final = "+800"
# At most this many digits in an internal extension range.
MAX_EXTENSION_DIGITS: Final = 8

_EXTENSION: Final = re.compile(r"^[2-9]\d{1,5}$")
_SWISS_SHORT: Final = re.compile(r"^1\d{2,4}$")
_DIGITS: Final = re.compile(r"^\+?\d{1,20}$")
_RANGE: Final = re.compile(
    rf"^([1-9]\d{{0,{MAX_EXTENSION_DIGITS - 1}}})(?:-([1-9]\d{{0,{MAX_EXTENSION_DIGITS - 1}}}))?$"
)


class InvalidExtensionsError(ValueError):
    """The *Internal extensions* option is not a list of ranges; ``part`` is the first bad one."""

    def __init__(self, part: str) -> None:
        """Keep the part that could not be read."""
        super().__init__(f"not an extension range: {part!r}")
        self.part = part


def parse_extension_ranges(text: str | None) -> tuple[tuple[int, int], ...]:
    """Read ``100-199, 2000-2999, 300`` as ranges; raise ``InvalidExtensionsError`` for a bad part.

    Commas, semicolons or spaces separate the ranges; a range is one extension or two
    joined by a dash, the first not above the last, without a leading 0 (a national number).
    """
    ranges: list[tuple[int, int]] = []
    for part in re.split(r"[,;\s]+", re.sub(r"\s*-\s*", "-", (text or "").strip())):
        if not part:
            continue
        match = _RANGE.match(part)
        if match is None:
            raise InvalidExtensionsError(part)
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if first > last:
            raise InvalidExtensionsError(part)
        ranges.append((first, last))
    return tuple(ranges)


def format_extension_ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    """Write ranges back as the option reads them (``100-199, 300``)."""
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in ranges)


@dataclass(frozen=True, slots=True)
class NumberingPlan:
    """What is internal for one account: its own lines' numbers and login names, its extension ranges."""

    extensions: tuple[tuple[int, int], ...] = ()
    # E.164 numbers of the account's lines.
    own_numbers: frozenset[str] = frozenset()
    # Login names of the account's lines, lower case (``room101@pbx.example.ch``).
    own_logins: frozenset[str] = frozenset()

    def is_extension(self, short: str) -> bool:
        """Whether a short number (digits only) falls in an internal extension range."""
        if not short.isdigit() or short.startswith("0"):
            return False
        value = int(short)
        return any(first <= value <= last for first, last in self.extensions)

    def is_own(self, value: str | None) -> bool:
        """Whether a number or login name is one of the account's lines."""
        if not value:
            return False
        if (login := _login(value)) is not None and login in self.own_logins:
            return True
        return (e164 := to_e164(value)) is not None and e164 in self.own_numbers


NO_PLAN: Final = NumberingPlan()


def _login(value: str) -> str | None:
    """Return a login name (``user@domain``) in lower case, without ``sip:`` and parameters."""
    text = value.strip()
    if text.lower().startswith(("sip:", "sips:")):
        text = text.split(":", 1)[1]
    text = text.split(";", 1)[0].split(">", 1)[0]
    return text.lower() if "@" in text else None


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a call went: its class, its E.164 number when known, and whether it is free."""

    destination_class: DestinationClass
    e164: str | None
    free: bool


def _clean(number: str | None) -> str | None:
    """Digits with an optional leading +; separators dropped; a SIP URI's user part."""
    if not number:
        return None
    value = number.strip()
    if value.lower().startswith(("sip:", "tel:")):
        value = value.split(":", 1)[1]
    value = value.split("@", 1)[0].split(";", 1)[0]
    value = re.sub(r"[\s\-./()]", "", value)
    return value if _DIGITS.match(value) else None


def to_e164(number: str | None) -> str | None:
    """Write a number as E.164 (Swiss national form taken as +41); None when it cannot be one."""
    value = _clean(number)
    if value is None:
        return None
    if value.startswith("+"):
        return value if len(value) > 4 else None
    if value.startswith("00") and len(value) > 5:
        return f"+{value[2:]}"
    if value.startswith("0") and len(value) >= 10:
        return f"+{COUNTRY_CODE}{value[1:]}"
    return None


def classify(number: str | None, dialled: str | None = None, plan: NumberingPlan = NO_PLAN) -> Destination:
    """Classify a call by its E.164 number (``number``), what was dialled, and the account's plan."""
    for short in (_clean(dialled), _clean(number)):
        if short is None:
            continue
        if short in EMERGENCY_NUMBERS:
            return Destination(DestinationClass.EMERGENCY, None, True)
    if plan.is_own(number) or plan.is_own(dialled):
        return Destination(DestinationClass.INTERNAL, to_e164(number) or to_e164(dialled), False)
    short = _clean(dialled) or _clean(number)
    if short is not None and (plan.is_extension(short) or _EXTENSION.match(short)):
        return Destination(DestinationClass.INTERNAL, None, False)
    e164 = to_e164(number) or to_e164(dialled)
    if e164 is None:
        if short is not None and _SWISS_SHORT.match(short):
            return Destination(DestinationClass.SPECIAL, None, False)
        # Nothing to go by (a withheld or unparsable number): the dearest class is not
        # guessed; national fixed is what most calls are.
        return Destination(DestinationClass.NATIONAL_FIXED, None, False)
    if e164.startswith(INTERNATIONAL_FREEPHONE):
        return Destination(DestinationClass.FREE, e164, True)
    if not e164.startswith(f"+{COUNTRY_CODE}"):
        return Destination(DestinationClass.INTERNATIONAL, e164, False)
    national = e164[1 + len(COUNTRY_CODE) :]
    for length in range(min(len(national), 4), 0, -1):
        prefix = national[:length]
        if prefix in SWISS_PREFIXES:
            destination_class = SWISS_PREFIXES[prefix]
            return Destination(destination_class, e164, destination_class in FREE_CLASSES)
    return Destination(DestinationClass.NATIONAL_FIXED, e164, False)
