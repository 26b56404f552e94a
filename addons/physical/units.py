"""Units: one canonical unit per kind of measure, shown in metric or imperial.

A value is stored as an integer count of thousandths of its kind's canonical unit
(grams for kg, hundredths of a millimetre for cm, thousandths of a percent…), so the
database holds exact integers and no float ever takes part. Display rounds to a fixed
number of decimals per unit (0.1 kg, 0.1 lb, 0.1 cm, 0.1 in…): the storage step is
far finer than half a display step, so a value entered, shown and saved again shows
the same digits. Saving an unchanged value keeps the stored integer as it was
(:func:`resolve`), so switching units and re-saving never drifts either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
    InvalidOperation,
)
from functools import lru_cache

from babel.numbers import get_decimal_symbol, get_group_symbol

#: Stored integers are thousandths of the canonical unit.
SCALE = 1000


class Kind(enum.StrEnum):
    MASS = "mass"  # canonical: kg
    LENGTH = "length"  # canonical: cm
    PERCENT = "percent"  # %
    COUNT = "count"  # whole numbers (bpm for the resting heart rate)
    NONE = "none"  # a plain number


class System(enum.StrEnum):
    METRIC = "metric"
    IMPERIAL = "imperial"


@dataclass(frozen=True)
class Unit:
    """How values of one kind are shown in one system.

    ``factor`` is how many canonical units one of this unit is (1 lb = 0.45359237 kg);
    ``places`` is the number of decimals shown and accepted; ``fixed`` shows them
    all (80.0 kg) rather than only those needed (2.5).
    """

    symbol: str
    factor: Decimal
    places: int
    fixed: bool = True

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)


_UNITS: dict[tuple[Kind, System], Unit] = {
    (Kind.MASS, System.METRIC): Unit("kg", Decimal(1), 1),
    (Kind.MASS, System.IMPERIAL): Unit("lb", Decimal("0.45359237"), 1),
    (Kind.LENGTH, System.METRIC): Unit("cm", Decimal(1), 1),
    (Kind.LENGTH, System.IMPERIAL): Unit("in", Decimal("2.54"), 1),
}
_SAME_IN_BOTH = {
    Kind.PERCENT: Unit("%", Decimal(1), 1),
    Kind.COUNT: Unit("", Decimal(1), 0),
    Kind.NONE: Unit("", Decimal(1), 2, fixed=False),
}


def unit_for(kind: Kind | str, system: System | str) -> Unit:
    kind = Kind(kind)
    return _SAME_IN_BOTH.get(kind) or _UNITS[(kind, System(system))]


class BadNumber(ValueError):
    """The text is not a number this unit accepts; ``reason`` is "number" or "places"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse(text: str, unit: Unit) -> Decimal:
    """ "72.5", "72,5", " 72 " → Decimal("72.5"); refuses other text and extra decimals.

    A comma is read as the decimal mark (French keyboards); thousands separators are not
    accepted, so "1,000" is one, not a thousand, and is refused for a whole-number unit.
    """
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "").replace("\u2212", "-")
    if cleaned.count(",") + cleaned.count(".") > 1:
        raise BadNumber("number")
    cleaned = cleaned.replace(",", ".")
    if not cleaned or not all(c in "0123456789.-" for c in cleaned) or "-" in cleaned[1:]:
        raise BadNumber("number")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadNumber("number") from None
    if not value.is_finite():
        raise BadNumber("number")
    if value != value.quantize(unit.step, rounding=ROUND_HALF_EVEN):
        raise BadNumber("places")
    return value


def to_canonical(value: Decimal, unit: Unit) -> int:
    """A shown value → the stored integer (thousandths of the canonical unit)."""
    return int((value * unit.factor * SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_canonical(stored: int, unit: Unit) -> Decimal:
    """The stored integer → the value as shown, rounded to the unit's decimals."""
    return (Decimal(stored) / SCALE / unit.factor).quantize(unit.step, rounding=ROUND_HALF_UP)


def resolve(value: Decimal, unit: Unit, previous: int | None = None) -> int:
    """What to store for ``value``: ``previous`` unchanged when it shows as ``value``."""
    if previous is not None and from_canonical(previous, unit) == value:
        return previous
    return to_canonical(value, unit)


def bounds(low: int, high: int, unit: Unit) -> tuple[Decimal, Decimal]:
    """The allowed range in this unit, rounded inwards so both ends are themselves allowed."""
    lo = (Decimal(low) / SCALE / unit.factor).quantize(unit.step, rounding=ROUND_CEILING)
    hi = (Decimal(high) / SCALE / unit.factor).quantize(unit.step, rounding=ROUND_FLOOR)
    return lo, hi


@lru_cache(maxsize=16)
def _marks(locale: str) -> tuple[str, str]:
    """The language's decimal mark and thousands separator (CLDR, through Babel)."""
    return get_decimal_symbol(locale), get_group_symbol(locale)


def number_text(value: Decimal, unit: Unit, locale: str, *, grouping: bool = True) -> str:
    """The number in the reader's language: "80.2" / "80,2"; "1,250" with grouping.

    Written with Python's own formatting and the language's marks: charts write
    thousands of values per page, and Babel's full formatter is far slower.
    """
    decimal_mark, group = _marks(locale)
    text = f"{value:{',' if grouping else ''}.{unit.places}f}"
    if not unit.fixed and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", decimal_mark).replace("\x00", group)


def with_symbol(number: str, unit: Unit) -> str:
    """ "80.2" + kg → "80.2 kg"; "12 %" keeps the space French and English both accept."""
    return f"{number}\u00a0{unit.symbol}" if unit.symbol else number


def signed(text: str, negative: bool, zero: bool) -> str:
    """A change with its sign: "+0.4 kg", "−1.2 kg" (a true minus), "±0.0 kg"."""
    if zero:
        return f"\u00b1{text}"
    return f"\u2212{text}" if negative else f"+{text}"
