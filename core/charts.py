"""Server-side line charts: an inline SVG drawn by pygal, and the same data as a table.

TEMPORARY stub with the interface the core's charts will have (``core.api.Series``,
``core.api.line_chart``); the core's own implementation replaces this file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygal
from markupsafe import Markup, escape
from pygal.style import Style

#: Drawn at this size and scaled to the width of its box (readable from 360 px up).
WIDTH, HEIGHT = 400, 260
MAX_X_LABELS = 5
#: pygal always writes its configuration as an inline script: no page runs it (CSP).
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


@dataclass(frozen=True)
class Series:
    """One line: its label and one value per x label (None: no value there)."""

    label: str
    values: Sequence[float | None]


def _style() -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#374151",
        foreground_strong="#111827",
        foreground_subtle="#9ca3af",
        colors=("#0f766e", "#b45309", "#4f46e5", "#dc2626"),
        font_family="system-ui, sans-serif",
        label_font_size=14,
        major_label_font_size=14,
        value_font_size=14,
        title_font_size=15,
        legend_font_size=14,
    )


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_labels: Sequence[str],
    y_title: str | None = None,
    target: float | None = None,
    target_label: str | None = None,
    value_format: Callable[[float], str] | None = None,
) -> Markup:
    """An inline SVG line chart (no script) followed by a table of its data for screen readers.

    ``target`` draws a dashed horizontal line at that value, named ``target_label``.
    ``value_format`` writes a value for the axis, the tooltips and the table.
    """
    show = value_format or (lambda v: f"{v:g}")
    many = len(x_labels) > MAX_X_LABELS
    known = [v for s in series for v in s.values if v is not None]
    if target is not None:
        known.append(target)
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    pad = (high - low) * 0.08 or max(abs(high) * 0.02, 1.0)
    chart = pygal.Line(
        width=WIDTH,
        height=HEIGHT,
        style=_style(),
        js=[],
        disable_xml_declaration=True,
        show_legend=len(series) > 1 or target is not None,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        y_title=y_title,
        show_dots=len(x_labels) <= 30,  # a dot per value only while they stay apart
        dots_size=3,
        stroke_style={"width": 2.5},
        allow_interruptions=True,
        x_labels_major_count=MAX_X_LABELS if many else None,
        show_minor_x_labels=not many,
        truncate_label=-1,
        formatter=show,
        range=(low - pad, high + pad),
        max_scale=6,
        margin=8,
        margin_right=44,
        explicit_size=False,
    )
    chart.x_labels = list(x_labels)
    for one in series:
        chart.add(one.label, list(one.values))
    if target is not None:
        chart.add(
            target_label or "Target",
            [target] * max(len(x_labels), 1),
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "6, 4"},
        )
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    rows = "".join(
        f"<tr><th scope='row'>{escape(label)}</th>"
        + "".join(
            f"<td>{'' if s.values[i] is None else escape(show(s.values[i]))}</td>"  # type: ignore[arg-type]
            for s in series
        )
        + "</tr>"
        for i, label in enumerate(x_labels)
    )
    heads = "".join(f"<th scope='col'>{escape(s.label)}</th>" for s in series)
    table = (
        f'<table class="sr-only"><caption>{escape(title)}</caption>'
        f"<thead><tr><td></td>{heads}</tr></thead><tbody>{rows}</tbody></table>"
    )
    return Markup(f'<figure class="chart">{svg}{table}</figure>')  # noqa: S704 (escaped above)
