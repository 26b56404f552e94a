"""Forms of programs (Flask-WTF: CSRF on every one). Rules beyond one field live in the views."""

from __future__ import annotations

from typing import Any

from babel.numbers import list_currencies
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from core.coach.forms import PaymentMixin
from core.programs.models import MAX_SESSIONS
from core.sessions.service import MAX_DURATION
from core.validation import MoneyField, web_link


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def known_currency(_form: FlaskForm, field: Field) -> None:
    if (field.data or "") not in list_currencies():
        raise ValidationError(_l("Use a three-letter currency code such as EUR."))


class OfferFields(FlaskForm):
    """What a template and a bundle both describe: the offer."""

    title = StringField(
        _l("Title"), validators=[InputRequired(), Length(max=150)], filters=[_strip]
    )
    planned_count = IntegerField(
        _l("Number of sessions"),
        default=10,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_SESSIONS)],
    )
    price = MoneyField(
        _l("Total price"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0)],
        description=_l("For the whole bundle: it is spread over the sessions to the cent."),
        render_kw={"step": "0.01", "inputmode": "decimal", "min": 0},
    )
    currency = StringField(
        _l("Currency"),
        validators=[InputRequired(), Length(min=3, max=3), known_currency],
        filters=[_upper],
        render_kw={"maxlength": 3, "autocapitalize": "characters", "spellcheck": "false"},
    )
    duration_minutes = IntegerField(
        _l("Duration of each session (minutes)"),
        default=60,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_DURATION)],
        render_kw={"min": 1, "max": MAX_DURATION, "step": 5},
    )
    location = StringField(
        _l("Location"), validators=[Optional(), Length(max=255)], filters=[_strip]
    )
    video_url = StringField(
        _l("Video link"),
        validators=[Optional(), Length(max=500), web_link],
        filters=[_strip],
        render_kw={"inputmode": "url", "placeholder": "https://"},
    )
    documents = MultipleFileField(
        _l("Add PDF documents"), render_kw={"accept": "application/pdf,.pdf", "multiple": True}
    )


class TemplateForm(OfferFields):
    """A site-wide template."""


class OfferForm(OfferFields):
    """Step 1 of the new-bundle wizard; ``coach_id`` is for administrators only."""

    template_id = HiddenField()
    coach_id = SelectField(_l("Coach"), coerce=int)


WEEKDAYS = [
    SelectChoice(day, label)  # type: ignore[arg-type]
    for day, label in enumerate(
        (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
    )
]


class GenerateForm(FlaskForm):
    """ "Generate dates" on step 2: a weekly rhythm from a start date."""

    start = DateField(_l("Starting on"), validators=[InputRequired()])
    weekdays = SelectMultipleField(
        _l("On"),
        coerce=int,
        choices=WEEKDAYS,
        validators=[InputRequired(message=_l("Choose at least one day of the week."))],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    at = TimeField(_l("At"), validators=[InputRequired()])
    every = IntegerField(
        _l("Every … weeks"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=8)],
        render_kw={"min": 1, "max": 8},
    )


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        validators=[InputRequired()],
        choices=[SelectChoice("active", _l("Active")), SelectChoice("paused", _l("Paused"))],  # type: ignore[arg-type]
    )


class AddSessionForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    start = TimeField(_l("Time"), validators=[InputRequired()])
    price = MoneyField(
        _l("Price"),
        places=2,
        validators=[Optional(), NumberRange(min=0)],
        description=_l("Part of the bundle’s price not yet spread over its sessions."),
        render_kw={"step": "0.01", "inputmode": "decimal", "min": 0},
    )


class PayBundleForm(PaymentMixin, FlaskForm):
    """Mark the whole bundle paid: method and date (the status is implied)."""

    payment_status = HiddenField(default="paid")
