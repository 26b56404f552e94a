"""core/charts.py: accessible, self-contained SVG charts with their data as a table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from markupsafe import Markup

from core.api import Series, bar_chart, donut_chart, line_chart
from tests.helpers import chart_rows, charts

SVG = "{http://www.w3.org/2000/svg}"
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
DAYS = ["1 Mar", "2 Mar", "3 Mar", "4 Mar", "5 Mar"]


@pytest.fixture
def request_context(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def kg(value: float) -> str:
    return f"{value:.1f} kg"


def weight_chart(**options: Any) -> Markup:
    return line_chart(
        "Weight & waist",
        [
            Series("Weight", [82.4, None, 81.9, 81.2, None]),
            Series("Waist", [91, 90.5, None, 90, 89]),
        ],
        x_labels=DAYS,
        y_title="kg / cm",
        target=80,
        target_label="Goal <weight>",
        value_format=kg,
        **options,
    )


def svgs(markup: str) -> list[ElementTree.Element]:
    """Each <svg> of the markup, parsed on its own: it must be well-formed XML."""
    found = re.findall(r"<svg .*?</svg>", markup, flags=re.S)
    return [ElementTree.fromstring(s) for s in found]  # noqa: S314 (the markup is our own)


def text_of(element: ElementTree.Element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def test_line_chart_is_accessible_and_self_contained(request_context: None) -> None:
    markup = str(weight_chart())
    drawings = svgs(markup)
    assert [d.get("class") for d in drawings] == [
        "chart-svg is-narrow",
        "chart-svg is-medium",
        "chart-svg is-wide",
    ]
    for svg in drawings:
        assert svg.tag == SVG + "svg" and svg.get("role") == "img"
        assert svg.get("style") == "width:100%;height:auto"
        assert re.fullmatch(r"0 0 \d+ \d+", svg.get("viewBox", ""))
        title_id, desc_id = svg.get("aria-labelledby", "").split()
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None and title.get("id") == title_id
        assert title.text == "Weight & waist"
        assert desc is not None and desc.get("id") == desc_id
        assert desc.text == (
            "From 1 Mar to 5 Mar. Weight: lowest 81.2 kg, highest 82.4 kg. "
            "Waist: lowest 89.0 kg, highest 91.0 kg."
        )
        # pygal's scripted tooltips became the browser's own: one <title> per point.
        assert svg.find(f".//{SVG}desc[@class]") is None
        assert "tooltip-overlay" not in ElementTree.tostring(svg, encoding="unicode")
        tips = [text_of(t) for t in svg.iterfind(f".//{SVG}g[@class='dots']/{SVG}title")]
        assert "Weight · 1 Mar: 82.4 kg" in tips and "Waist · 5 Mar: 89.0 kg" in tips
        assert len(tips) == 7  # the known values only; the target line has no dots
    assert "<script" not in markup and "<?xml" not in markup and "<!--" not in markup
    assert set(re.findall(r"https?://[^\s\"'<>)]+", markup)) <= NAMESPACES
    assert len(set(re.findall(r' id="([^"]+)"', markup))) == len(re.findall(r' id="', markup))


def test_line_chart_legend_and_table_carry_every_value(request_context: None) -> None:
    markup = str(weight_chart())
    assert "Goal &lt;weight&gt;" in markup and "Goal <weight>" not in markup
    (figure,) = charts(markup)
    assert text_of(figure.find(".//p[@class='chart-unit']")) == "kg / cm"  # type: ignore[arg-type]
    legend = [text_of(item) for item in figure.iterfind(".//ul[@class='chart-legend']/li")]
    assert legend == ["Weight", "Waist", "Goal <weight> 80.0 kg"]
    table = figure.find(".//table")
    assert table is not None and text_of(table.find("caption")) == "Weight & waist"  # type: ignore[arg-type]
    assert [text_of(th) for th in table.iterfind("thead/tr/th")] == ["Weight", "Waist"]
    assert chart_rows(figure) == [
        ["1 Mar", "82.4 kg", "91.0 kg"],
        ["2 Mar", "– no data", "90.5 kg"],
        ["3 Mar", "81.9 kg", "– no data"],
        ["4 Mar", "81.2 kg", "90.0 kg"],
        ["5 Mar", "– no data", "89.0 kg"],
        ["Goal <weight>", "80.0 kg", "80.0 kg"],
    ]
    # The target is a dashed series of its own, coloured as such, drawn under the data.
    wide = svgs(markup)[-1]
    target = wide.find(f".//{SVG}g[@class='series serie-0 color-0 is-target']")
    assert target is not None and target.get("style") == "--series-colour: var(--chart-target)"


def test_gaps_are_joined_and_a_single_series_needs_no_legend(request_context: None) -> None:
    markup = str(line_chart("Weight", [Series("Weight", [70, None, 71.5])], x_labels=DAYS[:3]))
    wide = svgs(markup)[-1]
    (line,) = wide.iterfind(f".//{SVG}path[@class='line reactive nofill']")
    assert line.get("d", "").count(" ") >= 2  # one path from the first point to the last
    assert "chart-legend" not in markup
    assert chart_rows(charts(markup)[0]) == [
        ["1 Mar", "70"],
        ["2 Mar", "– no data"],
        ["3 Mar", "71.5"],
    ]


def test_bar_chart_formats_every_value(request_context: None) -> None:
    from core.i18n import money

    months = ["Oct 26", "Nov 26", "Dec 26"]
    markup = str(
        bar_chart(
            "Revenue",
            [Series("Received", [0, 12050, -3000]), Series("Billed", [5000, 0, 7000])],
            x_labels=months,
            value_format=lambda v: money(round(v), "EUR"),
        )
    )
    (figure,) = charts(markup)
    assert chart_rows(figure) == [
        ["Oct 26", "€0.00", "€50.00"],
        ["Nov 26", "€120.50", "€0.00"],
        ["Dec 26", "-€30.00", "€70.00"],
    ]
    legend = [text_of(item) for item in figure.iterfind(".//ul[@class='chart-legend']/li")]
    assert legend == ["Received", "Billed"]
    assert len(svgs(markup)[0].findall(f".//{SVG}g[@class='bar']")) == 6


def test_donut_chart_shares_total_and_colours(request_context: None) -> None:
    markup = str(
        donut_chart(
            "Payments",
            [("Paid", 3), ("Pending", 1), ("Refunded", 0)],
            colours=["var(--success)", "#b45309", "var(--indigo)"],
            total_label="sessions",
        )
    )
    (figure,) = charts(markup)
    (svg,) = svgs(markup)
    assert svg.find(f"{SVG}desc").text == "Paid: 3, Pending: 1, Refunded: 0"  # type: ignore[union-attr]
    assert len(svg.findall(f".//{SVG}path[@class='slice reactive tooltip-trigger']")) == 2
    assert [text_of(t) for t in svg.iterfind(f".//{SVG}g[@class='slice']/{SVG}title")] == [
        "Paid: 3",
        "Pending: 1",
        "Refunded: 0",
    ]
    assert text_of(figure.find(".//p[@class='chart-total']")) == "4 sessions"  # type: ignore[arg-type]
    swatches = [s.get("style") for s in figure.iterfind(".//span[@class='chart-swatch']")]
    assert swatches == [
        "--series-colour: var(--success)",
        "--series-colour: #b45309",
        "--series-colour: var(--indigo)",
    ]
    assert chart_rows(figure) == [
        ["Paid", "3", "75%"],
        ["Pending", "1", "25%"],
        ["Refunded", "0", "0%"],
        ["Total", "4", "100%"],
    ]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: line_chart("Weight", [Series("Weight", [None, None])], x_labels=["a", "b"]),
        lambda: line_chart("Weight", [], x_labels=[]),
        lambda: bar_chart("Revenue", [Series("Revenue", [0, None, 0])], x_labels=["a", "b", "c"]),
        lambda: donut_chart("Payments", [("Paid", 0), ("Pending", 0)]),
        lambda: donut_chart("Payments", []),
    ],
)
def test_nothing_to_draw_says_so(request_context: None, draw: Any) -> None:
    markup = str(draw())
    assert "No data yet" in markup
    assert "<svg" in markup and 'class="chart-svg' not in markup  # only the icon
    assert "<table" not in markup
    assert charts(markup)  # still one well-formed figure


def test_empty_text_and_language(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        empty = str(line_chart("Poids", [Series("Poids", [None])], x_labels=["1 mars"]))
        assert "Pas encore de données" in empty
        custom = bar_chart("CA", [Series("CA", [0])], x_labels=["mars"], empty_text="Rien")
        assert "Rien" in str(custom)
        figure = charts(str(line_chart("Poids", [Series("Poids", [72.5])], x_labels=["1 mars"])))
        assert chart_rows(figure[0]) == [["1 mars", "72,5"]]
        assert "Afficher les données" in str(weight_chart())


@pytest.mark.parametrize(
    "draw",
    [
        lambda: line_chart("W", [Series("W", [1, 2])], x_labels=["a"]),
        lambda: bar_chart("W", [Series("W", [1])], x_labels=["a", "b"]),
        lambda: donut_chart("P", [("Paid", -1), ("Pending", 2)]),
        lambda: donut_chart("P", [("Paid", 1)], colours=["red; background: url(x)"]),
        lambda: donut_chart("P", [("Paid", 1)], colours=["var(--a)", "var(--b)"]),
    ],
)
def test_bad_input_is_refused(request_context: None, draw: Any) -> None:
    with pytest.raises(ValueError):
        draw()


def test_charts_of_one_page_never_share_an_id(request_context: None) -> None:
    page = str(weight_chart()) + str(weight_chart()) + str(donut_chart("P", [("Paid", 1)]))
    ids = re.findall(r' id="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids))


def without_ids(markup: str) -> str:
    return re.sub(r"chart-[0-9a-f-]{36}", "chart-ID", markup)


@pytest.mark.parametrize(
    ("pygal_class", "chart"),
    [
        ("_Line", weight_chart),
        ("_Pie", lambda: donut_chart("Payments", [("Paid", 3), ("Due", 1)], total_label="x")),
    ],
)
def test_a_chart_drawn_again_is_the_same_drawing_with_new_ids(
    request_context: None, monkeypatch: pytest.MonkeyPatch, pygal_class: str, chart: Any
) -> None:
    from core import charts as module

    first = str(chart())
    drawn: list[int] = []
    kind = getattr(module, pygal_class)
    render = kind.render
    monkeypatch.setattr(kind, "render", lambda *a, **k: drawn.append(1) or render(*a, **k))
    again = str(chart())
    assert not drawn  # remembered: pygal did not draw it again
    assert without_ids(again) == without_ids(first)
    assert set(re.findall(r"chart-[0-9a-f-]{36}", again)).isdisjoint(
        re.findall(r"chart-[0-9a-f-]{36}", first)
    )


def test_a_chart_is_drawn_anew_when_its_values_read_otherwise(
    request_context: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same data, another formatter (language, currency): pygal draws the new texts."""
    from core import charts as module

    series = [Series("Revenue", [1200, 800])]
    euros = str(bar_chart("R", series, x_labels=["a", "b"], value_format=lambda v: f"€{v:.0f}"))
    drawn: list[int] = []
    render = module._Bar.render
    monkeypatch.setattr(module._Bar, "render", lambda *a, **k: drawn.append(1) or render(*a, **k))
    pounds = str(bar_chart("R", series, x_labels=["a", "b"], value_format=lambda v: f"£{v:.0f}"))
    assert len(drawn) == 3  # narrow, medium, wide
    assert "£1200" in pounds and "€" not in pounds and "€1200" in euros
    twice = str(bar_chart("R", series, x_labels=["a", "b"], value_format=lambda v: f"£{v:.0f}"))
    assert len(drawn) == 3 and without_ids(twice) == without_ids(pounds)
