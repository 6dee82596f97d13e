"""Lines as typed: parsing, and resolution to checked userIds against the simulator (no Home Assistant)."""

from __future__ import annotations

import pytest

from custom_components.vtx_voip.api import VtxClient
from custom_components.vtx_voip.api.lines import LineError, Resolution, parse_line, parse_lines, resolve_lines
from custom_components.vtx_voip.api.numbers import LineRef
from vtx_simulator import Simulator

ROOM_101, ROOM_102, ROOM_103, FRONT_DESK = 176125, 176129, 176133, 176137
V78 = "7.8.0.3"
DOMAIN = "m.ipvoip.ch"


def test_parse_lines() -> None:
    lines, bad = parse_lines(
        " 176125 = Room 101\n\n176129\n176133: Lobby \nroom 4\n+41 22 566 21 94 = Room 1O1\n"
        "0225662195\n+41225662196@M.ipvoip.ch = Desk = 2\n= nothing"
    )
    assert [(ref.user_id, ref.number, ref.login, name) for ref, name in lines] == [
        (176125, None, None, "Room 101"),
        (176129, None, None, ""),
        (176133, None, None, "Lobby"),
        (None, "+41225662194", None, "Room 1O1"),
        (None, "+41225662195", None, ""),
        (None, "+41225662196", "+41225662196@m.ipvoip.ch", "Desk = 2"),
    ]
    assert bad == ["room 4", "= nothing"]
    assert parse_line("   ") is None


async def resolve(client: VtxClient, text: str, *, taken: set[int] | None = None, domain: str = DOMAIN) -> Resolution:
    entries, bad = parse_lines(text)
    assert not bad
    server = await client.get_server_info()
    return await resolve_lines(client, server, entries, domain, taken or set())


async def test_numbers_logins_and_user_ids(sim: Simulator, client: VtxClient) -> None:
    """On 7.8 numbers and login names are looked up; the login's domain builds the numbers' logins."""
    sim.version = V78
    result = await resolve(
        client,
        f"+41225662194 = Room 101\n0225662195\n+41225662196@m.ipvoip.ch = Room 103\n{FRONT_DESK}",
        domain="pbx.example.ch",
    )
    assert result.error is None
    # The simulator knows m.ipvoip.ch only: the numbers were looked up under the domain learned.
    assert result.domain == "m.ipvoip.ch"
    assert result.lines == {
        ROOM_101: ("Room 101", "+41225662194"),
        ROOM_102: ("+41 22 566 21 95", "+41225662195"),
        ROOM_103: ("Room 103", "+41225662196"),
        FRONT_DESK: (f"Line {FRONT_DESK}", None),
    }
    # The login names the lines were found by (the FEATURE subscription's scope); a userId has none.
    assert result.logins == {
        ROOM_101: "+41225662194@m.ipvoip.ch",
        ROOM_102: "+41225662195@m.ipvoip.ch",
        ROOM_103: "+41225662196@m.ipvoip.ch",
    }


async def test_one_line_two_names_is_refused(sim: Simulator, client: VtxClient) -> None:
    """176125 = Room 101 and 176125 = Room 102 name one line twice: refused before any request."""
    before = sim.total_requests()
    server = await client.get_server_info()
    entries, _bad = parse_lines(f"{ROOM_101} = Room 101\n{ROOM_102}\n{ROOM_101} = Room 102")
    result = await resolve_lines(client, server, entries, DOMAIN, set())
    assert result.error is LineError.CONFLICTING_NAMES
    assert not result.base
    assert result.placeholders == {"lines": f"{ROOM_101} = Room 101, {ROOM_101} = Room 102"}
    assert result.lines == {}
    assert sim.total_requests() == before + 1  # the server info only


async def test_number_and_user_id_of_one_line_with_two_names(sim: Simulator, client: VtxClient) -> None:
    """A number that resolves to a userId typed with another name is the same conflict."""
    sim.version = V78
    result = await resolve(client, f"{ROOM_101} = Room 101\n+41 22 566 21 94 = Reception")
    assert result.error is LineError.CONFLICTING_NAMES
    assert result.placeholders["lines"] == f"{ROOM_101} = Room 101, +41 22 566 21 94 = Reception"


