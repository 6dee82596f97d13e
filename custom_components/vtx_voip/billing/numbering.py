"""Destination classes of a call by its number: the Swiss numbering plan, in one table.

A call is classified by the number it went to: the E.164 number the API gives
(``callPartyNumber``, e.g. ``+41225117902``) or, failing that, the number dialled
(``callPartyDialNumber``, e.g. ``0225117902``) read as a Swiss number. What was dialled
decides first for the short numbers no E.164 form carries: emergency numbers and internal
extensions.

The table (``SWISS_PREFIXES``) maps the national significant number's first digits to a
class, longest prefix first; anything else under +41 is national fixed, anything outside
+41 international. Some destinations cost the caller nothing whatever the tariff
(``FREE_PREFIXES``: 0800 freephone; emergency numbers are free by their class).

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
    "800": DestinationClass.SPECIAL,  # freephone (free, see FREE_PREFIXES)
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
# Destinations free for the caller whatever the tariff (national significant number prefix).
FREE_PREFIXES: Final = frozenset({"800"})

_EXTENSION: Final = re.compile(r"^[2-9]\d{1,5}$")
_SWISS_SHORT: Final = re.compile(r"^1\d{2,4}$")
_DIGITS: Final = re.compile(r"^\+?\d{1,20}$")


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


def classify(number: str | None, dialled: str | None = None) -> Destination:
    """Classify a call by its E.164 number (``number``) and what was dialled."""
    for short in (_clean(dialled), _clean(number)):
        if short is None:
            continue
        if short in EMERGENCY_NUMBERS:
            return Destination(DestinationClass.EMERGENCY, None, True)
    short = _clean(dialled) or _clean(number)
    if short is not None and _EXTENSION.match(short):
        return Destination(DestinationClass.INTERNAL, None, False)
    e164 = to_e164(number) or to_e164(dialled)
    if e164 is None:
        if short is not None and _SWISS_SHORT.match(short):
            return Destination(DestinationClass.SPECIAL, None, False)
        # Nothing to go by (a withheld or unparsable number): the dearest class is not
        # guessed; national fixed is what most calls are.
        return Destination(DestinationClass.NATIONAL_FIXED, None, False)
    if not e164.startswith(f"+{COUNTRY_CODE}"):
        return Destination(DestinationClass.INTERNATIONAL, e164, False)
    national = e164[1 + len(COUNTRY_CODE) :]
    for length in range(min(len(national), 4), 0, -1):
        prefix = national[:length]
        if prefix in SWISS_PREFIXES:
            return Destination(SWISS_PREFIXES[prefix], e164, prefix in FREE_PREFIXES)
    return Destination(DestinationClass.NATIONAL_FIXED, e164, False)
