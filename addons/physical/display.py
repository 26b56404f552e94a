"""What the Physical pages show: values in the reader's units and language, changes,
targets and charts, built from a :class:`~addons.physical.history.History`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import format_date, get_locale
from markupsafe import Markup

from addons.physical.history import History
from addons.physical.i18n import _
from addons.physical.measures import Measure
from addons.physical.models import PhysicalTarget
from addons.physical.units import from_canonical, number_text, signed, with_symbol
from core import api


class Display:
    """Writes stored values of any measure in one unit system, in the request's language."""

    def __init__(self, system: str, locale: str | None = None) -> None:
        self.system = system
        self.locale = locale or str(get_locale() or "en")

    def number(self, measure: Measure, stored: int) -> Decimal:
        return from_canonical(stored, measure.unit(self.system))

    def amount(self, measure: Measure, number: Decimal) -> str:
        unit = measure.unit(self.system)
        return with_symbol(number_text(number, unit, self.locale), unit)

    def value(self, measure: Measure, stored: int) -> str:
        """ "80.2 kg" / "80,2 kg"."""
        return self.amount(measure, self.number(measure, stored))

    def field_value(self, measure: Measure, stored: int) -> str:
        """The value as an input shows it: no thousands separator, no unit."""
        unit = measure.unit(self.system)
        return number_text(self.number(measure, stored), unit, self.locale, grouping=False)

    def change(self, measure: Measure, before: int, after: int) -> str:
        """ "+0.4 kg" between two stored values, computed on the values as shown."""
        delta = self.number(measure, after) - self.number(measure, before)
        return signed(self.amount(measure, abs(delta)), delta < 0, delta == 0)

    def range_texts(self, measure: Measure) -> dict[str, str]:
        """The allowed range in these units: {"low": "20.0 kg", "high": "400.0 kg"}."""
        low, high = measure.range_in(self.system)
        return {"low": self.amount(measure, low), "high": self.amount(measure, high)}


def long_date(day: date) -> str:
    return format_date(day, "medium")


def short_date(day: date) -> str:
    return format_date(day, "d MMM yyyy")


@dataclass(frozen=True)
class TargetView:
    value: str
    due_on: date | None
    to_go: str | None  # None once reached
    reached: bool


@dataclass(frozen=True)
class Summary:
    """One measure on the page: latest value, changes, target and chart."""

    measure: Measure
    latest: str
    latest_on: date | None
    since_previous: str | None
    previous_on: date | None
    since_first: str | None
    first_on: date | None
    count: int
    target: TargetView | None


def target_view(
    display: Display,
    measure: Measure,
    target: PhysicalTarget,
    latest: int | None,
    first: int | None,
) -> TargetView:
    """How far the latest value is from the target, in the direction the target was set."""
    goal = display.number(measure, target.value)
    text = display.value(measure, target.value)
    if latest is None:
        return TargetView(text, target.due_on, None, False)
    now = display.number(measure, latest)
    start = target.start if target.start is not None else first
    going_down = start is not None and display.number(measure, start) > goal
    reached = now <= goal if going_down else now >= goal
    if start is not None and display.number(measure, start) == goal:
        reached = now == goal
    gap = abs(goal - now)
    return TargetView(
        text, target.due_on, None if reached else display.amount(measure, gap), reached
    )


def summaries(history: History, measures: list[Measure], display: Display) -> list[Summary]:
    """Measures that have data or a target, in the site owner's order."""
    result = []
    for measure in measures:
        points = history.points(measure.id)
        target = history.targets.get(measure.id)
        if not points and target is None:
            continue
        latest = points[-1][1] if points else None
        first = points[0][1] if points else None
        several = len(points) > 1
        result.append(
            Summary(
                measure=measure,
                latest=display.value(measure, latest) if latest is not None else "—",
                latest_on=points[-1][0] if points else None,
                since_previous=display.change(measure, points[-2][1], latest) if several else None,
                previous_on=points[-2][0] if several else None,
                since_first=display.change(measure, first, latest) if several else None,
                first_on=points[0][0] if points else None,
                count=len(points),
                target=target_view(display, measure, target, latest, first) if target else None,
            )
        )
    return result


def chart(
    history: History, measure: Measure, display: Display, since: date | None
) -> Markup | None:
    """The measure's values from ``since`` on (None: all), with its target as a dashed
    line; None when it has no value in that period."""
    points = [(d, v) for d, v in history.points(measure.id) if since is None or d >= since]
    if not points:
        return None
    unit = measure.unit(display.system)
    target = history.targets.get(measure.id)
    return api.line_chart(
        measure.label,
        [api.Series(measure.label, [float(display.number(measure, v)) for _d, v in points])],
        x_labels=[short_date(d) for d, _v in points],
        y_title=unit.symbol or None,
        target=float(display.number(measure, target.value)) if target else None,
        target_label=_("Target"),
        value_format=lambda v: display.amount(measure, Decimal(repr(v)).quantize(unit.step)),
    )
