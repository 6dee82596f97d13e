"""Lines as a person types them: parsing, and resolution to checked userIds.

No Home Assistant import. A line is named by its userId (``176125``), its phone number
(``+41 22 566 21 94``, ``0225662194``) or its login name, optionally followed by ``= name``.
Numbers and login names are looked up by login name (platform 7.8 and newer); userIds are
checked by reading the line's features. What fails is given as a :class:`LineError`, whose
values are short keys a user interface can translate.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
import re
from typing import Final

from .client import VtxClient
from .exceptions import VtxAuthenticationError, VtxError, VtxNotFoundError, VtxRequestError, VtxResponseError
from .models import ServerInfo
from .numbers import LineRef, default_line_name, domain_of_login, parse_line_ref

# A line of text: a userId, phone number or login name, optionally "= name"
# ("176125 = Room 101", "+41 22 566 21 94 = Room 101"); "176125: Room 101" is read too.
_LINE: Final = re.compile(r"^\s*(?P<ref>[^=]+?)\s*(?:=\s*(?P<name>.*?))?\s*$")
_LEGACY_LINE: Final = re.compile(r"^\s*(?P<ref>\d{1,12})\s*:\s*(?P<name>.*?)\s*$")
# Look-ups and checks sent at once.
MAX_CHECKS_IN_FLIGHT: Final = 4


class LineError(StrEnum):
    """Why lines do not resolve (the values are the keys of the messages)."""

    INVALID_AUTH = "invalid_auth"
    """The API refused the credentials (401)."""
    CANNOT_CONNECT = "cannot_connect"
    """The API did not answer, or answered with a server error."""
    USER_ID_NEEDED = "user_id_needed"
    """Numbers or login names on a platform older than 7.8: their userIds are needed."""
    NUMBERS_NOT_FOUND = "numbers_not_found"
    """No line has these numbers or login names."""
    USER_IDS_CONFIGURED = "user_ids_configured"
    """These lines are taken already."""
    CONFLICTING_NAMES = "conflicting_names"
    """One line is given two different names."""
    UNKNOWN_USER_IDS = "unknown_user_ids"
    """The API does not know these userIds (or this account may not read them)."""


@dataclass(slots=True)
class Resolution:
    """What the lines typed resolve to, or why they do not.

    ``lines``: userId -> (name, E.164 number or None); ``error``: why not, with
    ``placeholders`` naming what failed (``lines``, ``logins``, ``version``) and ``base``
    telling an error of the account (credentials, connection) from one of the lines;
    ``domain``: a SIP domain learned from a login name that resolved; ``logins``: the login
    name each line was found by (numbers and login names; lines typed as userIds have none).
    """

    lines: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    logins: dict[int, str] = field(default_factory=dict)
    error: LineError | None = None
    base: bool = False
    placeholders: dict[str, str] = field(default_factory=dict)
    domain: str | None = None


def parse_line(text: str) -> tuple[LineRef, str] | None:
    """Parse one entry: a userId, number or login name and its name ("" when none given)."""
    match = _LEGACY_LINE.match(text) or _LINE.match(text)
    if match is None or (ref := parse_line_ref(match.group("ref"))) is None:
        return None
    return ref, (match.group("name") or "").strip()


def parse_lines(text: str) -> tuple[list[tuple[LineRef, str]], list[str]]:
    """Parse lines of text: the entries (line, name or ""), and the rows that are not entries."""
    entries: list[tuple[LineRef, str]] = []
    bad: list[str] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if (entry := parse_line(raw)) is None:
            bad.append(raw.strip())
        else:
            entries.append(entry)
    return entries, bad


def entries_text(refs: list[LineRef]) -> str:
    """Name lines as they were typed, comma-separated."""
    return ", ".join(ref.text for ref in refs)


async def check_user_id(client: VtxClient, user_id: int) -> LineError | None:
    """Read a line's features: None when the line exists, else why not."""
    try:
        features = await client.get_features(user_id)
    except VtxAuthenticationError as err:
        # 401: the credentials themselves; 403 may be a line outside the account.
        return LineError.INVALID_AUTH if err.status == 401 else LineError.UNKNOWN_USER_IDS
    except VtxNotFoundError, VtxRequestError:
        return LineError.UNKNOWN_USER_IDS
    except VtxError:
        return LineError.CANNOT_CONNECT
    return None if features else LineError.UNKNOWN_USER_IDS