async def test_one_line_twice_with_one_name(sim: Simulator, client: VtxClient) -> None:
    """The same line given twice, named once (or the same name twice), keeps that name and its number."""
    sim.version = V78
    result = await resolve(client, f"{ROOM_101}\n+41225662194 = Room 101\n{ROOM_101} = Room 101")
    assert result.error is None
    assert result.lines == {ROOM_101: ("Room 101", "+41225662194")}


async def test_lookups_need_78(sim: Simulator, client: VtxClient) -> None:
    """Before 7.8 (and without server info) numbers and login names need a userId: named, nothing asked."""
    entries, _bad = parse_lines(f"+41225662194 = Room 101\n{ROOM_102}\nroom@pbx.example.ch")
    server = await client.get_server_info()
    before = sim.total_requests()
    result = await resolve_lines(client, server, entries, DOMAIN, set())
    assert (result.error, result.placeholders) == (
        LineError.USER_ID_NEEDED,
        {"lines": "+41225662194, room@pbx.example.ch", "version": server.build_version},
    )
    result = await resolve_lines(client, None, entries, DOMAIN, set())
    assert result.placeholders["version"] == "?"
    assert sim.total_requests() == before


async def test_unknown_and_taken(sim: Simulator, client: VtxClient) -> None:
    sim.version = V78
    result = await resolve(client, f"{ROOM_101}\n999999\n+41225669999")
    assert (result.error, result.placeholders) == (
        LineError.NUMBERS_NOT_FOUND,
        {"lines": "+41225669999", "logins": "`+41225669999@m.ipvoip.ch`"},
    )
    result = await resolve(client, f"{ROOM_101}\n999999")
    assert (result.error, result.placeholders) == (LineError.UNKNOWN_USER_IDS, {"lines": "999999"})
    result = await resolve(client, f"{ROOM_102}\n0225662194", taken={ROOM_101})
    assert (result.error, result.placeholders) == (LineError.USER_IDS_CONFIGURED, {"lines": "0225662194"})


@pytest.mark.parametrize(
    ("status", "error", "base"),
    [
        (401, LineError.INVALID_AUTH, True),
        (403, LineError.UNKNOWN_USER_IDS, False),
        (404, LineError.UNKNOWN_USER_IDS, False),
        (503, LineError.CANNOT_CONNECT, True),
    ],
)
async def test_user_id_check_fails(
    sim: Simulator, client: VtxClient, status: int, error: LineError, base: bool
) -> None:
    """What the features read answers decides: the account's error (base) or the line's."""
    server = await client.get_server_info()
    entries, _bad = parse_lines(str(ROOM_101))
    sim.add_fault("status", status=status, count=None, path="/feat")
    result = await resolve_lines(client, server, entries, DOMAIN, set())
    assert (result.error, result.base) == (error, base)


@pytest.mark.parametrize(
    ("status", "error", "base"),
    [
        (401, LineError.INVALID_AUTH, True),
        (403, LineError.NUMBERS_NOT_FOUND, False),
        (400, LineError.NUMBERS_NOT_FOUND, False),
        (503, LineError.CANNOT_CONNECT, True),
    ],
)
async def test_lookup_fails(sim: Simulator, client: VtxClient, status: int, error: LineError, base: bool) -> None:
    """What the login look-up answers decides, as for userIds."""
    sim.version = V78
    server = await client.get_server_info()
    entries, _bad = parse_lines("+41225662194")
    sim.add_fault("status", status=status, count=None, path="@m.ipvoip.ch")
    result = await resolve_lines(client, server, entries, DOMAIN, set())
    assert (result.error, result.base) == (error, base)


def test_line_ref_of_a_parsed_entry() -> None:
    assert parse_line("+41 22 566 21 94 = Room 101") == (LineRef("+41 22 566 21 94", number="+41225662194"), "Room 101")
