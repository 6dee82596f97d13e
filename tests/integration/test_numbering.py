"""The Swiss numbering plan table and the tariffs: classes and prices, by examples and properties."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given, strategies as st
import pytest

from custom_components.vtx_voip.billing.numbering import (
    EMERGENCY_NUMBERS,
    SWISS_PREFIXES,
    DestinationClass,
    InvalidExtensionsError,
    NumberingPlan,
    classify,
    format_extension_ranges,
    parse_extension_ranges,
    to_e164,
)
from custom_components.vtx_voip.billing.tariffs import PRICED_CLASSES, Billing, ClassTariff, Tariffs, retention_days

C = DestinationClass


@pytest.mark.parametrize(
    ("number", "dialled", "expected", "free"),
    [
        ("+41225117902", "0225117902", C.NATIONAL_FIXED, False),
        ("+41445551234", None, C.NATIONAL_FIXED, False),
        ("+41581234567", None, C.NATIONAL_FIXED, False),  # 058 corporate networks
        ("+41751234567", None, C.NATIONAL_MOBILE, False),
        ("+41761234567", None, C.NATIONAL_MOBILE, False),
        ("+41771234567", None, C.NATIONAL_MOBILE, False),
        ("+41781234567", None, C.NATIONAL_MOBILE, False),
        ("+41791234567", None, C.NATIONAL_MOBILE, False),
        ("+41741234567", None, C.NATIONAL_FIXED, False),  # 074 is not mobile
        (None, "0791234567", C.NATIONAL_MOBILE, False),  # only the dialled number
        (None, "0041791234567", C.NATIONAL_MOBILE, False),
        ("+41800123456", None, C.FREE, True),  # freephone: free, not special
        (None, "0800123456", C.FREE, True),
        ("+80012345678", None, C.FREE, True),  # international freephone
        ("+41840123456", None, C.SPECIAL, False),  # shared cost
        ("+41842123456", None, C.SPECIAL, False),
        ("+41844123456", None, C.SPECIAL, False),
        ("+41848123456", None, C.SPECIAL, False),
        ("+41900123456", None, C.SPECIAL, False),  # premium
        ("+41901123456", None, C.SPECIAL, False),
        ("+41906123456", None, C.SPECIAL, False),
        ("112", "112", C.EMERGENCY, True),
        ("+41225117902", "117", C.EMERGENCY, True),  # what was dialled decides
        (None, "118", C.EMERGENCY, True),
        (None, "144", C.EMERGENCY, True),
        (None, "1811", C.SPECIAL, False),  # a short service number
        ("+41225660201", "201", C.INTERNAL, False),  # an extension
        (None, "4711", C.INTERNAL, False),
        ("+33142685300", "0033142685300", C.INTERNATIONAL, False),
        ("+4930123456", None, C.INTERNATIONAL, False),
        ("+1 (212) 555-0100", None, C.INTERNATIONAL, False),
        ("sip:+41791234567@sip.example", None, C.NATIONAL_MOBILE, False),
        ("anonymous", None, C.NATIONAL_FIXED, False),  # nothing to go by: not the dearest guess
        (None, None, C.NATIONAL_FIXED, False),
    ],
)
def test_swiss_plan(number: str | None, dialled: str | None, expected: DestinationClass, free: bool) -> None:
    """Each row of the plan, and the dialled number's say for short numbers."""
    destination = classify(number, dialled)
    assert destination.destination_class is expected
    assert destination.free is free


def test_to_e164() -> None:
    assert to_e164("0225117902") == "+41225117902"
    assert to_e164("0041225117902") == "+41225117902"
    assert to_e164("+41 22 511 79 02") == "+41225117902"
    assert to_e164("117") is None
    assert to_e164("+41") is None
    assert to_e164("12ab") is None


@given(st.sampled_from(sorted(SWISS_PREFIXES)), st.text("0123456789", min_size=7, max_size=7))
def test_every_prefix_of_the_table_is_what_it_says(prefix: str, digits: str) -> None:
    """Any number under a prefix of the table is of that class, as E.164 or dialled nationally (0 + 9 digits)."""
    rest = digits[: 9 - len(prefix)]
    assert classify(f"+41{prefix}{rest}").destination_class is SWISS_PREFIXES[prefix]
    assert classify(None, f"0{prefix}{rest}").destination_class is SWISS_PREFIXES[prefix]


@given(
    st.integers(min_value=1, max_value=999).filter(lambda cc: cc != 41), st.text("0123456789", min_size=6, max_size=10)
)
def test_outside_41_is_international(country: int, rest: str) -> None:
    # The digits decide, not the split: country 4 followed by 1... is +41 (found by hypothesis).
    assume(not f"{country}{rest}".startswith(("41", "800")))
    assert classify(f"+{country}{rest}").destination_class is C.INTERNATIONAL


@given(st.text(max_size=30), st.one_of(st.none(), st.text(max_size=30)))
def test_classify_never_fails(number: str, dialled: str | None) -> None:
    """Whatever the API sends, a class comes out."""
    assert classify(number, dialled).destination_class in set(C)


@pytest.mark.parametrize("number", sorted(EMERGENCY_NUMBERS))
def test_emergency_is_free_whatever_the_tariff(number: str) -> None:
    dear = ClassTariff(price_per_minute=Decimal(9), setup_price=Decimal(9))
    tariffs = Tariffs(classes=dict.fromkeys(C, dear), bill_incoming=True)
    assert tariffs.cost(classify(number, number), 600, incoming=False) == Decimal("0.00")


