"""Language and time zone of the current viewer, and the filters that format for them.

Instants are stored in UTC; they are shown in the viewer's own time zone when set,
else the site's. Money is integer minor units plus an ISO currency code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import format_currency, get_currency_precision
from flask import Flask, has_request_context, request
from flask_babel import format_date, format_datetime, format_time, get_locale
from flask_login import current_user

from core.settings import get_option

LANGUAGES = {"en": "English", "fr": "Français"}


def select_locale() -> str:
    if has_request_context():
        if current_user.is_authenticated and current_user.locale in LANGUAGES:
            return current_user.locale  # type: ignore[no-any-return]
        best = browser_locale()
        if best:
            return best
    return "en"


def browser_locale() -> str | None:
    """The site language the browser's Accept-Language prefers, if it names one."""
    return request.accept_languages.best_match(list(LANGUAGES))


def site_timezone() -> ZoneInfo:
    return zone(get_option("general.timezone"))


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def select_timezone() -> str:
    """The viewer's zone, else the site's, else UTC: a stored name that is no (longer a)
    zone never breaks a page."""
    if has_request_context() and current_user.is_authenticated:
        own = current_user.timezone
        if own and is_valid_timezone(own):
            return str(own)
    site = str(get_option("general.timezone"))
    return site if is_valid_timezone(site) else "UTC"


@cache
def timezone_names() -> frozenset[str]:
    """Zones both zoneinfo and Flask-Babel (pytz) know; listing them reads the disk once."""
    from pytz import all_timezones_set

    return frozenset(available_timezones() & set(all_timezones_set))


def is_valid_timezone(name: str | None) -> bool:
    return name in timezone_names()


def to_minor(amount: Decimal, currency: str) -> int:
    """45.5, EUR → 4550. Refuses (ValueError) what is not a finite amount."""
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    return int((amount * (10 ** get_currency_precision(currency))).to_integral_value())


def parse_amount(text: str | None, currency: str) -> int | None:
    """A positive amount typed by a person ("45", "45.5", "45,50") in minor units.

    None when it is not one: empty, not a number, not finite, zero or negative, or
    finer than the currency's smallest unit.
    """
    cleaned = (text or "").strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value.adjusted() > 15:
        return None
    try:
        minor = value.scaleb(get_currency_precision(currency))
    except ArithmeticError:  # "1e-999999999": beyond what decimals can scale
        return None
    return int(minor) if minor > 0 and minor == minor.to_integral_value() else None


def amount_field(amount: int, currency: str) -> str:
    """Minor units as a form field's value: 4550, EUR → "45.50" (what parse_amount reads)."""
    return f"{from_minor(amount, currency):.{get_currency_precision(currency)}f}"


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount) / (10 ** get_currency_precision(currency))


def money(amount: int | None, currency: str = "EUR") -> str:
    """Format minor units for the viewer's language: 4500, EUR → '€45.00' / '45,00 €'."""
    if amount is None:
        return ""
    return format_currency(from_minor(amount, currency), currency, locale=str(get_locale() or "en"))


def _date_filter(formatter: Callable[..., str], default_format: str) -> Callable[..., str]:
    """A template filter in the viewer's zone; an instant too close to the calendar's end
    to move there (stored before dates were checked) is shown as stored instead of failing."""

    def format_value(value: date | None, fmt: str = default_format) -> str:
        if not value:
            return ""
        try:
            return formatter(value, fmt)
        except OverflowError:
            return formatter(value, fmt, rebase=False)

    return format_value


def local_time(instant: datetime, tz: ZoneInfo) -> datetime:
    """``instant`` in ``tz``; in UTC when it lies too close to the calendar's end to move."""
    try:
        return instant.astimezone(tz)
    except OverflowError:
        return instant.astimezone(UTC)


#: The one date style people read, in every language: weekday, day, month name, year
#: ("Fri 25 Dec 2026", "ven. 25 déc. 2026"); never an ambiguous numeric one.
DATE_PATTERN = "EEE d MMM y"


def when(moment: datetime | date | None, *, year: bool = True) -> str:
    """An instant as people read it: 'Fri 25 Dec 2026, 10:00 AM' (a date alone: no time).

    ``year=False`` drops the year where the context makes it plain (a card about the
    coming days). Shown in the viewer's time zone and language, like every filter here.
    """
    if moment is None:
        return ""
    pattern = DATE_PATTERN if year else "EEE d MMM"
    if not isinstance(moment, datetime):
        return format_date(moment, pattern)
    try:
        return f"{format_date(moment, pattern)}, {format_time(moment, 'short')}"
    except OverflowError:  # too close to the calendar's end to move to the viewer's zone
        day = format_date(moment, pattern, rebase=False)
        return f"{day}, {format_time(moment, 'short', rebase=False)}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        datetime=_date_filter(format_datetime, "medium"),
        date=_date_filter(format_date, "medium"),
        time=_date_filter(format_time, "short"),
        when=when,
        money=money,
        amount_field=amount_field,
    )
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)


def translation_directories(core_root: Path) -> list[str]:
    """The core's catalog plus one per area that has its own."""
    return [str(p) for p in sorted(core_root.glob("**/translations")) if p.is_dir()]
