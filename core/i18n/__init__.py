"""Language and time zone of the current viewer, and the filters that format for them.

Instants are stored in UTC; they are shown in the viewer's own time zone when set,
else the site's. Money is integer minor units plus an ISO currency code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, dates
from babel.numbers import format_currency, get_currency_precision
from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request
from flask_babel import get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

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


class Formats:
    """Dates, times, money and messages in one language, for the rest of one request.

    A page repeats the same labels, prices, days and hours on every row, and each
    Flask-Babel call finds the locale, the zone, the catalog and the pattern again (tens
    of microseconds, times a thousand on a long page). Here the locale and the catalog
    are found once per request and language, Babel is called with them directly, and
    each text is kept for the rest of the request, keyed on its inputs (value, pattern,
    zone): a request never sees another's texts, and nothing outlives it (``flask.g``).
    """

    def __init__(self, locale: Locale) -> None:
        self.locale = locale
        self._catalog: NullTranslations | None = None
        self._texts: dict[tuple[Any, ...], str] = {}
        self._zones: dict[tzinfo, tzinfo] = {}

    @property
    def catalog(self) -> NullTranslations:
        """Flask-Babel's translations for this language (its core domain)."""
        if self._catalog is None:
            self._catalog = get_translations()
        return self._catalog

    def gettext(self, message: str) -> str:
        return str(self.catalog.ugettext(message))

    def ngettext(self, singular: str, plural: str, num: int) -> str:
        return str(self.catalog.ungettext(singular, plural, num))

    def message(self, message: str, markup: bool) -> str:
        """A template's message without variables as Jinja's new-style gettext returns it
        (a format string even so: "%%" is "%"; Markup when autoescaping), made once."""
        key = ("message", message, markup)
        text = self._texts.get(key)
        if text is None:
            translated = self.gettext(message)
            made = Markup(translated) if markup else translated  # noqa: S704 (as Jinja does)
            text = self._texts[key] = made % {}
        return text

    def money(self, amount: int, currency: str) -> str:
        key = ("money", amount, currency)
        text = self._texts.get(key)
        if text is None:
            value = from_minor(amount, currency)
            text = self._texts[key] = format_currency(value, currency, locale=self.locale)
        return text

    def instant(self, kind: str, value: date, fmt: str, zone: tzinfo | None = None) -> str:
        """``value`` as Flask-Babel's ``format_<kind>`` (date, time or datetime) shows it:
        a datetime moved to the viewer's zone (``zone``, else looked up), a naive one read
        as UTC. An instant too close to the calendar's end to move there is shown as stored
        instead."""
        zone = zone if zone is not None else get_timezone()
        key = (kind, value, fmt, zone)
        text = self._texts.get(key)
        if text is None:
            try:
                text = self._format(kind, value, fmt, self._zoneinfo(zone))
            except OverflowError:
                text = self._format(kind, value, fmt, None)
            self._texts[key] = text
        return text

    def _zoneinfo(self, zone: tzinfo) -> tzinfo:
        """Flask-Babel's (pytz) zone as the zoneinfo zone of the same name: the same rules,
        and moving an instant there costs a twentieth of pytz's ``normalize``."""
        found = self._zones.get(zone)
        if found is None:
            name = getattr(zone, "zone", None)
            found = self._zones[zone] = ZoneInfo(name) if is_valid_timezone(name) else zone
        return found

    def _format(self, kind: str, value: date, fmt: str, zone: tzinfo | None) -> str:
        if kind == "time":
            return dates.format_time(value, fmt, tzinfo=zone, locale=self.locale)  # type: ignore[arg-type]
        if kind == "datetime":
            return dates.format_datetime(value, fmt, tzinfo=zone, locale=self.locale)
        if zone is not None and isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
        return dates.format_date(value, fmt, locale=self.locale)


def formats() -> Formats:
    """The current language's :class:`Formats`: one per request and language (the worker
    renders emails in several languages in one context, with ``force_locale``)."""
    locale = get_locale()
    if locale is None:  # outside any app: nothing to keep it in
        return Formats(Locale.parse("en"))
    made: dict[Locale, Formats] = g.setdefault("_i18n_formats", {})
    found = made.get(locale)
    if found is None:
        found = made[locale] = Formats(locale)
    return found


@pass_context
def template_gettext(context: Context, message: str, **variables: Any) -> str:
    """Jinja's new-style ``gettext`` (``jinja2.ext._make_new_gettext``) over :class:`Formats`:
    the translation is a format string, a Markup when autoescaping (which escapes the
    variables); without variables, made once per request."""
    markup = context.eval_ctx.autoescape
    if not variables:
        return formats().message(message, markup)
    text = formats().gettext(message)
    made = Markup(text) if markup else text  # noqa: S704 (a translation, as Jinja does)
    return made % variables  # type: ignore[no-any-return]


@pass_context
def template_ngettext(
    context: Context, singular: str, plural: str, num: int, **variables: Any
) -> str:
    """Jinja's new-style ``ngettext`` over :class:`Formats` (``num`` is a variable too)."""
    variables.setdefault("num", num)
    text = formats().ngettext(singular, plural, num)
    made = Markup(text) if context.eval_ctx.autoescape else text  # noqa: S704 (as Jinja does)
    return made % variables  # type: ignore[no-any-return]


def money(amount: int | None, currency: str = "EUR") -> str:
    """Format minor units for the viewer's language: 4500, EUR → '€45.00' / '45,00 €'."""
    if amount is None:
        return ""
    return formats().money(amount, currency)


def _date_filter(kind: str, default_format: str) -> Callable[..., str]:
    """A template filter in the viewer's zone (see :meth:`Formats.instant`)."""

    def format_value(value: date | None, fmt: str = default_format) -> str:
        return formats().instant(kind, value, fmt) if value else ""

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
    found, zone = formats(), get_timezone()
    day = found.instant("date", moment, DATE_PATTERN if year else "EEE d MMM", zone)
    if not isinstance(moment, datetime):
        return day
    return f"{day}, {found.instant('time', moment, 'short', zone)}"


def init_app(app: Flask) -> None:
    """The filters, and the templates' ``_``, ``gettext`` and ``ngettext`` through
    :class:`Formats` (after Flask-Babel's ``init_app``, which set up Jinja's new-style
    gettext: these replace its callables, same escaping, same catalogs).

    ``_`` is :func:`template_gettext` itself rather than Jinja's alias that looks
    ``gettext`` up at each call (a page calls it hundreds of times): a template context
    that brings its own catalog sets both names (``core.plugins.translations``).
    """
    app.jinja_env.globals.update(
        _=template_gettext, gettext=template_gettext, ngettext=template_ngettext
    )
    app.jinja_env.filters.update(
        datetime=_date_filter("datetime", "medium"),
        date=_date_filter("date", "medium"),
        time=_date_filter("time", "short"),
        when=when,
        money=money,
        amount_field=amount_field,
    )
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)


def translation_directories(core_root: Path) -> list[str]:
    """The core's catalog plus one per area that has its own."""
    return [str(p) for p in sorted(core_root.glob("**/translations")) if p.is_dir()]
