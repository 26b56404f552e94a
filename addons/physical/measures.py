"""What can be measured: the built-in measures and the site owner's custom ones.

Every measure is a row of ``physical_measures`` (activation writes the built-in ones
that are missing), which holds its order and whether it shows. The built-in ones take
their label, plausible range and unit symbol from :data:`BUILTINS`, so their labels
follow the reader's language; custom ones have the label the site owner typed and a
wide range for their kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from flask import g
from sqlalchemy import select

from addons.physical.i18n import _, _l
from addons.physical.models import PhysicalMeasure
from addons.physical.units import SCALE, Kind, Unit, bounds, unit_for
from core import api


@dataclass(frozen=True)
class Builtin:
    key: str
    label: Any  # a lazy string: translated when shown
    kind: Kind
    low: Decimal  # plausible range, in the canonical unit
    high: Decimal
    symbol: Any = None  # instead of the kind's unit symbol (bpm)


BUILTINS: tuple[Builtin, ...] = (
    Builtin("weight", _l("Weight"), Kind.MASS, Decimal(20), Decimal(400)),
    Builtin("body_fat", _l("Body fat"), Kind.PERCENT, Decimal(2), Decimal(75)),
    Builtin("muscle_mass", _l("Muscle mass"), Kind.MASS, Decimal(5), Decimal(200)),
    Builtin("waist", _l("Waist"), Kind.LENGTH, Decimal(30), Decimal(250)),
    Builtin("hips", _l("Hips"), Kind.LENGTH, Decimal(40), Decimal(250)),
    Builtin("chest", _l("Chest"), Kind.LENGTH, Decimal(40), Decimal(250)),
    Builtin("arm", _l("Arm"), Kind.LENGTH, Decimal(10), Decimal(100)),
    Builtin("thigh", _l("Thigh"), Kind.LENGTH, Decimal(20), Decimal(150)),
    Builtin("calf", _l("Calf"), Kind.LENGTH, Decimal(15), Decimal(100)),
    Builtin("neck", _l("Neck"), Kind.LENGTH, Decimal(20), Decimal(80)),
    Builtin(
        "resting_hr", _l("Resting heart rate"), Kind.COUNT, Decimal(25), Decimal(220), _l("bpm")
    ),
)
BY_KEY = {b.key: b for b in BUILTINS}

#: Ranges of custom measures, by kind (canonical units): wide, only absurd values are refused.
CUSTOM_RANGES: dict[Kind, tuple[Decimal, Decimal]] = {
    Kind.MASS: (Decimal("0.1"), Decimal(1000)),
    Kind.LENGTH: (Decimal("0.1"), Decimal(500)),
    Kind.PERCENT: (Decimal(0), Decimal(100)),
    Kind.COUNT: (Decimal(0), Decimal(1_000_000)),
    Kind.NONE: (Decimal(-1_000_000), Decimal(1_000_000)),
}


def kind_labels() -> dict[str, str]:
    """The unit kinds a custom measure can have, as the site owner reads them."""
    return {
        Kind.MASS: _("Mass (kg or lb)"),
        Kind.LENGTH: _("Length (cm or in)"),
        Kind.PERCENT: _("Percent (%)"),
        Kind.COUNT: _("Count (whole number)"),
        Kind.NONE: _("Number without unit"),
    }


@dataclass(frozen=True)
class Measure:
    """A measure as pages use it: the row's settings plus its label, range and unit."""

    id: int
    key: str
    label: str
    kind: Kind
    position: int
    shown: bool
    builtin: bool
    low: int  # stored integers (see units.SCALE)
    high: int
    symbol: str | None

    def unit(self, system: str) -> Unit:
        unit = unit_for(self.kind, system)
        return replace(unit, symbol=self.symbol) if self.symbol else unit

    def range_in(self, system: str) -> tuple[Decimal, Decimal]:
        return bounds(self.low, self.high, self.unit(system))

    @property
    def field(self) -> str:
        """The name of its input in the entry form."""
        return f"m_{self.key}"


def as_measure(row: PhysicalMeasure) -> Measure:
    builtin = BY_KEY.get(row.key) if row.builtin else None
    kind = Kind(row.kind)
    low, high = (builtin.low, builtin.high) if builtin else CUSTOM_RANGES[kind]
    return Measure(
        id=row.id,
        key=row.key,
        label=str(builtin.label) if builtin else (row.label or row.key),
        kind=kind,
        position=row.position,
        shown=row.shown,
        builtin=row.builtin,
        low=int(low * SCALE),
        high=int(high * SCALE),
        symbol=str(builtin.symbol) if builtin and builtin.symbol else None,
    )


def all_measures() -> list[Measure]:
    """Every measure in the site owner's order (one query per request)."""
    cached: list[Measure] | None = g.get("_physical_measures")
    if cached is None:
        rows = api.db.scalars(
            select(PhysicalMeasure).order_by(PhysicalMeasure.position, PhysicalMeasure.id)
        )
        cached = [as_measure(row) for row in rows]
        g._physical_measures = cached
    return cached


def shown_measures() -> list[Measure]:
    return [m for m in all_measures() if m.shown]


def forget_measures() -> None:
    """After the settings changed them."""
    g.pop("_physical_measures", None)


def ensure_builtins() -> None:
    """Write the built-in measures the table lacks, after the others (the caller commits)."""
    rows = list(api.db.scalars(select(PhysicalMeasure)))
    known = {row.key for row in rows}
    position = max((row.position for row in rows), default=0)
    for builtin in BUILTINS:
        if builtin.key not in known:
            position += 1
            api.db.add(
                PhysicalMeasure(
                    key=builtin.key,
                    kind=builtin.kind.value,
                    position=position,
                    shown=True,
                    builtin=True,
                )
            )
    forget_measures()
