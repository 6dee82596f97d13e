"""Phone numbers, login names, build versions and enterprise names (no Home Assistant)."""

from __future__ import annotations

import aiohttp
from hypothesis import given, strategies as st
import pytest

from custom_components.vtx_voip.api import VtxNotFoundError
from custom_components.vtx_voip.api.assumptions import enterprise_of_login, parse_build_version, supports_login_names
from custom_components.vtx_voip.api.numbers import (
    LineRef,
    default_line_name,
    domain_of_login,
    format_number,
    login_name,
    normalize_number,
    number_of_login,
    parse_line_ref,
)
from vtx_simulator import Simulator

from .conftest import make_client

SWISS = st.from_regex(r"[1-9][0-9]{8}", fullmatch=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("176125", LineRef("176125", user_id=176125)),
        ("+41225662194", LineRef("+41225662194", number="+41225662194")),
        ("0225662194", LineRef("0225662194", number="+41225662194")),
        ("+41 22 566 21 94", LineRef("+41 22 566 21 94", number="+41225662194")),
        ("0041 (22) 566-21-94", LineRef("0041 (22) 566-21-94", number="+41225662194")),
        (
            "+41225662194@M.IPVOIP.CH",
            LineRef("+41225662194@M.IPVOIP.CH", number="+41225662194", login="+41225662194@m.ipvoip.ch"),
        ),
        ("sip:room101@pbx.example.ch", LineRef("sip:room101@pbx.example.ch", login="room101@pbx.example.ch")),
        ("", None),
        ("0", None),
        ("Room 101", None),
        ("+41 22", None),
        ("a@b@c", None),
        ("x@-bad-", None),
        ("٢٢٥٦٦٢١٩٤", None),
        ("1" * 13, None),
    ],
)
def test_parse_line_ref(text: str, expected: LineRef | None) -> None:
    assert parse_line_ref(text) == expected


@given(SWISS, st.sampled_from(["{}", "+41{}", "0041{}", "0{}"]), st.lists(st.sampled_from(" .-/"), max_size=3))
def test_every_way_of_writing_a_swiss_number_is_the_same(national: str, form: str, seps: list[str]) -> None:
    """+41..., 0041..., 0... and spaced variants all give one E.164 number; it formats and logs in back."""
    if form == "{}":
        return
    text = form.format(national)
    for index, sep in enumerate(seps):
        cut = 4 + 2 * index
        text = text[:cut] + sep + text[cut:]
    number = normalize_number(text)
    assert number == f"+41{national}"
    spaced = format_number(number)
    assert normalize_number(spaced) == number
    # Service numbers are written nationally (0800 123 456), the others +41 22 566 21 94.
    assert spaced.count(" ") == (2 if national.startswith(("80", "84", "86", "87", "90")) else 4)
    assert number_of_login(login_name(number)) == number
    assert domain_of_login(login_name(number, "Pbx.Example.CH")) == "pbx.example.ch"
    ref = parse_line_ref(text)
    assert ref is not None and ref.needs_lookup and ref.login_for("m.ipvoip.ch") == f"{number}@m.ipvoip.ch"


@given(st.text(max_size=40))
def test_parse_line_ref_never_raises(text: str) -> None:
    """Whatever is typed: a reference of exactly one kind, or None."""
    ref = parse_line_ref(text)
    if ref is not None:
        assert (ref.user_id is not None) != ref.needs_lookup
        if ref.number is not None:
            assert normalize_number(ref.number) == ref.number


@pytest.mark.parametrize(
    ("number", "spaced"),
    [
        ("+41225662194", "+41 22 566 21 94"),
        ("+41791234567", "+41 79 123 45 67"),
        ("+41901234567", "0901 234 567"),  # premium rate: the Swiss plan writes it nationally
        ("+41906123456", "0906 123 456"),
        ("+41800123456", "0800 123 456"),
        ("+41848123456", "0848 123 456"),
        ("+41840123456", "0840 123 456"),
        ("+4930123456", "+49 30 123456"),  # grouped by country code, then area code where known
        ("+4915112345678", "+49 151 12345678"),
        ("+49221123456", "+49 221123456"),
        ("+33142685300", "+33 1 42 68 53 00"),
        ("+12125550100", "+1 212 555 0100"),
        ("+442079460000", "+44 20 7946 0000"),
        ("+447911123456", "+44 7911123456"),
        ("+79161234567", "+7 9161234567"),
        ("+352123456", "+352 123456"),
        ("+80012345678", "+800 12345678"),
        ("112", "112"),  # no E.164 number: as given
        ("anonymous", "anonymous"),
    ],
)
def test_format_number(number: str, spaced: str) -> None:
    """Numbers grouped per the Swiss plan, international ones after their country code."""
    assert format_number(number) == spaced
    if spaced.startswith(("+", "0")) and spaced != number:
        assert normalize_number(spaced) == number


def test_names_and_foreign_numbers() -> None:
    assert default_line_name(176125, "+41225662194") == "+41 22 566 21 94"
    assert default_line_name(176125, None) == "Line 176125"
    assert number_of_login("room101@pbx.example.ch") is None
    assert number_of_login(None) is None
    assert domain_of_login("not a login") is None


@pytest.mark.parametrize(
    ("version", "parsed", "supported"),
    [
        ("7.7.2.12", (7, 7, 2, 12), False),
        ("7.8", (7, 8), True),
        ("7.8.0.1-rc1", (7, 8, 0, 1), True),
        ("7.10.0", (7, 10, 0), True),
        ("8", (8,), True),
        ("7", (7,), False),
        ("v7.8", None, False),
        ("", None, False),
        (None, None, False),
    ],
)
def test_build_version(version: str | None, parsed: tuple[int, ...] | None, supported: bool) -> None:
    assert parse_build_version(version) == parsed
    assert supports_login_names(version) is supported


@given(st.lists(st.integers(min_value=0, max_value=99), min_size=1, max_size=4))
def test_build_version_order(parts: list[int]) -> None:
    """Login names are supported exactly from 7.8 on, by numeric (not text) order."""
    text = ".".join(map(str, parts))
    assert parse_build_version(text) == tuple(parts)
    assert supports_login_names(text) is (tuple(parts[:2]) >= (7, 8))


def test_enterprise_of_login() -> None:
    assert enterprise_of_login("openapi@291908.bus.ent") == "291908.bus.ent"
    assert enterprise_of_login(" OpenAPI@431569.bus.ent ") == "431569.bus.ent"
    assert enterprise_of_login("admin@291908.bus.ent") is None
    assert enterprise_of_login("openapi@") is None
    assert enterprise_of_login("openapi@a b") is None


async def test_resolve_login(session: aiohttp.ClientSession, sim: Simulator) -> None:
    """The client finds a userId by login name on 7.8; before, or for an unknown login, it is not found."""
    client = make_client(session, sim.base_url)
    with pytest.raises(VtxNotFoundError):
        await client.resolve_login("+41225662194@m.ipvoip.ch")
    sim.version = "7.8.1.0"
    assert (await client.get_server_info()).supports_login_names
    assert await client.resolve_login("+41225662194@m.ipvoip.ch") == 176125
    read = await client.read_features_by_login("+41225662197@M.ipvoip.ch")
    assert {feature.user_id for feature in read.features} == {176137}
    with pytest.raises(VtxNotFoundError):
        await client.resolve_login("+41225669999@m.ipvoip.ch")
