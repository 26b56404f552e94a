"""Limits every input shares, each enforced in one place for the whole site.

* Requests: a NUL byte in the path, the query string, a form value or key, or an uploaded
  file's name is refused with 400 before any view runs (PostgreSQL cannot store one,
  and no field of ours needs one). ``<int:…>`` in every URL is bounded to the database's
  integer range: a larger id matches nothing (404, like any unknown id).
* Dates: the supported calendar is :data:`FIRST_DAY`–:data:`LAST_DAY`. Forms use
  :func:`supported_date`, query strings :func:`parse_day`, instants
  :func:`supported_instant` (a session must start and end inside).
* Text: :func:`max_length` gives a form field the length of the column it fills.
* Money: :class:`MoneyField` takes finite amounts only; :data:`MAX_MINOR_UNITS` is what
  the integer columns of amounts hold.
* Time zones: :func:`known_timezone` checks a field against the time zone database.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.routing import IntegerConverter
from wtforms import DecimalField, Field
from wtforms.validators import Length, StopValidation, ValidationError

from core.i18n import is_valid_timezone

#: The largest value of the INTEGER columns (ids, amounts in minor units) on PostgreSQL.
MAX_DB_INTEGER = 2**31 - 1
MAX_MINOR_UNITS = MAX_DB_INTEGER
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
_FIRST_INSTANT = datetime(FIRST_DAY.year, 1, 1, tzinfo=UTC)
_END_INSTANT = datetime(LAST_DAY.year + 1, 1, 1, tzinfo=UTC)
#: A typed amount beyond this is refused before it is even converted (no giant numbers).
_MAX_TYPED_AMOUNT = Decimal(10) ** 12
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# -- requests ---------------------------------------------------------------------------


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:…>``: a number the database's integer columns can hold, else no match (404)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DB_INTEGER)
        super().__init__(*args, **kwargs)


def db_int(text: Any) -> int:
    """An id or page number read from a query or a hidden field: a whole number the
    database's integer columns hold. Anything else raises ``ValueError`` (with Flask's
    ``request.args.get(name, type=db_int)`` that means "absent")."""
    value = int(str(text).strip())
    if not 0 <= value <= MAX_DB_INTEGER:
        raise ValueError(f"{value} is outside the database's integer range")
    return value


def _has_nul(values: Iterable[Any]) -> bool:
    return any("\x00" in value for value in values if isinstance(value, str))


def refuse_nul_bytes() -> None:
    """400 when any part of the request a view may read carries a NUL byte.

    Views that check a signature on their raw body (webhooks: ``raw_body``, set by
    ``core.api.csrf_exempt``) keep it unparsed; their path and query string are checked.
    """
    if "\x00" in request.path or _has_nul(
        part for pair in request.args.items(multi=True) for part in pair
    ):
        abort(400, _nul_message())
    view = current_app.view_functions.get(request.endpoint or "")
    if request.mimetype not in _FORM_TYPES or getattr(view, "raw_body", False):
        return
    names = (upload.filename for _key, upload in request.files.items(multi=True))
    if _has_nul(part for pair in request.form.items(multi=True) for part in pair) or _has_nul(
        [*request.files.keys(), *names]
    ):
        abort(400, _nul_message())


def _nul_message() -> str:
    return _(
        "The request contains a NUL character (\\0), which no field accepts. "
        "Remove it and send the form again."
    )


def init_app(app: Flask) -> None:
    """Before any route is added: bound integer URL parts; then guard every request."""
    app.url_map.converters["int"] = DatabaseIntegerConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)


# -- dates ------------------------------------------------------------------------------


def supported_day(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def supported_instant(instant: datetime) -> bool:
    return _FIRST_INSTANT <= instant < _END_INSTANT


def date_range_message() -> str:
    return _(
        "Dates must be between %(first)s and %(last)s.",
        first=FIRST_DAY.year,
        last=LAST_DAY.year,
    )


class DateOutOfRange(ValueError):
    """A well-formed date outside the supported calendar."""


def parse_day(text: str | None) -> date | None:
    """An ISO date from a query string: None when absent or not a date.

    Raises :class:`DateOutOfRange` (with a message for the user) outside the calendar.
    """
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    if not supported_day(day):
        raise DateOutOfRange(date_range_message())
    return day


def supported_date(form: FlaskForm, field: Field) -> None:
    """WTForms validator of every date field: inside the supported calendar."""
    if isinstance(field.data, date) and not supported_day(field.data):
        raise ValidationError(date_range_message())


# -- text -------------------------------------------------------------------------------


def column_length(attribute: InstrumentedAttribute[Any]) -> int:
    """The declared length of a String column (``User.email`` → 254)."""
    length = attribute.property.columns[0].type.length
    if length is None:
        raise TypeError(f"{attribute} has no length")
    return int(length)


def max_length(attribute: InstrumentedAttribute[Any]) -> Length:
    """A ``Length`` validator for a field stored in ``attribute``'s column."""
    return Length(max=column_length(attribute))


# -- money ------------------------------------------------------------------------------


class MoneyField(DecimalField):
    """An amount typed by a person: finite, and far from what would overflow a column.

    "Infinity", "NaN", "sNaN" or "1e309" are refused with a message; whether the amount
    fits the column once in minor units is the service's check (:data:`MAX_MINOR_UNITS`).
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        value = self.data
        if isinstance(value, Decimal) and (
            not value.is_finite() or abs(value) >= _MAX_TYPED_AMOUNT
        ):
            self.data = None
            raise ValueError(_("Enter an amount such as 45.00."))

    def pre_validate(self, form: FlaskForm) -> None:
        typed = bool(self.raw_data and str(self.raw_data[0]).strip())
        if self.process_errors and typed:  # one clear message, not another from NumberRange
            raise StopValidation()  # (left empty, ``Optional()`` decides, as for any field)


# -- time zones -------------------------------------------------------------------------


def known_timezone(form: FlaskForm, field: Field) -> None:
    """WTForms validator: empty, or a zone of the time zone database (Europe/Paris)."""
    if field.data and not is_valid_timezone(field.data):
        raise ValidationError(
            _("“%(name)s” is not a known time zone (for example Europe/Paris).", name=field.data)
        )


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host: nothing else may be put in front of a client."""
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url.strip()


def web_link(_form: FlaskForm, field: Field) -> None:
    """WTForms validator of a video link: said with the form's other errors, not after them."""
    if field.data and not is_web_url(field.data):
        raise ValidationError(_l("The video link must start with http:// or https://."))
