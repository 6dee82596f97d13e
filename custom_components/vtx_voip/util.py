"""Small helpers shared by entities and actions."""

from __future__ import annotations

import re
from typing import Final

# A phone number: optional "+", digits, with spaces, dots, dashes or brackets between them.
_PHONE: Final = re.compile(r"^\+?[0-9][0-9 ./()-]{1,30}$")
# A SIP URI, with or without its scheme: user@host (the wiki's example has no scheme).
_SIP: Final = re.compile(r"^(?:sips?:)?[A-Za-z0-9_.!~*'();&=+$,%-]{1,64}@[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?$")


def normalize_destination(value: str) -> str | None:
    """Return a forward destination in the form the API takes, or None if it is not one.

    Phone numbers lose their spacing (``+41 22 566 21 94`` -> ``+41225662194``); SIP URIs
    are kept as typed.
    """
    text = value.strip()
    if _PHONE.fullmatch(text):
        digits = re.sub(r"[ ./()-]", "", text)
        return digits if 3 <= len(digits.lstrip("+")) <= 20 else None
    if _SIP.fullmatch(text):
        return text
    return None
