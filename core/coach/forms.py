"""Forms of the coach workspace (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from core.accounts.models import User
from core.coach.rows import LongSelect
from core.emails.outbox import valid_address
from core.payments.models import PAYMENT_METHODS
from core.sessions.models import PAYMENT_STATUSES, SESSION_STATUSES, CoachingSession
from core.validation import MoneyField, column_length, max_length, supported_date, web_link


def _choices(values: tuple[str, ...], labels: dict[str, object]) -> list[SelectChoice]:
    return [SelectChoice(v, labels[v]) for v in values]  # type: ignore[arg-type]


STATUS_LABELS = {
    "available": _l("Available (open slot)"),
    "booked": _l("Booked"),
    "confirmed": _l("Confirmed"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "no_show": _l("No-show"),
}
PAYMENT_LABELS = {
    "pending": _l("Pending"),
    "paid": _l("Paid"),
    "refunded": _l("Refunded"),
    "cancelled": _l("Cancelled"),
}
METHOD_LABELS = {
    "cash": _l("Cash"),
    "transfer": _l("Bank transfer"),
    "cheque": _l("Cheque"),
    "card": _l("Card"),
    "other": _l("Other"),
}


def _optional_int(value: object) -> int | None:
    return int(str(value)) if value not in (None, "", "None") else None


class PaymentMixin:
    """Payment status with the method and date a manual "paid" needs."""

    payment_status = SelectField(
        _l("Payment"),
        choices=_choices(PAYMENT_STATUSES, PAYMENT_LABELS),
        validators=[InputRequired()],
        widget=LongSelect(),
    )
    payment_method = SelectField(
        _l("Paid by"),
        choices=_choices(PAYMENT_METHODS, METHOD_LABELS),
        validators=[InputRequired()],
        default="transfer",
        description=_l("Used when you mark the session paid."),
        widget=LongSelect(),
    )
    paid_on = DateField(_l("Paid on"), validators=[Optional(), supported_date])


class SessionForm(PaymentMixin, FlaskForm):
    """The session editor. Client and coach choices are filled per viewer by the view."""

    version = HiddenField()
    client_id = SelectField(
        _l("Client"), coerce=_optional_int, validate_choice=True, widget=LongSelect()
    )
    coach_id = SelectField(_l("Coach"), coerce=int, widget=LongSelect())
    day = DateField(_l("Date"), validators=[InputRequired(), supported_date])
    start = TimeField(_l("Time"), validators=[InputRequired()])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"),
        default=60,
        validators=[InputRequired(), NumberRange(min=1, max=1440)],
    )
    title = StringField(
        _l("Title"),
        validators=[Optional(), max_length(CoachingSession.title)],
        description=_l("Left empty: “Session with” and the client’s name."),
    )
    location = StringField(
        _l("Location"), validators=[Optional(), max_length(CoachingSession.location)]
    )
    video_url = StringField(
        _l("Video link"),
        validators=[Optional(), max_length(CoachingSession.video_url), web_link],
        render_kw={"inputmode": "url", "placeholder": "https://"},
    )
    price = MoneyField(
        _l("Price"),
        places=2,
        validators=[Optional(), NumberRange(min=0)],
        render_kw={"step": "0.01"},
    )
    currency = StringField(
        _l("Currency"),
        validators=[InputRequired(), Length(min=3, max=column_length(CoachingSession.currency))],
    )
    status = SelectField(
        _l("Status"),
        choices=_choices(SESSION_STATUSES, STATUS_LABELS),
        validators=[InputRequired()],
        widget=LongSelect(),
    )
    notes = TextAreaField(
        _l("Private notes"), description=_l("Only you and administrators see these notes.")
    )
    documents = MultipleFileField(
        _l("Add PDF documents"), render_kw={"accept": "application/pdf,.pdf", "multiple": True}
    )


class StatusForm(FlaskForm):
    """Quick status change from a card."""

    status = SelectField(
        _l("Status"),
        choices=_choices(SESSION_STATUSES, STATUS_LABELS),
        validators=[InputRequired()],
    )


class PaymentForm(PaymentMixin, FlaskForm):
    """Manual payment marking from a card or the Finances tab."""


class ClientForm(FlaskForm):
    """Add a client, or edit a client's contact details."""

    first_name = StringField(
        _l("First name"), validators=[InputRequired(), max_length(User.first_name)]
    )
    last_name = StringField(
        _l("Last name"), validators=[InputRequired(), max_length(User.last_name)]
    )
    email = EmailField(
        _l("Email"),
        validators=[InputRequired(), max_length(User.email), valid_address],
        description=_l("Used to sign in and for notifications."),
        render_kw={"autocomplete": "off"},
    )
    phone = StringField(_l("Phone"), validators=[Optional(), max_length(User.phone)])


class AddClientForm(ClientForm):
    """Add client; an administrator may assign the new client to a coach."""

    coach_id = SelectField(
        _l("Coach"),
        coerce=_optional_int,
        description=_l("The coach who follows this client (they see the client in My clients)."),
    )


class NotesForm(FlaskForm):
    """The coach's private notes about a client."""

    body = TextAreaField(_l("Private notes"), validators=[Length(max=20000)])