async def resolve_login(client: VtxClient, login: str) -> int | LineError:
    """Return the userId of a login name, or why not (``NUMBERS_NOT_FOUND`` when no line has it)."""
    try:
        return await client.resolve_login(login)
    except VtxAuthenticationError as err:
        return LineError.INVALID_AUTH if err.status == 401 else LineError.NUMBERS_NOT_FOUND
    except VtxNotFoundError, VtxRequestError, VtxResponseError:
        # A 7.8 platform that does not take login names after all answers 404 (or 400).
        return LineError.NUMBERS_NOT_FOUND
    except VtxError:
        return LineError.CANNOT_CONNECT


def _account_error(outcomes: list[object]) -> LineError | None:
    """Return the error of the account among outcomes: refused credentials first, then no connection."""
    for error in (LineError.INVALID_AUTH, LineError.CANNOT_CONNECT):
        if error in outcomes:
            return error
    return None


async def resolve_lines(
    client: VtxClient,
    server: ServerInfo | None,
    entries: list[tuple[LineRef, str]],
    domain: str,
    taken: set[int],
) -> Resolution:
    """Find the userId of every entry and check it; ``taken``: userIds that are lines already.

    Numbers and login names are looked up by login name (platform 7.8+; older: the entries
    are named and a userId is asked for). Login names are looked up first: the SIP domain
    of the first that resolves builds the login names of the numbers (``domain`` until
    then). A line given twice keeps its one name; given two different names, it is refused.
    """
    result = Resolution()
    lookups = [ref for ref, _name in entries if ref.needs_lookup]
    if lookups and (server is None or not server.supports_login_names):
        result.error = LineError.USER_ID_NEEDED
        result.placeholders.update(lines=entries_text(lookups), version=server.build_version if server else "?")
        return result
    semaphore = asyncio.Semaphore(MAX_CHECKS_IN_FLIGHT)

    async def lookup(ref: LineRef, login_domain: str) -> int | LineError:
        async with semaphore:
            return await resolve_login(client, ref.login_for(login_domain))

    found: dict[LineRef, int | LineError] = {}
    logins = [ref for ref in lookups if ref.login is not None]
    for ref, outcome in zip(logins, await asyncio.gather(*(lookup(ref, domain) for ref in logins)), strict=True):
        found[ref] = outcome
        if isinstance(outcome, int) and result.domain is None:
            result.domain = domain_of_login(ref.login)
    numbers = [ref for ref in lookups if ref.login is None]
    number_domain = result.domain or domain
    found.update(zip(numbers, await asyncio.gather(*(lookup(ref, number_domain) for ref in numbers)), strict=True))
    if error := _account_error(list(found.values())):
        result.error, result.base = error, True
        return result
    if unresolved := [ref for ref in lookups if not isinstance(found[ref], int)]:
        result.error = LineError.NUMBERS_NOT_FOUND
        result.placeholders.update(
            lines=entries_text(unresolved),
            logins=", ".join(f"`{ref.login_for(number_domain)}`" for ref in unresolved),
        )
        return result
    resolved: list[tuple[LineRef, int, str]] = []
    for ref, name in entries:
        user_id = found[ref] if ref.needs_lookup else ref.user_id
        assert isinstance(user_id, int)  # every lookup resolved; every other entry is a userId
        resolved.append((ref, user_id, name))
    if clash := [ref for ref, user_id, _name in resolved if user_id in taken]:
        result.error = LineError.USER_IDS_CONFIGURED
        result.placeholders["lines"] = entries_text(clash)
        return result
    names: dict[int, set[str]] = {}
    for _ref, user_id, name in resolved:
        if name:
            names.setdefault(user_id, set()).add(name)
    if conflicts := [(ref, name) for ref, user_id, name in resolved if len(names.get(user_id, ())) > 1]:
        result.error = LineError.CONFLICTING_NAMES
        result.placeholders["lines"] = ", ".join(f"{ref.text} = {name}" for ref, name in conflicts)
        return result
    # Lines typed as userIds are checked; those found by login name were read already.
    direct = sorted({user_id for ref, user_id, _name in resolved if not ref.needs_lookup})

    async def check(user_id: int) -> LineError | None:
        async with semaphore:
            return await check_user_id(client, user_id)

    checks = dict(zip(direct, await asyncio.gather(*(check(user_id) for user_id in direct)), strict=True))
    if error := _account_error(list(checks.values())):
        result.error, result.base = error, True
        return result
    if failed := [user_id for user_id, error in checks.items() if error is not None]:
        result.error = LineError.UNKNOWN_USER_IDS
        result.placeholders["lines"] = ", ".join(str(user_id) for user_id in failed)
        return result
    for ref, user_id, _name in resolved:
        if ref.needs_lookup:
            result.logins[user_id] = ref.login_for(number_domain)
        number = ref.number or result.lines.get(user_id, ("", None))[1]
        given = next(iter(names.get(user_id, ())), "")
        result.lines[user_id] = (given or default_line_name(user_id, number), number)
    return result
