"""The forms of the Physical pages: an entry (one field per shown measure) and a target.

A measure's field takes the value in the reader's units; its validator reads it,
checks the plausible range (the message names the field and the range in those
units) and leaves the integer to store on the field as ``field.stored``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, Field, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from addons.physical.display import Display, long_date
from addons.physical.i18n import _, _l, ngettext
from addons.physical.measures import Measure
from addons.physical.units import BadNumber, parse, resolve
from core import api

NOTE_MAX = 1000


def today() -> date:
    """Today in the site's time zone."""
    return api.local_datetime(api.utcnow()).date()


class MeasureValue:
    """Validator of one measure's field: a number with the unit's decimals, in range."""

    def __init__(self, measure: Measure, display: Display, previous: int | None) -> None:
        self.measure = measure
        self.display = display
        self.previous = previous

    def __call__(self, form: FlaskForm, field: Field) -> None:
        field.stored = None
        if not (field.data or "").strip():
            return
        measure, unit = self.measure, self.measure.unit(self.display.system)
        low, high = measure.range_in(self.display.system)
        try:
            number = parse(field.data, unit)
        except BadNumber as problem:
            if problem.reason == "places" and unit.places:
                message = ngettext(
                    "%(field)s: use at most %(num)s decimal.",
                    "%(field)s: use at most %(num)s decimals.",
                    unit.places,
                    field=measure.label,
                )
            elif problem.reason == "places":
                message = _("%(field)s: enter a whole number.", field=measure.label)
            else:
                message = _(
                    "%(field)s: enter a number between %(low)s and %(high)s.",
                    field=measure.label,
                    **self.display.range_texts(measure),
                )
            raise ValidationError(message) from None
        if not low <= number <= high:
            raise ValidationError(
                _(
                    "%(field)s must be between %(low)s and %(high)s.",
                    field=measure.label,
                    **self.display.range_texts(measure),
                )
            )
        field.stored = resolve(number, unit, self.previous)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class EntryForm(FlaskForm):
    """The date and note; :func:`entry_form` adds a field per measure."""

    measured_on = DateField(
        _l("Date"), validators=[InputRequired(message=_l("Enter the date of the measurements."))]
    )
    note = TextAreaField(
        _l("Note"),
        validators=[Optional(), Length(max=NOTE_MAX)],
        filters=[_strip],
        render_kw={"rows": 2},
    )
    measures: list[Measure]

    def validate_measured_on(self, field: Field) -> None:
        if field.data and field.data > today():
            raise ValidationError(_("The date cannot be in the future."))
        if field.data and field.data.year < 1900:
            raise ValidationError(_("Check the year of the date."))

    def values(self) -> dict[int, int | None]:
        """Measure id → the integer to store (None: the field was left empty)."""
        return {m.id: getattr(self[m.field], "stored", None) for m in self.measures}


def entry_form(
    measures: list[Measure],
    display: Display,
    formdata: Any = None,
    stored: dict[int, int] | None = None,
    **data: Any,
) -> EntryForm:
    """An entry form with one field per measure, labelled with the reader's unit.

    ``stored`` holds the values of the entry being corrected: shown in the fields, and
    kept as they are when saved unchanged.
    """
    stored = stored or {}
    fields: dict[str, Any] = {}
    for measure in measures:
        unit = measure.unit(display.system)
        label = f"{measure.label} ({unit.symbol})" if unit.symbol else measure.label
        fields[measure.field] = StringField(
            label,
            validators=[MeasureValue(measure, display, stored.get(measure.id))],
            filters=[_strip],
            render_kw={
                "inputmode": "numeric" if unit.places == 0 else "decimal",
                "autocomplete": "off",
                "class": "physical-number",
            },
        )
    form_class = type("MeasuresEntryForm", (EntryForm,), fields)
    for measure in measures:
        if measure.id in stored:
            data[measure.field] = display.field_value(measure, stored[measure.id])
    form = form_class(formdata=formdata, data=data)
    form.measures = measures
    return form


class TargetForm(FlaskForm):
    measure = SelectField(_l("Measure"), validators=[InputRequired()])
    value = StringField(
        _l("Target"),
        validators=[InputRequired(message=_l("Enter the value to reach."))],
        filters=[_strip],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    due_on = DateField(_l("By"), validators=[Optional()])

    def validate_due_on(self, field: Field) -> None:
        if field.data and field.data < today():
            raise ValidationError(
                _("The date %(date)s is already past.", date=long_date(field.data))
            )
