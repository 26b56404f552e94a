"""Per-request formatting (core.i18n.Formats): Flask-Babel's texts, each made once a request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from babel import numbers
from flask import Flask, render_template_string
from flask_babel import force_locale, format_date, format_datetime, format_time

from core import i18n
from core.i18n import money, when
from tests.helpers import set_options

INSTANTS = [
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # the night Paris moves to summer time
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # and back
    datetime(2026, 12, 25, 9, 0),  # naive: read as UTC
    datetime(9999, 12, 31, 23, 30, tzinfo=UTC),  # cannot move east of UTC: shown as stored
]
FORMATS = {
    "date": ("short", "medium", "long", "full", "EEE d MMM y", "MMM yy"),
    "time": ("short", "medium", "long", "full", "HH:mm"),
    "datetime": ("short", "medium", "long", "full", "EEE d MMM y, HH:mm"),
}


def flask_babel_text(kind: str, value: Any, fmt: str) -> str:
    """What the filters printed when they called Flask-Babel for every value."""
    formatter = {"date": format_date, "time": format_time, "datetime": format_datetime}[kind]
    try:
        return str(formatter(value, fmt))
    except OverflowError:
        return str(formatter(value, fmt, rebase=False))


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Tokyo"])
def test_filters_print_what_flask_babel_prints(app: Flask, zone: str) -> None:
    set_options(app, general__timezone=zone)
    filters = app.jinja_env.filters
    with app.test_request_context():
        for language in ("en", "fr"):
            with force_locale(language):
                for kind, patterns in FORMATS.items():
                    for value in INSTANTS:
                        for fmt in patterns:
                            expected = flask_babel_text(kind, value, fmt)
                            assert filters[kind](value, fmt) == expected, (kind, value, fmt)
                for fmt in FORMATS["date"]:
                    assert filters["date"](date(2026, 12, 25), fmt) == format_date(
                        date(2026, 12, 25), fmt
                    )


def test_money_prints_what_babel_prints(app: Flask) -> None:
    cases = [(4500, "EUR"), (4550, "CHF"), (123456789, "USD"), (500, "JPY"), (0, "EUR")]
    with app.test_request_context():
        for language in ("en", "fr"):
            with force_locale(language):
                for amount, currency in cases:
                    value = i18n.from_minor(amount, currency)
                    expected = numbers.format_currency(value, currency, locale=language)
                    assert money(amount, currency) == expected
        assert money(None) == ""


def counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Replace ``owner.name`` with a wrapper that records its calls; returns the record."""
    calls: list[Any] = []
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def test_each_text_is_made_once_per_request(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    prices = counting(monkeypatch, i18n, "format_currency")
    days = counting(monkeypatch, i18n.dates, "format_date")
    hours = counting(monkeypatch, i18n.dates, "format_time")
    christmas = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
    with app.test_request_context():
        texts = {(money(4500, "EUR"), when(christmas)) for _ in range(100)}
    assert texts == {("€45.00", "Fri 25 Dec 2026, 10:00\u202fAM")}
    assert (len(prices), len(days), len(hours)) == (1, 1, 1)
    with app.test_request_context():  # a new request starts afresh: nothing kept across
        money(4500, "EUR")
    assert len(prices) == 2


def test_a_request_switching_language_gets_each_language(app: Flask) -> None:
    """force_locale (emails, receipts) inside a request: texts follow the language."""
    template = '{{ _("Client") }} {{ 4500|money("EUR") }} {{ _("Refunded %(amount)s", amount=x) }}'
    with app.test_request_context():
        english = render_template_string(template, x="<b>")
        with force_locale("fr"):
            french = render_template_string(template, x="<b>")
            assert money(4500, "EUR") == "45,00\u00a0€"
        assert render_template_string(template, x="<b>") == english
    assert english.startswith("Client €45.00 Refunded &lt;b&gt;")
    assert french.startswith("Client 45,00\u00a0€ Remboursé")
    assert "&lt;b&gt;" in french


def test_each_visitor_gets_their_own_language(app: Flask) -> None:
    """Requests one after another in different languages never share a text."""
    template = "{{ _('Sessions') }}|{{ 4500|money('EUR') }}|{{ day|when }}"
    seen = []
    for language in ("en", "fr", "en"):
        headers = {"Accept-Language": language}
        with app.test_request_context(headers=headers):
            seen.append(render_template_string(template, day=date(2026, 12, 25)))
    assert seen[0] == seen[2] == "Sessions|€45.00|Fri 25 Dec 2026"
    assert seen[1] == "Séances|45,00\u00a0€|ven. 25 déc. 2026"


def test_money_outside_any_app_is_english() -> None:
    assert money(4500, "EUR") == "€45.00"
    assert i18n.Formats(i18n.Locale.parse("fr")).money(4500, "EUR") == "45,00\u00a0€"
    assert Decimal("45.00") == i18n.from_minor(4500, "EUR")


def test_template_gettext_escapes_as_jinja_s_own(app: Flask) -> None:
    """Variables are escaped, "%%" is a percent sign, {% trans %} blocks work, with and
    without autoescaping (Jinja's new-style gettext rules)."""
    source = (
        "{{ _('Client') }}|{{ _('50%% off') }}|{{ _('Hi %(n)s', n=x) }}"
        "|{% trans n=x %}Hello {{ n }}, 100%{% endtrans %}"
        "|{{ gettext('Client') }}|{{ ngettext('%(num)d day', '%(num)d days', 2) }}"
    )
    with app.test_request_context():
        escaped = render_template_string(source, x="<b>")
        plain = app.jinja_env.from_string("{% autoescape false %}" + source + "{% endautoescape %}")
        unescaped = plain.render(x="<b>")
    assert escaped == ("Client|50% off|Hi &lt;b&gt;|Hello &lt;b&gt;, 100%|Client|2 days")
    assert unescaped == "Client|50% off|Hi <b>|Hello <b>, 100%|Client|2 days"
