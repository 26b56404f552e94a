"""Hostile input, case by case: each one gets a clear message or a 404, and changes nothing.

The cases reported against the demo site on SQLite and PostgreSQL: dates at the edges of
the calendar, NUL bytes, ids beyond the database's integer range, prices that are no
numbers or too large, link labels and addresses longer than their columns, and blank or
unknown time zones. ``test_hostile_walk.py`` walks every route and form; these pin the
reported cases with their messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from core.accounts.models import User
from core.db import db
from core.emails.models import OutboxEmail
from core.sessions.models import CoachingSession, SessionLink
from tests.conftest import login, post
from tests.helpers import set_options
from tests.test_coach_editor import form_data
from tests.test_coach_support import add_session, coach_with_client
from tests.test_hostile_support import fingerprint

RANGE = "Dates must be between 1900 and 2200."
NUL_MESSAGE = "NUL character"


@pytest.fixture
def desk(app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]) -> Any:
    """A signed-in coach's browser, the coach, their client, and the client's own browser."""
    browser, coach, client = coach_with_client(app, as_role, make_user)
    client_browser = app.test_client()
    assert login(app, client_browser, client).status_code == 302
    return browser, coach, client, client_browser


def sessions_stored(app: Flask) -> int:
    with app.app_context():
        return int(db.scalar(select(func.count()).select_from(CoachingSession)) or 0)


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)  # type: ignore[no-any-return]


# -- dates at the edges of the calendar -------------------------------------------------


def test_a_session_stored_on_the_calendars_last_day_still_shows_everywhere(
    app: Flask, desk: Any
) -> None:
    """Stored before dates were checked: 9999-12-31, a whole day. It ends past year 9999."""
    browser, coach, client, client_browser = desk
    sid = add_session(
        app,
        coach.id,
        client.id,
        title="Last day",
        starts_at=datetime(9999, 12, 31, 10, tzinfo=UTC),
        duration_minutes=1440,
    )
    with app.app_context():
        db.add(SessionLink(session_id=sid, label="Plan", url="https://example.com/plan"))
        db.commit()
    for page in ("/accueil-client/sessions", "/accueil-client/payments"):
        response = client_browser.get(page)
        assert response.status_code == 200 and "Last day" in text_of(response), page
    ics = client_browser.get(f"/accueil-client/sessions/{sid}.ics")
    assert ics.status_code == 200
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event["DTSTART"].dt == datetime(9999, 12, 31, 10, tzinfo=UTC)
    assert event["DTEND"].dt.year == 9999  # as late as a calendar can say
    post(app, client_browser, "/accueil-client/profile", {"action": "feed-create"})
    with app.app_context():
        token = db.get(User, client.id).calendar_token  # type: ignore[union-attr]
    feed = app.test_client().get(f"/calendar/{token}.ics")
    assert feed.status_code == 200 and b"Last day" in feed.data
    for page in (f"/customer/{client.id}/sessions", f"/coach/sessions/{sid}", "/accueil-coach"):
        assert browser.get(page).status_code == 200, page
    # The coach cancels it: the client's email shows its times too.
    assert (
        post(app, browser, f"/coach/sessions/{sid}/status", {"status": "cancelled"}).status_code
        == 302
    )
    with app.app_context():
        email = db.scalar(select(OutboxEmail).where(OutboxEmail.session_id == sid))
        assert email is not None and "Last day" in email.subject + email.body_text


@pytest.mark.parametrize(
    ("day", "start", "minutes"),
    [
        ("9999-12-31", "23:00", "1440"),  # the report: it would end in year 10000
        ("2200-12-31", "23:30", "180"),  # starts inside, ends outside
        ("0001-01-01", "00:00", "60"),
        ("1899-12-31", "12:00", "60"),
    ],
)
def test_the_editor_refuses_a_session_outside_the_calendar(
    app: Flask, desk: Any, day: str, start: str, minutes: str
) -> None:
    browser, _coach, client, _ = desk
    before = fingerprint(app)
    data = form_data(client.id, day=day, start=start, duration_minutes=minutes)
    response = post(app, browser, "/coach/sessions/new", data)
    assert response.status_code == 200 and RANGE in text_of(response)
    assert fingerprint(app) == before


def test_the_last_hours_of_the_calendar_are_still_bookable(app: Flask, desk: Any) -> None:
    browser, _coach, client, _ = desk
    data = form_data(client.id, day="2200-12-31", start="10:00", duration_minutes="60")
    assert post(app, browser, "/coach/sessions/new", data).status_code == 302
    data = form_data(client.id, day="1900-01-01", start="10:00", duration_minutes="60")
    assert post(app, browser, "/coach/sessions/new", data).status_code == 302
    assert sessions_stored(app) == 2


def test_a_payment_date_outside_the_calendar_is_refused(app: Flask, desk: Any) -> None:
    browser, coach, client, _ = desk
    sid = add_session(app, coach.id, client.id)
    before = fingerprint(app)
    data = {"payment_status": "paid", "payment_method": "cash", "paid_on": "0001-01-01"}
    response = post(app, browser, f"/coach/sessions/{sid}/payment", data)
    assert response.status_code == 302
    assert fingerprint(app) == before
    page = text_of(browser.get(response.headers["Location"]))
    assert "Choose a valid payment status, method and date." in page


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_calendar_and_filters_at_the_edges_say_so(
    app: Flask, desk: Any, as_role: Callable[..., Any], day: str
) -> None:
    browser, *_ = desk
    for view in ("month", "week"):
        response = browser.get(f"/calendrier-seances?view={view}&date={day}")
        assert response.status_code == 200 and RANGE in text_of(response)
    assert browser.get(f"/coach/sessions/new?date={day}").status_code == 200
    set_options(app, setup__completed=True)
    admin, _ = as_role("admin")
    response = admin.get(f"/admin/sessions?start={day}&end={day}")
    assert response.status_code == 200 and RANGE in text_of(response)


# -- NUL bytes ------------------------------------------------------------------------------


def test_a_nul_byte_is_refused_before_anything_reads_it(app: Flask, desk: Any) -> None:
    """PostgreSQL cannot store one; on SQLite it would be stored. Either way: a 400."""
    browser, _coach, client, client_browser = desk
    anonymous = app.test_client()
    before = fingerprint(app)
    answers = [
        post(app, anonymous, "/connexion", {"email": "a\x00@example.test", "password": "x"}),
        post(app, anonymous, "/password/forgot", {"email": "a\x00@example.test"}),
        browser.get("/mes-clients?q=Mar%00tin"),
        browser.get("/mes-clients?q\x00=x"),
        client_browser.get("/accueil-client/sess%00ions"),
        post(app, browser, "/mes-clients/new", {"first_name": "A\x00", "last_name": "B"}),
        post(app, browser, "/coach/sessions/new", form_data(client.id, title="Yoga\x00")),
        post(app, client_browser, "/accueil-client/profile", {"action": "details", "x\x00": ""}),
    ]
    for response in answers:
        assert response.status_code == 400, response.request.path
        assert NUL_MESSAGE in text_of(response)
    assert fingerprint(app) == before


# -- ids beyond the database's integer range ------------------------------------------------


@pytest.mark.parametrize("big", [2**31, 2**63, 10**30])
def test_ids_beyond_the_integer_range_are_not_found(app: Flask, desk: Any, big: int) -> None:
    browser, _coach, _client, client_browser = desk
    for url in (
        f"/coach/sessions/{big}",
        f"/coach/sessions/{big}/delete",
        f"/customer/{big}/contact",
        f"/receipts/{big}.pdf",
        f"/documents/{big}",
    ):
        assert browser.get(url).status_code == 404, url
    assert client_browser.get(f"/accueil-client/sessions/{big}.ics").status_code == 404
    assert post(app, browser, f"/coach/sessions/{big}/status", {"status": "x"}).status_code == 404


# -- prices -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("Infinity", "Enter an amount such as 45.00."),
        ("-Infinity", "Enter an amount such as 45.00."),
        ("NaN", "Enter an amount such as 45.00."),
        ("sNaN", "Enter an amount such as 45.00."),
        ("1e309", "Enter an amount such as 45.00."),
        ("99999999999999999999", "Enter an amount such as 45.00."),
        ("21474836.48", "The price is too large."),  # one cent above what the column holds
    ],
)
def test_prices_that_are_no_amounts_or_too_large_are_refused(
    app: Flask, desk: Any, price: str, message: str
) -> None:
    browser, _coach, client, _ = desk
    response = post(app, browser, "/coach/sessions/new", form_data(client.id, price=price))
    assert response.status_code == 200 and message in text_of(response)
    assert sessions_stored(app) == 0


def test_the_largest_price_the_column_holds_and_no_price_are_accepted(
    app: Flask, desk: Any
) -> None:
    browser, _coach, client, _ = desk
    for price in ("21474836.47", "", "  "):
        response = post(app, browser, "/coach/sessions/new", form_data(client.id, price=price))
        assert response.status_code == 302, text_of(response)
    with app.app_context():
        prices = db.scalars(select(CoachingSession.price_amount).order_by(CoachingSession.id))
        assert list(prices) == [2**31 - 1, None, None]


# -- text longer than its column ------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"link_label": ["x" * 201], "link_url": ["https://example.com/"]},
        {"link_label": ["Plan"], "link_url": ["https://example.com/" + "a" * 481]},
        {"title": "x" * 201},
        {"location": "x" * 256},
    ],
)
def test_text_longer_than_its_column_is_refused(app: Flask, desk: Any, fields: Any) -> None:
    browser, _coach, client, _ = desk
    response = post(app, browser, "/coach/sessions/new", form_data(client.id, **fields))
    assert response.status_code == 200
    assert "characters" in text_of(response)  # "at most n characters", field by field
    assert sessions_stored(app) == 0


def test_text_as_long_as_its_column_is_kept_whole(app: Flask, desk: Any) -> None:
    browser, _coach, client, _ = desk
    url = "https://example.com/" + "a" * 480
    data = form_data(client.id, title="t" * 200, link_label=["l" * 200], link_url=[url])
    assert post(app, browser, "/coach/sessions/new", data).status_code == 302
    with app.app_context():
        link = db.scalar(select(SessionLink))
        assert link is not None and (link.label, link.url) == ("l" * 200, url)


def test_contact_fields_take_their_length_from_the_columns(app: Flask, desk: Any) -> None:
    browser, _coach, client, _ = desk
    before = fingerprint(app)
    data = {"first_name": "A", "last_name": "B", "email": client.email, "phone": "1" * 41}
    response = post(app, browser, f"/customer/{client.id}/contact", {**data, "action": "save"})
    assert response.status_code == 200 and "40 characters" in text_of(response)
    assert fingerprint(app) == before


# -- time zones ------------------------------------------------------------------------------


def _details(client: User, **changes: str) -> dict[str, str]:
    data = {
        "action": "details",
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email,
        "phone": "",
        "timezone": "",
        "locale": "",
    }
    return {**data, **changes}


def every_client_page_opens(app: Flask, client_browser: FlaskClient, sid: int) -> None:
    for page in (
        "/accueil-client/sessions",
        "/accueil-client/payments",
        "/accueil-client/history",
        "/accueil-client/profile",
        f"/accueil-client/sessions/{sid}/cancel",
        f"/accueil-client/sessions/{sid}.ics",
    ):
        assert client_browser.get(page).status_code == 200, page


@pytest.mark.parametrize("blank", ["", " ", "   \t "])
def test_a_blank_time_zone_means_the_sites_and_every_page_still_opens(
    app: Flask, desk: Any, blank: str
) -> None:
    _browser, coach, client, client_browser = desk
    sid = add_session(app, coach.id, client.id, starts_at=datetime(2030, 1, 15, 9, tzinfo=UTC))
    with app.app_context():
        db.get(User, client.id).timezone = "America/New_York"  # type: ignore[union-attr]
        db.commit()
    response = post(
        app, client_browser, "/accueil-client/profile", _details(client, timezone=blank)
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.get(User, client.id).timezone is None  # type: ignore[union-attr]
    every_client_page_opens(app, client_browser, sid)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Factory", "localtime", "x" * 300])
def test_an_unknown_time_zone_is_refused(app: Flask, desk: Any, zone: str) -> None:
    _browser, _coach, client, client_browser = desk
    before = fingerprint(app)
    response = post(app, client_browser, "/accueil-client/profile", _details(client, timezone=zone))
    assert response.status_code == 200 and "Not a valid choice" in text_of(response)
    assert fingerprint(app) == before


def test_a_language_that_is_no_choice_is_refused(app: Flask, desk: Any) -> None:
    _browser, _coach, client, client_browser = desk
    response = post(
        app, client_browser, "/accueil-client/profile", _details(client, locale=" " * 11)
    )
    assert response.status_code == 302  # blank: the browser's language
    response = post(app, client_browser, "/accueil-client/profile", _details(client, locale="xx"))
    assert response.status_code == 200
    with app.app_context():
        assert db.get(User, client.id).locale is None  # type: ignore[union-attr]


@pytest.mark.parametrize("stored", [" ", "Mars/Olympus", "Factory", "Europe/Paris "])
def test_a_stored_zone_that_is_no_zone_falls_back_to_the_sites(
    app: Flask, desk: Any, stored: str
) -> None:
    """Written before zones were checked (or by hand): pages use the site's zone instead."""
    _browser, coach, client, client_browser = desk
    sid = add_session(app, coach.id, client.id, starts_at=datetime(2030, 1, 15, 9, tzinfo=UTC))
    set_options(app, general__timezone="Asia/Tokyo")
    with app.app_context():
        db.get(User, client.id).timezone = stored  # type: ignore[union-attr]
        db.commit()
    every_client_page_opens(app, client_browser, sid)
    assert "6:00\u202fPM" in text_of(client_browser.get("/accueil-client/sessions"))  # Tokyo


def test_the_fingerprint_these_tests_compare_sees_any_write(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    """The refusal tests (and the hostile walk) compare fingerprints: one that missed a
    write would let every one of them pass."""
    user = make_user("client")
    before = fingerprint(app)
    assert fingerprint(app) == before
    set_options(app, general__site_name="Renamed")
    renamed = fingerprint(app)
    assert renamed != before
    with app.app_context():
        db.get(User, user.id).phone = "+33 6 00 00 00 00"  # type: ignore[union-attr]
        db.commit()
    assert fingerprint(app) != renamed
