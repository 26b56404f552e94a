"""The per-row helpers write exactly what url_for, the options macro, WTForms and pygal write."""

from __future__ import annotations

import re

import pygal
from flask import Flask, url_for
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from core import charts
from core.coach.rows import FixedChoice, LongSelect, first_choice, option_tags, row_url
from core.validation import MAX_DB_INTEGER


def test_row_url_is_url_for_with_the_row_put_in(app: Flask) -> None:
    tricky_next = "/accueil-coach?page=2&q=%C3%A9t%C3%A9 987654321"
    with app.test_request_context("/"):
        for endpoint, key, ident, values in [
            ("coach.edit_session", "session_id", 7, {"next": tricky_next}),
            ("coach.edit_session", "session_id", MAX_DB_INTEGER - 1, {}),
            ("payments.receipt_pdf", "session_id", 42, {}),
            ("coach.profile", "client_id", 3, {"tab": "finances"}),
        ]:
            expected = url_for(endpoint, **{key: ident}, **values)
            assert row_url(endpoint, key, ident, **values) == expected
            assert row_url(endpoint, key, ident, **values) == expected  # from the pattern


def test_option_tags_write_what_the_options_macro_wrote(app: Flask) -> None:
    choices = [("a&b", "Tom & <Jerry>"), ("booked", Markup("<b>Booked</b>")), ("", "None")]
    with app.test_request_context("/"):
        macro = app.jinja_env.from_string(
            "{%- for value, label in choices %}\n"
            '<option value="{{ value }}"{% if value == selected %} selected{% endif %}>'
            "{{ label }}</option>\n{%- endfor %}"
        )
        for selected in ("booked", "", None):
            assert option_tags(choices, selected) == macro.render(
                choices=choices, selected=selected
            )


def test_long_select_writes_what_wtforms_writes(app: Flask) -> None:
    class Form(FlaskForm):
        plain = SelectField(coerce=str)
        quick = SelectField(coerce=str, widget=LongSelect())

    choices = [
        SelectChoice("", "— none —"),
        SelectChoice("1", "Ann <ann@example.test>"),
        SelectChoice("2", 'Bob "B" & co'),
        SelectChoice("3", "Kept", render_kw={"disabled": True}),
    ]
    with app.test_request_context("/"):
        form = Form(meta={"csrf": False})
        for field in (form.plain, form.quick):
            field.choices = choices
            field.data = "2"
        quick = str(form.quick()).replace('name="quick"', "").replace('id="quick"', "")
        plain = str(form.plain()).replace('name="plain"', "").replace('id="plain"', "")
        assert quick == plain and "selected" in quick


def test_long_select_writes_plain_choices_as_wtforms_does(app: Flask) -> None:
    """Straight from the choices (no Choice per option), fixed choices escaped once."""

    class Form(FlaskForm):
        plain = SelectField(coerce=int, validators=[DataRequired()])
        quick = SelectField(coerce=int, validators=[DataRequired()], widget=LongSelect())
        zone = SelectField(coerce=str)
        quick_zone = SelectField(coerce=str, widget=LongSelect())

    numbers = [
        SelectChoice("0", ""),
        SelectChoice("1", "Ann <ann@example.test>"),
        SelectChoice("2", Markup("<b>Bob</b> & co")),
    ]
    zones = [SelectChoice("", "Same as the site (Europe/Paris)")] + [
        FixedChoice(z, z.replace("_", " ")) for z in ("America/New_York", "Europe/Paris", "A&B")
    ]
    with app.test_request_context("/"):
        form = Form(meta={"csrf": False})
        for selected in (2, 0, None):
            form.plain.choices = form.quick.choices = numbers
            form.plain.data = form.quick.data = selected
            plain = str(form.plain(**{"aria-describedby": "x-help"})).replace("plain", "F")
            quick = str(form.quick(**{"aria-describedby": "x-help"})).replace("quick", "F")
            assert quick == plain and "required" in quick
        for selected in ("Europe/Paris", "", "Nowhere"):
            form.zone.choices = form.quick_zone.choices = zones
            form.zone.data = form.quick_zone.data = selected
            for _ in range(2):  # the second time from the escaped markup kept
                quick = str(form.quick_zone()).replace("quick_zone", "F")
                assert quick == str(form.zone()).replace("zone", "F")


def test_first_choice_is_the_first_option_of_the_field(app: Flask) -> None:
    """What ``(field|first).data`` gives, for every way WTForms takes choices."""

    class Form(FlaskForm):
        pick = SelectField()
        number = SelectField(coerce=int)
        radio = RadioField()

    shapes: list[object] = [
        [SelectChoice("", "None"), SelectChoice("a", "A")],
        [SelectChoice("a", "A", optgroup="G")],
        [("x", "X"), ("y", "Y")],
        ["only"],
        [],
        None,
        {"a": "A", "b": "B"},
        {"Group": {"g1": "G1"}, "b": "B"},
        {"Empty": {}, "b": "B"},
        {"Group": [SelectChoice("g", "G")], "Other": [("o", "O")]},
        {"Empty": [], "Other": [("o", "O")]},
        lambda: [("c", "Called")],
    ]
    with app.test_request_context("/"):
        form = Form(meta={"csrf": False})
        for field in (form.pick, form.radio):
            for choices in shapes:
                field.choices = choices
                first = next(iter(field), None)
                assert first_choice(field) == (None if first is None else first.data), choices
        form.number.choices = [(0, "Zero"), (1, "One")]
        assert first_choice(form.number) == 0


def test_quick_chart_classes_draw_what_pygal_draws() -> None:
    def svg(chart: pygal.graph.graph.Graph) -> str:
        chart.x_labels = ["Jan", "Feb", "Mar"]
        chart.add("Revenue", [1200, None, 3400])
        chart.add("Target", [2000, 2000, 2000])
        uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        return re.sub(uuid, "ID", chart.render(is_unicode=True))

    for quick, plain in [
        (charts._Bar, pygal.Bar),
        (charts._Line, pygal.Line),
        (charts._Pie, pygal.Pie),
    ]:
        options = {"width": 380, "height": 250, "css": (), "js": (), "show_legend": False}
        assert quick.__name__ == plain.__name__  # pygal's CSS class names come from it
        assert svg(quick(**options)) == svg(plain(**options))
