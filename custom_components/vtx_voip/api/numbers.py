"""Lines named by userId, phone number or login name; phone numbers in E.164 and for display.

No Home Assistant import. The rules that are not published (how a national number reads,
how a login name is made) live in ``assumptions``.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Final

from .assumptions import DEFAULT_SIP_DOMAIN, NATIONAL_COUNTRY_CODE

# A userId: 1 to 12 digits, no leading zero (a leading zero is a national phone number).
_USER_ID: Final = re.compile(r"[1-9][0-9]{0,11}")
# Separators people type inside a phone number.
_SEPARATORS: Final = re.compile(r"[ \t./()\-\u00a0]")
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")
_DOMAIN: Final = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*"
)
_LOCAL: Final = re.compile(r"[A-Za-z0-9_.!~*'&=+$,%-]{1,64}")
MAX_INPUT: Final = 300


def normalize_number(text: str) -> str | None:
    """Return a phone number in E.164 (``+41225662194``), or None when it is not one.

    Accepts ``+41225662194``, ``+41 22 566 21 94``, ``0041225662194`` and the national
    ``0225662194`` (Swiss, see ``assumptions.NATIONAL_COUNTRY_CODE``).
    """
    if len(text) > MAX_INPUT:
        return None
    compact = _SEPARATORS.sub("", text.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("0"):
        compact = "+" + NATIONAL_COUNTRY_CODE + compact[1:]
    if not compact.isascii() or _E164.fullmatch(compact) is None:
        return None
    return compact


# ITU calling codes of two digits (one-digit codes: 1 and 7; every other code has three).
_TWO_DIGIT_CODES: Final = frozenset(
    {
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
        "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
        "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    }
)  # fmt: skip
# Swiss service numbers (national significant number prefix): written nationally, 0800 123 456.
_SWISS_SERVICE: Final = ("80", "84", "86", "87", "90")
# German area codes of two digits (Berlin, Hamburg, Frankfurt, Munich); mobile prefixes of three.
_DE_TWO_DIGIT_AREAS: Final = frozenset({"30", "40", "69", "89"})


def country_code(number: str) -> str | None:
    """Return the calling code of an E.164 number (``+4930123456`` -> ``49``), or None."""
    if _E164.fullmatch(number) is None:
        return None
    digits = number[1:]
    if digits[0] in "17":
        return digits[0]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def _swiss(national: str) -> str:
    if national.startswith(_SWISS_SERVICE):
        return f"0{national[:3]} {national[3:6]} {national[6:]}"
    return f"+41 {national[:2]} {national[2:5]} {national[5:7]} {national[7:]}"


def _grouped(code: str, rest: str) -> str:
    """Group the national part where the plan is simple enough to know; else after the code only."""
    if code == "1" and len(rest) == 10:
        return f"+1 {rest[:3]} {rest[3:6]} {rest[6:]}"
    if code == "33" and len(rest) == 9:
        return f"+33 {rest[0]} {rest[1:3]} {rest[3:5]} {rest[5:7]} {rest[7:]}"
    if code == "49" and rest[:2] in _DE_TWO_DIGIT_AREAS:
        return f"+49 {rest[:2]} {rest[2:]}"
    if code == "49" and rest[:2] in ("15", "16", "17"):
        return f"+49 {rest[:3]} {rest[3:]}"
    if code == "44" and rest[:2] == "20" and len(rest) == 10:
        return f"+44 20 {rest[2:6]} {rest[6:]}"
    return f"+{code} {rest}"


def format_number(number: str) -> str:
    """Return a number spaced for reading; anything that is no E.164 number as given.

    Swiss numbers per the Swiss plan: ``+41 22 566 21 94``, service numbers nationally
    (``0800 123 456``, ``0848 123 456``, ``0901 234 567``). Other countries after their
    calling code (``+49 30 123456``, ``+33 1 42 68 53 00``, ``+1 212 555 0100``).
    """
    if (code := country_code(number)) is None:
        return number
    rest = number[1 + len(code) :]
    if code == "41" and len(rest) == 9:
        return _swiss(rest)
    return _grouped(code, rest)


def login_name(number: str, domain: str = DEFAULT_SIP_DOMAIN) -> str:
    """Return the login name of a line from its E.164 number (``+41225662194@m.ipvoip.ch``)."""
    return f"{number}@{domain}"


def split_login(text: str) -> tuple[str, str] | None:
    """Return (user part, domain) of a login name, or None when it is not one."""
    if len(text) > MAX_INPUT:
        return None
    user, sep, domain = text.strip().removeprefix("sip:").partition("@")
    if not sep or _LOCAL.fullmatch(user) is None or _DOMAIN.fullmatch(domain) is None:
        return None
    return user, domain.lower()


def number_of_login(login: str | None) -> str | None:
    """Return the E.164 number a login name holds (``+41225662194@m.ipvoip.ch``), or None."""
    if not login or (parts := split_login(login)) is None:
        return None
    user = parts[0]
    return user if _E164.fullmatch(user) else None


def domain_of_login(login: str | None) -> str | None:
    """Return the SIP domain of a login name, or None."""
    if not login or (parts := split_login(login)) is None:
        return None
    return parts[1]


@dataclass(frozen=True, slots=True)
class LineRef:
    """A line as the user named it: exactly one of ``user_id``, ``number`` or ``login``.

    ``number`` is E.164; a login name that holds a number has it in ``number`` too.
    """

    text: str
    user_id: int | None = None
    number: str | None = None
    login: str | None = None

    @property
    def needs_lookup(self) -> bool:
        """Whether the userId must be asked from the API (a number or a login name)."""
        return self.user_id is None

    def login_for(self, domain: str) -> str:
        """Return the login name to look the line up by (its own, or built from its number)."""
        if self.login is not None:
            return self.login
        assert self.number is not None
        return login_name(self.number, domain)


def parse_line_ref(text: str) -> LineRef | None:
    """Read a userId (``176125``), phone number or login name; None when it is none of them."""
    value = text.strip()
    if not value or len(value) > MAX_INPUT:
        return None
    if _USER_ID.fullmatch(value):
        return LineRef(text=value, user_id=int(value))
    if "@" in value:
        if (parts := split_login(value)) is None:
            return None
        login = f"{parts[0]}@{parts[1]}"
        return LineRef(text=value, login=login, number=number_of_login(login))
    if (number := normalize_number(value)) is not None:
        return LineRef(text=value, number=number)
    return None


def default_line_name(user_id: int, number: str | None) -> str:
    """Return the name of a line added without one: its number when known, else ``Line <userId>``."""
    return format_number(number) if number else f"Line {user_id}"
