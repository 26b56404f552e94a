"""Charts for the whole product, core and add-ons alike: server-side SVG drawn by pygal.

No JavaScript and nothing loaded from elsewhere (the CSP allows neither), and a chart
prints. Each function returns one ``<figure class="chart">`` (``charts/figure.html``):

* the chart as inline SVG, ``role="img"`` with a ``<title>`` and a one-line ``<desc>``.
  An SVG scales its text with its width, so line and bar charts are drawn three times
  (narrow, medium, wide) and CSS container queries show the one that fits its box:
  axis text stays readable from a 360 px phone to a desktop card;
* an HTML legend (text that wraps) when there is more than one thing to tell apart;
* always the same data as a table, in a ``<details>`` ("Show the data"): for screen
  readers, for exact figures on a phone (no hover there), for copying.

Colours are the theme's CSS custom properties (``--chart-1`` … ``--chart-6`` and
``--chart-target`` in coachdesk.css, derived from ``--accent`` and the status colours),
given to each series as ``--series-colour``: the SVG carries no colour of its own and
follows the active theme and the admin's Style colours. Data with nothing to draw gives
a "No data yet" box instead of an empty frame.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pygal
from flask import current_app
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

ValueFormat = Callable[[float], str]

#: Series colours, in order (coachdesk.css defines them from the theme's palette).
PALETTE = tuple(f"var(--chart-{i})" for i in range(1, 7))
TARGET_COLOUR = "var(--chart-target)"
#: What a caller may pass as a colour: a CSS custom property or a hex colour.
COLOUR = re.compile(r"^(var\(--[a-z0-9-]+\)|#[0-9a-fA-F]{3,8})$")
FONT = 13  # px, in the drawing's own units


@dataclass(frozen=True)
class Series:
    """One line or one set of bars: its label and one value per x label (None: no data)."""

    label: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class _Size:
    """One drawing of a chart; coachdesk.css shows ``is-<name>`` by the width of its box."""

    name: str
    width: int
    height: int


SIZES = (_Size("narrow", 380, 250), _Size("medium", 640, 290), _Size("wide", 960, 330))
DONUT = _Size("donut", 240, 240)

_STYLE = Style(
    font_family="inherit",
    label_font_size=FONT,
    major_label_font_size=FONT,
    value_font_size=FONT,
    tooltip_font_size=FONT,
    no_data_font_size=FONT,
)


class _QuickLookups:
    """Mixed into pygal's charts: the same attribute lookups, a third of the drawing faster.

    While drawing, pygal reads every option through ``BaseGraph.__getattribute__``, which
    calls itself three more times (``state``, twice) to look in the render state first:
    some 4,000 lookups a drawing, a third of its time. This one reads the state's own
    dictionary once, then falls back on the chart's attributes, exactly as pygal does.
    """

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("__") and name != "state":
            state = object.__getattribute__(self, "__dict__").get("state")
            if state is not None and name in state.__dict__:
                return state.__dict__[name]
        return object.__getattribute__(self, name)


def _quick(chart: type[pygal.graph.graph.Graph]) -> Any:
    """``chart`` with quick attribute lookups, under its own name: pygal names the drawing's
    CSS class after it (``bar-graph``)."""
    return type(chart.__name__, (_QuickLookups, chart), {"__doc__": chart.__doc__})


_Line, _Bar, _Pie = _quick(pygal.Line), _quick(pygal.Bar), _quick(pygal.Pie)


@dataclass(frozen=True)
class _Key:
    """One entry of the HTML legend."""

    label: str
    colour: str
    value: str = ""
    dashed: bool = False


@dataclass
class _Figure:
    """What charts/figure.html draws."""

    kind: str
    title: str
    svgs: list[Markup] = field(default_factory=list)
    legend: list[_Key] = field(default_factory=list)
    head: list[str] = field(default_factory=list)  # table header; the first is the rows' column
    rows: list[list[str]] = field(default_factory=list)  # first cell: the row's header
    foot: list[str] | None = None
    unit: str | None = None
    total: tuple[str, str] | None = None
    empty_text: str | None = None


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_labels: Sequence[str],
    y_title: str | None = None,
    target: float | None = None,
    target_label: str | None = None,
    value_format: ValueFormat | None = None,
    empty_text: str | None = None,
) -> Markup:
    """Lines over ``x_labels`` (gaps are joined), with an optional dashed ``target`` line.

    ``y_title`` (a unit such as "kg") is written above the chart; ``value_format`` formats
    the axis, the tooltips and the table (default: a number in the viewer's language).
    Shows ``empty_text`` (default "No data yet") when every value is None.
    """
    target_line = None
    if target is not None:
        target_line = Series(target_label or _("Target"), [target] * len(x_labels))
    return _xy_chart(
        "line",
        title,
        series,
        x_labels,
        value_format,
        empty_text,
        visible=lambda value: value is not None,
        new_chart=lambda options, room: _Line(
            **options, show_dots=room >= 12, dots_size=3.5 if room >= 24 else 2.5
        ),
        target=target_line,
        unit=y_title,
    )


def bar_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_labels: Sequence[str],
    value_format: ValueFormat | None = None,
    empty_text: str | None = None,
) -> Markup:
    """Bars over ``x_labels``, side by side when there are several series.

    Shows ``empty_text`` (default "No data yet") when no value is above or below zero:
    bars of nothing tell nothing.
    """
    return _xy_chart(
        "bar",
        title,
        series,
        x_labels,
        value_format,
        empty_text,
        visible=bool,  # a bar of zero draws nothing
        new_chart=lambda options, _room: _Bar(**options, rounded_bars=3),
    )


def donut_chart(
    title: str,
    slices: Sequence[tuple[str, float]],
    *,
    value_format: ValueFormat | None = None,
    colours: Sequence[str] | None = None,
    total_label: str | None = None,
    empty_text: str | None = None,
) -> Markup:
    """A ring of (label, value) slices, with a legend giving each value and its share.

    ``colours``: one CSS colour per slice (``var(--success)`` or ``#0f766e``), default the
    chart palette. ``total_label`` writes the total in the hole ("12 / sessions").
    Shows ``empty_text`` (default "No data yet") when no slice is above zero.
    """
    fmt = value_format or _number
    if any(value < 0 for _label, value in slices):
        raise ValueError("a donut slice cannot be negative")
    total = sum(value for _label, value in slices)
    if not total:
        return _empty("donut", title, empty_text)
    painted = _colours(len(slices), colours)
    desc = ", ".join(f"{label}: {fmt(value)}" for label, value in slices)
    labels = [label for label, _value in slices]

    def drawings(value_format: ValueFormat) -> list[tuple[Markup, str]]:
        def draw(size: _Size) -> pygal.Graph:
            chart = _Pie(**{**_options(size, value_format), "margin": 2}, inner_radius=0.64)
            for label, value in slices:
                chart.add(label, value)
            return chart

        return [_drawing(draw, DONUT, title, desc, labels, painted, None)]

    figure = _Figure("donut", title)
    values = tuple(value for _label, value in slices)
    key = ("donut", title, desc, tuple(labels), tuple(painted), values)
    figure.svgs = _remembered(key, fmt, drawings)
    shares = [format_percent(value / total) for _label, value in slices]
    figure.legend = [
        _Key(label, colour, fmt(value))
        for (label, value), colour in zip(slices, painted, strict=True)
    ]
    figure.head = ["", _("Value"), _("Share")]
    figure.rows = [
        [label, fmt(value), share] for (label, value), share in zip(slices, shares, strict=True)
    ]
    figure.foot = [_("Total"), fmt(total), format_percent(1)]
    if total_label:
        figure.total = (fmt(total), total_label)
    return _figure(figure)


# -- drawing --------------------------------------------------------------------------


def _number(value: float) -> str:
    return str(format_decimal(value))


def _colours(count: int, chosen: Sequence[str] | None = None) -> list[str]:
    """``chosen`` (checked: it ends up in CSS), else the palette, repeated as needed."""
    if chosen is None:
        return [PALETTE[i % len(PALETTE)] for i in range(count)]
    if len(chosen) != count or not all(COLOUR.match(c) for c in chosen):
        raise ValueError("colours: one CSS custom property or hex colour per slice")
    return list(chosen)


def _options(size: _Size, fmt: ValueFormat) -> dict[str, Any]:
    """Options every chart shares; css=() leaves the styling to coachdesk.css."""
    return {
        "width": size.width,
        "height": size.height,
        "style": _STYLE,
        "css": (),
        "js": (),
        "show_legend": False,
        "show_x_guides": False,
        "value_formatter": fmt,
        "min_scale": 3,
        "max_scale": 5 if size.name == "narrow" else 6,
        "margin": 10,
        "spacing": 10,
        "truncate_label": -1,
    }


def _x_majors(labels: Sequence[str], size: _Size) -> dict[str, Any]:
    """Thin out the x labels so that they never overlap: every n-th, counted back from the
    last (the most recent point is always labelled)."""
    longest = max((len(x) for x in labels), default=1)
    fits = max(1, int((size.width - 80) / (longest * FONT * 0.6 + 16)))
    step = math.ceil(len(labels) / fits)
    if step <= 1:
        return {}
    return {
        "x_labels_major": [labels[i] for i in range(len(labels) - 1, -1, -step)],
        "show_minor_x_labels": False,
    }


def _drawing(
    draw: Callable[[_Size], pygal.Graph],
    size: _Size,
    title: str,
    desc: str,
    labels: list[str],
    colours: Sequence[str],
    target: int | None,
) -> tuple[Markup, str]:
    """One SVG: pygal's drawing, made accessible and stripped of what needs JavaScript;
    and the chart's own id (pygal's ``uuid``, in every id of the drawing).

    ``labels`` and ``colours`` go by series, ``target`` is the index of the dashed one.
    """
    chart = draw(size)

    def finish(root: Any) -> Any:
        _finish(root, size, title, desc, labels, colours, target)
        return root

    chart.add_xml_filter(finish)
    svg = chart.render(is_unicode=True)
    return Markup(svg[svg.index("<svg") :]), chart.uuid  # noqa: S704 (pygal escapes its texts)


@dataclass(frozen=True)
class _Drawings:
    """A chart's SVGs with the id of each, and every value pygal formatted with its text."""

    svgs: list[tuple[Markup, str]]
    formatted: list[tuple[Any, str]]


#: Charts drawn in this process (at most :data:`REMEMBERED`, the oldest go
#: first), by what their drawing is made of: see :func:`_remembered`.
_drawn: dict[tuple[Any, ...], _Drawings] = {}
_drawn_lock = threading.Lock()
REMEMBERED = 128


def _remembered(
    key: tuple[Any, ...], fmt: ValueFormat, make: Callable[[ValueFormat], list[tuple[Markup, str]]]
) -> list[Markup]:
    """The SVGs ``make(value_format)`` draws, drawn once for a ``key`` and ``fmt``'s texts.

    Three pygal drawings cost some 13 ms, and a page such as the coach's Statistics shows
    the same chart until its data change. pygal's drawing depends on its options, the
    series and labels (``key``: everything the caller draws from) and the texts of the
    values it formats: those are written down while drawing, and a drawing is reused only
    when ``fmt`` gives each of them the same text again (another language or currency
    draws anew). Its chart ids are replaced by new ones, as a new drawing would have:
    charts on one page never share an id. So the markup is the one drawing it now would
    give: nothing shown can be stale or come from another chart.
    """
    found = _drawn.get(key)
    if found is not None and all(fmt(value) == text for value, text in found.formatted):
        return [Markup(svg.replace(uuid, str(uuid4()))) for svg, uuid in found.svgs]  # noqa: S704
    formatted: list[tuple[Any, str]] = []

    def recording(value: Any) -> str:
        text = fmt(value)
        formatted.append((value, text))
        return text

    drawn = _Drawings(make(recording), formatted)
    with _drawn_lock:
        while len(_drawn) >= REMEMBERED:
            del _drawn[next(iter(_drawn))]
        _drawn[key] = drawn
    return [svg for svg, _uuid in drawn.svgs]


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _classes(node: Any) -> list[str]:
    return str(node.get("class", "")).split()


def _finish(
    root: Any,
    size: _Size,
    title: str,
    desc: str,
    labels: list[str],
    colours: Sequence[str],
    target: int | None,
) -> None:
    """Title and description for assistive technology, native tooltips instead of pygal's
    scripted ones, colours as CSS variables, and no comment or script."""
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    chart_id = root.get("id")
    root.set("class", f"chart-svg is-{size.name}")
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title {chart_id}-desc")
    root.set("style", "width:100%;height:auto")
    _walk(root, _Walk(ns, labels, colours, target), None)
    heading = next(c for c in root if _local(c.tag) == "title")
    heading.text = title
    heading.set("id", f"{chart_id}-title")
    described = root.makeelement(ns + "desc", {"id": f"{chart_id}-desc"})
    described.text = desc
    root.insert(list(root).index(heading) + 1, described)


@dataclass(frozen=True)
class _Walk:
    ns: str
    labels: list[str]
    colours: Sequence[str]
    target: int | None


def _walk(node: Any, walk: _Walk, series: int | None) -> None:
    """Visit ``node``'s children; ``series`` is the index of the series they belong to."""
    for child in list(node):
        if (
            not isinstance(child.tag, str)  # a comment
            or _local(child.tag) == "script"  # pygal's config, even with js=(): CSP refuses it
            or "tooltip-overlay" in _classes(child)  # the box that pygal's script would fill
        ):
            node.remove(child)
            continue
        index = next((int(c[6:]) for c in _classes(child) if c.startswith("serie-")), series)
        if index is not None and index != series:
            child.set("style", f"--series-colour: {walk.colours[index]}")
            if index == walk.target:
                child.set("class", f"{child.get('class')} is-target")
        _tooltip(child, walk, index)
        _walk(child, walk, index)


def _tooltip(node: Any, walk: _Walk, series: int | None) -> None:
    """pygal's <desc> hints (read by its script) become one <title>: the browser's tooltip."""
    hints = {c: d for d in node if _local(d.tag) == "desc" for c in _classes(d)}
    if "value" not in hints:
        return
    for hint in list(node):
        if _local(hint.tag) == "desc":
            node.remove(hint)
    x = hints["x_label"].text if "x_label" in hints else None
    label = walk.labels[series] if series is not None else None
    if x is None:  # a slice: named by its series
        name = label
    elif len(walk.labels) > 1:
        name = f"{label} · {x}"
    else:
        name = x
    tip = node.makeelement(walk.ns + "title", {})
    tip.text = f"{name}: {hints['value'].text}" if name else hints["value"].text
    node.insert(0, tip)


# -- text -----------------------------------------------------------------------------


def _xy_desc(series: Sequence[Series], x_labels: Sequence[str], fmt: ValueFormat) -> str:
    """One sentence per series: its lowest and highest value, over the x range."""
    parts = []
    if x_labels:
        parts.append(_("From %(first)s to %(last)s.", first=x_labels[0], last=x_labels[-1]))
    for s in series:
        known = [v for v in s.values if v is not None]
        if known:
            parts.append(
                _(
                    "%(series)s: lowest %(low)s, highest %(high)s.",
                    series=s.label,
                    low=fmt(min(known)),
                    high=fmt(max(known)),
                )
            )
    return " ".join(parts)


def _xy_chart(
    kind: str,
    title: str,
    series: Sequence[Series],
    x_labels: Sequence[str],
    value_format: ValueFormat | None,
    empty_text: str | None,
    *,
    visible: Callable[[float | None], bool],
    new_chart: Callable[[dict[str, Any], float], pygal.Graph],
    target: Series | None = None,
    unit: str | None = None,
) -> Markup:
    """What line and bar charts share: the empty state when no value is ``visible``; else the
    series drawn at each size by ``new_chart(options, room per point)`` (a target line
    first, so that it lies under the data), a legend when there is more than one line to
    tell apart, and the table."""
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(f"{s.label!r} has {len(s.values)} values for {len(x_labels)} labels")
    if not any(visible(v) for s in series for v in s.values):
        return _empty(kind, title, empty_text)
    fmt = value_format or _number
    drawn = [*([target] if target else []), *series]
    colours = [*([TARGET_COLOUR] if target else []), *_colours(len(series))]

    def draw(size: _Size, value_format: ValueFormat) -> pygal.Graph:
        room = size.width / max(len(x_labels), 1)
        chart = new_chart({**_options(size, value_format), **_x_majors(x_labels, size)}, room)
        chart.x_labels = list(x_labels)
        for s in drawn:
            chart.add(s.label, list(s.values), **({"show_dots": False} if s is target else {}))
        return chart

    desc = _xy_desc(series, x_labels, fmt)
    labels = [s.label for s in drawn]
    marked = 0 if target else None
    figure = _Figure(kind, title, unit=unit)

    def drawings(value_format: ValueFormat) -> list[tuple[Markup, str]]:
        def sized(size: _Size) -> pygal.Graph:
            return draw(size, value_format)

        return [_drawing(sized, size, title, desc, labels, colours, marked) for size in SIZES]

    values = tuple(tuple(s.values) for s in drawn)
    key = (kind, title, desc, tuple(labels), tuple(colours), marked, tuple(x_labels), values)
    figure.svgs = _remembered(key, fmt, drawings)
    figure.head = ["", *(s.label for s in series)]

    def cell(value: float | None) -> str:
        return "" if value is None else fmt(value)  # "": no data (the template says so)

    figure.rows = [[x, *(cell(s.values[i]) for s in series)] for i, x in enumerate(x_labels)]
    if len(drawn) > 1:
        figure.legend = [
            _Key(s.label, c) for s, c in zip(series, colours[-len(series) :], strict=True)
        ]
    if target:
        value = cell(target.values[0])
        figure.legend.append(_Key(target.label, TARGET_COLOUR, value, dashed=True))
        figure.foot = [target.label, *[value] * len(series)]
    return _figure(figure)


def _empty(kind: str, title: str, text: str | None) -> Markup:
    return _figure(_Figure(kind, title, empty_text=text or _("No data yet")))


def _figure(figure: _Figure) -> Markup:
    """Render charts/figure.html without context processors (they would cost queries)."""
    template = current_app.jinja_env.get_template("charts/figure.html")
    return Markup(template.render(chart=figure))  # noqa: S704 (an autoescaped template)