def test_tariff_arithmetic() -> None:
    """Per started minute, per second with its minimum, set-up, rounding half up to the cent."""
    minute = ClassTariff(price_per_minute=Decimal("0.08"), setup_price=Decimal("0.10"))
    assert minute.cost(1) == Decimal("0.18")
    assert minute.cost(60) == Decimal("0.18")
    assert minute.cost(61) == Decimal("0.26")
    second = ClassTariff(price_per_minute=Decimal("0.35"), billing=Billing.PER_SECOND, minimum_seconds=30)
    assert second.cost(10) == Decimal("0.18")  # 0.175 -> 0.18
    assert second.cost(60) == Decimal("0.35")
    fixed = classify("+41225117902")
    tariffs = Tariffs(classes={C.NATIONAL_FIXED: minute})
    assert tariffs.cost(fixed, 0, incoming=False) == Decimal("0.00")  # not connected
    assert tariffs.cost(fixed, 61, incoming=True) == Decimal("0.00")  # incoming free by default
    assert Tariffs(classes={C.NATIONAL_FIXED: minute}, bill_incoming=True).cost(fixed, 61, incoming=True) == Decimal(
        "0.26"
    )


@given(st.integers(min_value=1, max_value=86400), st.integers(min_value=1, max_value=86400))
def test_longer_never_cheaper(a: int, b: int) -> None:
    """A longer call never costs less, in either billing."""
    for billing in Billing:
        tariff = ClassTariff(
            price_per_minute=Decimal("0.37"), billing=billing, minimum_seconds=45, setup_price=Decimal("0.05")
        )
        short, long_ = sorted((a, b))
        assert tariff.cost(short) <= tariff.cost(long_)


def test_options_read_tolerantly() -> None:
    """Unusable option values are 0 / per minute, never an error; retention is bounded."""
    tariffs = Tariffs.from_options(
        {
            "tariffs": {
                "national_fixed": {"price_per_minute": "abc", "billing": "weekly", "minimum_seconds": "x"},
                "international": {"price_per_minute": "-3", "setup_price": "NaN"},
                "special": "nope",
            }
        }
    )
    assert tariffs.classes[C.NATIONAL_FIXED] == ClassTariff()
    assert tariffs.classes[C.INTERNATIONAL] == ClassTariff()
    assert tariffs.classes[C.SPECIAL] == ClassTariff()
    assert Tariffs.from_options({"tariffs": []}).classes[C.INTERNAL] == ClassTariff()
    assert retention_days({}) == 400
    assert retention_days({"retention_days": 0}) == 1
    assert retention_days({"retention_days": 10**6}) == 3650
    assert retention_days({"retention_days": "x"}) == 400


def test_internal_extensions_and_own_lines() -> None:
    """Own lines' numbers and login names, and the extension ranges, are internal; emergency stays emergency."""
    plan = NumberingPlan(
        extensions=parse_extension_ranges("100-199, 2000-2999"),
        own_numbers=frozenset({"+41225662195"}),
        own_logins=frozenset({"room102@pbx.example.ch", "+41225662195@m.ipvoip.ch"}),
    )
    assert classify(None, "102").destination_class is C.SPECIAL  # without the option: a short number
    for number, dialled in (
        (None, "102"),
        ("102", "102"),
        (None, "2999"),
        ("+41225662195", "0225662195"),  # Room 102's number, however written
        ("+41225662195", None),
        ("sip:room102@PBX.example.ch;user=phone", None),
        ("+41225662195@m.ipvoip.ch", None),
        (None, "0041 22 566 21 95"),
    ):
        assert classify(number, dialled, plan).destination_class is C.INTERNAL, (number, dialled)
    assert classify(None, "112", plan).destination_class is C.EMERGENCY  # 112 is in 100-199
    assert classify(None, "1811", plan).destination_class is C.SPECIAL  # outside the ranges
    assert classify("+41225662194", None, plan).destination_class is C.NATIONAL_FIXED
    assert classify("sip:room103@pbx.example.ch", None, plan).destination_class is C.NATIONAL_FIXED
    assert not plan.is_extension("0102")
    assert not plan.is_own(None)


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("100-199, 2000-2999", ((100, 199), (2000, 2999))),
        (" 100 - 199 ;300\n400-401 ", ((100, 199), (300, 300), (400, 401))),
        ("", ()),
        (None, ()),
    ],
)
def test_extension_ranges(text: str | None, ranges: tuple[tuple[int, int], ...]) -> None:
    assert parse_extension_ranges(text) == ranges
    assert parse_extension_ranges(format_extension_ranges(ranges)) == ranges


@pytest.mark.parametrize(
    ("text", "part"),
    [("199-100", "199-100"), ("0100-0199", "0100-0199"), ("1a", "1a"), ("1-2-3", "1-2-3"), ("123456789", "123456789")],
)
def test_bad_extension_ranges(text: str, part: str) -> None:
    with pytest.raises(InvalidExtensionsError) as err:
        parse_extension_ranges(text)
    assert err.value.part == part
    # Options that cannot be read (the flow refuses them) make no range.
    assert Tariffs.from_options({"internal_extensions": text}).plan.extensions == ()


def test_freephone_is_free_whatever_the_tariff() -> None:
    dear = ClassTariff(price_per_minute=Decimal(9), setup_price=Decimal(9))
    tariffs = Tariffs(classes=dict.fromkeys(C, dear))
    assert tariffs.cost(classify("+41800123456"), 600, incoming=False) == Decimal("0.00")
    assert C.FREE not in PRICED_CLASSES
