"""Units of the Physical add-on: entering, showing and saving again never drifts.

Properties over every measure's plausible range, in metric and imperial, in English and
French: a value typed in is stored and shown with the same digits; a stored value
shown and saved again (in either system) is kept as it is; parsing refuses what it
cannot read exactly.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from addons.physical.measures import BUILTINS, CUSTOM_RANGES
from addons.physical.units import (
    SCALE,
    BadNumber,
    Kind,
    System,
    Unit,
    bounds,
    from_canonical,
    number_text,
    parse,
    resolve,
    to_canonical,
    unit_for,
)

RANGES = [(b.kind, int(b.low * SCALE), int(b.high * SCALE)) for b in BUILTINS] + [
    (kind, int(low * SCALE), int(high * SCALE)) for kind, (low, high) in CUSTOM_RANGES.items()
]


@st.composite
def shown_values(draw: st.DrawFn) -> tuple[Unit, Decimal, str]:
    """A unit, and a value in its allowed range as a person would type it, in a language."""
    kind, low, high = draw(st.sampled_from(RANGES))
    unit = unit_for(kind, draw(st.sampled_from(list(System))))
    lo, hi = bounds(low, high, unit)
    steps = int((hi - lo) / unit.step)
    value = lo + unit.step * draw(st.integers(0, steps))
    return unit, value, draw(st.sampled_from(["en", "fr"]))


@st.composite
def stored_values(draw: st.DrawFn) -> tuple[Kind, int]:
    kind, low, high = draw(st.sampled_from(RANGES))
    return kind, draw(st.integers(low, high))


@given(shown_values())
def test_a_typed_value_is_shown_as_typed(case: tuple[Unit, Decimal, str]) -> None:
    unit, value, locale = case
    typed = number_text(value, unit, locale, grouping=False)
    stored = to_canonical(parse(typed, unit), unit)
    assert from_canonical(stored, unit) == value
    assert number_text(from_canonical(stored, unit), unit, locale, grouping=False) == typed


@given(stored_values(), st.sampled_from(list(System)), st.sampled_from(list(System)))
def test_showing_and_saving_again_keeps_the_stored_value(
    case: tuple[Kind, int], first: System, second: System
) -> None:
    """Whoever opens the entry (in their units) and saves it unchanged keeps it exactly."""
    kind, stored = case
    for system in (first, second):
        unit = unit_for(kind, system)
        shown = from_canonical(stored, unit)
        assert (
            resolve(parse(number_text(shown, unit, "fr", grouping=False), unit), unit, stored)
            == stored
        )


@given(stored_values(), st.sampled_from(list(System)))
@example(case=(Kind.MASS, 28735), system=System.IMPERIAL)  # moves 0.0507 lb: see below
def test_a_value_converted_once_is_a_fixed_point(case: tuple[Kind, int], system: System) -> None:
    """Saved from another system's display, a value moves once at most, then never again."""
    kind, stored = case
    unit = unit_for(kind, system)
    once = to_canonical(from_canonical(stored, unit), unit)
    assert from_canonical(once, unit) == from_canonical(stored, unit)
    assert to_canonical(from_canonical(once, unit), unit) == once
    # and the difference is below half a shown step, plus half a stored thousandth (the
    # shown value is stored to the nearest thousandth: 28.735 kg → 63.3 lb → 28.712 kg)
    moved = abs(Decimal(once - stored)) / SCALE / unit.factor
    assert moved <= unit.step / 2 + Decimal("0.5") / SCALE / unit.factor


def test_pounds_and_inches_convert_exactly() -> None:
    assert to_canonical(Decimal("176.4"), unit_for(Kind.MASS, System.IMPERIAL)) == 80014
    assert from_canonical(80000, unit_for(Kind.MASS, System.IMPERIAL)) == Decimal("176.4")
    assert to_canonical(Decimal("32.0"), unit_for(Kind.LENGTH, System.IMPERIAL)) == 81280
    assert from_canonical(81280, unit_for(Kind.LENGTH, System.IMPERIAL)) == Decimal("32.0")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("72.5", "72.5"), ("72,5", "72.5"), (" 72 ", "72"), ("\u221272", "-72"), ("1 250", "1250")],
)
def test_parse_reads_both_decimal_marks(text: str, expected: str) -> None:
    assert parse(text, unit_for(Kind.NONE, System.METRIC)) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "number"),
        ("abc", "number"),
        ("7e2", "number"),
        ("1,000.5", "number"),
        ("7-2", "number"),
        ("NaN", "number"),
        ("72.55", "places"),
    ],
)
def test_parse_refuses_what_it_cannot_read_exactly(text: str, reason: str) -> None:
    with pytest.raises(BadNumber) as caught:
        parse(text, unit_for(Kind.MASS, System.METRIC))
    assert caught.value.reason == reason


def test_bounds_round_inwards() -> None:
    pounds = unit_for(Kind.MASS, System.IMPERIAL)
    low, high = bounds(20_000, 400_000, pounds)
    assert (low, high) == (Decimal("44.1"), Decimal("881.8"))
    assert to_canonical(low, pounds) >= 20_000 and to_canonical(high, pounds) <= 400_000


@given(shown_values())
def test_numbers_are_written_as_babel_writes_them(case: tuple[Unit, Decimal, str]) -> None:
    from babel.numbers import format_decimal

    unit, value, locale = case
    decimals = ("0" if unit.fixed else "#") * unit.places
    pattern = "#,##0" + (f".{decimals}" if decimals else "")
    expected = format_decimal(value, format=pattern, locale=locale).replace("\u2212", "-")
    assert number_text(value, unit, locale) == expected
