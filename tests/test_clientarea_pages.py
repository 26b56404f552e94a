"""The client area: who reaches it, each tab, cancelling, calendar files, profile, cards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select

from core.accounts.models import Role, User
from core.accounts.passwords import verify_password
from core.db import db, utcnow
from core.payments.service import record_payment
from core.sessions.models import CoachingSession, SessionLink
from core.settings import set_option
from tests.conftest import PASSWORD, login, post
from tests.helpers import set_options

AREA = "/accueil-client"


def add_session(app: Flask, client: User, coach: User, **fields: Any) -> int:
    """Commit one session (defaults: in three days, 60 min, €50, booked) and return its id."""
    values: dict[str, Any] = {
        "title": "Coaching",
        "starts_at": utcnow().replace(second=0, microsecond=0) + timedelta(days=3),
        "duration_minutes": 60,
        "price_amount": 5000,
        "currency": "EUR",
        "status": "booked",
    }
    paid = fields.pop("paid", False)
    links = fields.pop("links", [])
    values.update(fields)
    with app.app_context():
        session = CoachingSession(coach_id=coach.id, client_id=client.id, **values)
        db.add(session)
        db.flush()
        for position, (label, url) in enumerate(links):
            db.add(SessionLink(session_id=session.id, label=label, url=url, position=position))
        if paid:
            record_payment(session, method="transfer")
        db.commit()
        return session.id


def load(app: Flask, session_id: int) -> CoachingSession:
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        assert session is not None
        return session


@pytest.fixture
def people(
    as_role: Callable[..., tuple[FlaskClient, User]], make_user: Callable[..., User]
) -> tuple[FlaskClient, User, User]:
    """A signed-in client, and a coach with a phone number."""
    browser, client = as_role(Role.CLIENT, first_name="Chloé", last_name="Martin")
    coach = make_user(Role.COACH, phone="+33 6 12 34 56 78", first_name="Paul")
    return browser, client, coach


# -- who reaches the client area --------------------------------------------


def test_visitor_is_sent_to_login_and_back(app: Flask, client: FlaskClient, make_user) -> None:
    response = client.get(AREA + "/history")
    assert response.status_code == 302
    assert "/connexion" in response.location and "next=" in response.location
    user = make_user(Role.CLIENT)
    from urllib.parse import parse_qs, urlsplit

    next_url = parse_qs(urlsplit(response.location).query)["next"][0]
    response = client.post(
        "/connexion?next=" + next_url,
        data={"email": user.email, "password": PASSWORD, "csrf_token": _token(app, client)},
    )
    assert response.status_code == 302 and response.location.endswith(AREA + "/history")


def _token(app: Flask, client: FlaskClient) -> str:
    from tests.conftest import csrf_token

    return csrf_token(app, client)


@pytest.mark.parametrize(
    ("role", "landing"), [(Role.COACH, "/accueil-coach"), (Role.ADMIN, "/admin")]
)
def test_staff_are_sent_to_their_home(as_role, role: Role, landing: str) -> None:
    browser, _user = as_role(role)
    for url in (AREA, AREA + "/sessions", AREA + "/profile"):
        response = browser.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith(landing), response.location


def test_index_opens_the_first_tab_and_every_tab_renders(people) -> None:
    browser, _client, _coach = people
    response = browser.get(AREA)
    assert response.status_code == 302 and response.location.endswith(AREA + "/sessions")
    for key, text in [
        ("sessions", "No upcoming sessions"),
        ("payments", "All paid"),
        ("history", "No past sessions yet"),
        ("profile", "Your details"),
    ]:
        page = browser.get(f"{AREA}/{key}")
        assert page.status_code == 200, key
        html = page.get_data(as_text=True)
        assert text in html, key
        assert 'aria-current="page"' in html
    assert browser.get(AREA + "/nope").status_code == 404


# -- My sessions ---------------------------------------------------------------


def test_session_cards_show_everything_the_client_needs(app: Flask, people) -> None:
    browser, client, coach = people
    sid = add_session(
        app,
        client,
        coach,
        title="Posture work",
        location="Studio 4, Lyon",
        video_url="https://meet.example/abc",
        links=[("Warm-up video", "https://video.example/warmup")],
    )
    add_session(app, client, coach, title="Free chat", price_amount=None)
    html = browser.get(AREA + "/sessions").get_data(as_text=True)
    assert "Posture work" in html and "Studio 4, Lyon" in html
    assert 'href="https://meet.example/abc"' in html
    assert 'href="https://video.example/warmup"' in html and "Warm-up video" in html
    assert '<span class="badge badge-pending">To pay: €50.00</span>' in html
    assert "No price" in html
    assert f"{AREA}/sessions/{sid}/cancel" in html
    # The badge is made once per language with a blank for the amount (clientarea/_labels.html).
    french = browser.get(AREA + "/sessions", headers={"Accept-Language": "fr"})
    assert "À régler : 50,00\u00a0€" in french.get_data(as_text=True)
    assert f"{AREA}/sessions/{sid}.ics" in html


def test_cancel_inside_the_window_records_who_and_when(app: Flask, people) -> None:
    browser, client, coach = people
    sid = add_session(app, client, coach, title="Tuesday run")
    confirm = browser.get(f"{AREA}/sessions/{sid}/cancel")
    assert confirm.status_code == 200 and "Yes, cancel the session" in confirm.get_data(
        as_text=True
    )
    assert load(app, sid).status == "booked"  # asking is not cancelling
    version = load(app, sid).version
    response = post(app, browser, f"{AREA}/sessions/{sid}/cancel", {"version": version})
    assert response.status_code == 302
    session = load(app, sid)
    assert session.status == "cancelled" and session.cancelled_by_id == client.id
    assert session.cancelled_at is not None and session.payment_status == "cancelled"
    html = browser.get(AREA + "/sessions").get_data(as_text=True)
    assert "is cancelled" in html and "You cancelled it on" in html


def test_cancel_needs_csrf(app: Flask, people) -> None:
    browser, client, coach = people
    sid = add_session(app, client, coach)
    response = browser.post(f"{AREA}/sessions/{sid}/cancel", data={"version": 1})
    assert response.status_code == 400
    assert load(app, sid).status == "booked"


def test_cancel_outside_the_window_is_refused_with_the_coach_contact(app: Flask, people) -> None:
    browser, client, coach = people
    sid = add_session(app, client, coach, starts_at=utcnow() + timedelta(hours=5))
    html = browser.get(AREA + "/sessions").get_data(as_text=True)
    assert f"/sessions/{sid}/cancel" not in html
    assert "can no longer be cancelled here" in html and coach.email in html
    assert "+33 6 12 34 56 78" in html
    # A forged or stale form is refused by the server too.
    response = post(app, browser, f"{AREA}/sessions/{sid}/cancel", {"version": 1})
    assert response.status_code == 302
    assert load(app, sid).status == "booked"
    assert "can no longer be cancelled here" in browser.get(AREA + "/sessions").get_data(
        as_text=True
    )


def test_window_zero_allows_cancelling_until_the_start(app: Flask, people) -> None:
    browser, client, coach = people
    set_options(app, general__cancellation_window_hours=0)
    sid = add_session(app, client, coach, starts_at=utcnow() + timedelta(minutes=10))
    post(app, browser, f"{AREA}/sessions/{sid}/cancel", {"version": 1})
    assert load(app, sid).status == "cancelled"


def test_session_moved_after_page_load_is_not_cancelled_blindly(app: Flask, people) -> None:
    browser, client, coach = people
    sid = add_session(app, client, coach)
    stale_version = load(app, sid).version
    with app.app_context():  # the coach moves it meanwhile
        session = db.get(CoachingSession, sid)
        session.starts_at = session.starts_at + timedelta(hours=2)
        db.commit()
    response = post(app, browser, f"{AREA}/sessions/{sid}/cancel", {"version": stale_version})
    assert response.status_code == 302 and response.location.endswith(f"/sessions/{sid}/cancel")
    assert load(app, sid).status == "booked"
    assert "changed this session" in browser.get(response.location).get_data(as_text=True)


def test_session_moved_into_the_window_cannot_be_cancelled(app: Flask, people) -> None:
    browser, client, coach = people
    sid = add_session(app, client, coach)
    with app.app_context():
        db.get(CoachingSession, sid).starts_at = utcnow() + timedelta(hours=2)
        db.commit()
    post(app, browser, f"{AREA}/sessions/{sid}/cancel", {"version": load(app, sid).version})
    assert load(app, sid).status == "booked"


def test_cancelled_by_coach_is_explained(app: Flask, people) -> None:
    browser, client, coach = people
    add_session(
        app,
        client,
        coach,
        title="Hill sprints",
        status="cancelled",
        payment_status="cancelled",
        cancelled_by_id=coach.id,
        cancelled_at=utcnow(),
    )
    html = browser.get(AREA + "/sessions").get_data(as_text=True)
    assert "Hill sprints" in html and "Cancelled by your coach" in html
    assert "No upcoming sessions" in html


def test_session_ics_has_utc_start_and_stable_uid(app: Flask, people) -> None:
    browser, client, coach = people
    sid = add_session(app, client, coach, title="Yoga", location="Park")
    first = browser.get(f"{AREA}/sessions/{sid}.ics")
    assert first.status_code == 200 and first.mimetype == "text/calendar"
    event = Calendar.from_ical(first.data).walk("VEVENT")[0]
    starts = load(app, sid).starts_at
    assert event.decoded("dtstart") == starts
    assert event.decoded("dtstart").utcoffset() == timedelta(0)
    assert "DTSTART:" in first.get_data(as_text=True) and "Z\r\n" in first.get_data(as_text=True)
    assert str(event["summary"]) == "Yoga" and str(event["location"]) == "Park"
    second = Calendar.from_ical(browser.get(f"{AREA}/sessions/{sid}.ics").data).walk("VEVENT")[0]
    assert str(second["uid"]) == str(event["uid"]) == f"session-{sid}@127.0.0.1"


def test_calendar_feed_create_use_and_revoke(app: Flask, people, client: FlaskClient) -> None:
    browser, user, coach = people
    add_session(app, user, coach, title="Feed me")
    html = browser.get(AREA + "/profile").get_data(as_text=True)
    assert "Create my calendar link" in html
    post(app, browser, AREA + "/profile", {"action": "feed-create"})
    with app.app_context():
        token = db.get(User, user.id).calendar_token
    assert token
    assert f"/calendar/{token}.ics" in browser.get(AREA + "/profile").get_data(as_text=True)
    feed = client.get(f"/calendar/{token}.ics")  # no login: the token is the key
    assert feed.status_code == 200 and b"Feed me" in feed.data
    post(app, browser, AREA + "/profile", {"action": "feed-create"})  # a new link…
    assert client.get(f"/calendar/{token}.ics").status_code == 404  # …kills the old one
    post(app, browser, AREA + "/profile", {"action": "feed-revoke"})
    with app.app_context():
        assert db.get(User, user.id).calendar_token is None
    assert client.get("/calendar/.ics").status_code == 404


# -- Payments --------------------------------------------------------------------


def test_payments_lists_unpaid_with_totals_per_currency(app: Flask, people) -> None:
    browser, client, coach = people
    add_session(app, client, coach, title="A", price_amount=4000)
    add_session(
        app,
        client,
        coach,
        title="B",
        price_amount=3550,
        starts_at=utcnow() - timedelta(days=2),
        status="completed",
    )
    add_session(app, client, coach, title="C", price_amount=2000, currency="CHF")
    add_session(app, client, coach, title="Paid one", paid=True)
    add_session(app, client, coach, title="Free one", price_amount=None)
    add_session(app, client, coach, title="Dropped", status="cancelled", payment_status="cancelled")
    html = browser.get(AREA + "/payments").get_data(as_text=True)
    assert "€75.50" in html and "CHF" in html and "20.00" in html
    for title in ("A", "B", "C"):
        assert f'session-title">{title}<' in html
    for title in ("Paid one", "Free one", "Dropped"):
        assert title not in html
    assert "Payment is arranged directly with your coach" in html and coach.email in html
    tabs = browser.get(AREA + "/history").get_data(as_text=True)
    assert 'Payments<span class="tab-badge">3</span>' in tabs


def test_payment_buttons_come_from_ready_providers_and_the_hook(app: Flask, people) -> None:
    from markupsafe import Markup

    from hooks import PaymentProvider, hookimpl

    class Ready(PaymentProvider):
        key, label = "testpay", "TestPay"

        def is_ready(self) -> bool:
            return True

        def payment_button(self, session: CoachingSession, client: User) -> Markup:
            return Markup(f'<a class="btn" href="/pay/{session.id}">Pay now</a>')  # noqa: S704

    class NotReady(Ready):
        key = "off"

        def is_ready(self) -> bool:
            return False

        def payment_button(self, session: CoachingSession, client: User) -> Markup:
            raise AssertionError("never asked when not ready")

    class Extra:
        @hookimpl
        def payment_providers(self) -> list[type[PaymentProvider]]:
            return [Ready, NotReady]

        @hookimpl
        def session_payment_buttons(self, session: CoachingSession, client: User) -> list[Markup]:
            return [Markup(f'<span class="extra">Voucher {session.id}</span>')]  # noqa: S704

    browser, client, coach = people
    sid = add_session(app, client, coach)
    host = app.extensions["coachdesk.plugins"]
    extra = Extra()
    host.register_core(extra, "test-payments")
    try:
        html = browser.get(AREA + "/payments").get_data(as_text=True)
        assert f'href="/pay/{sid}">Pay now' in html and f"Voucher {sid}" in html
        assert "Payment is arranged directly" not in html
        assert f'href="/pay/{sid}"' in browser.get(AREA + "/sessions").get_data(as_text=True)
    finally:
        host.pm.unregister(plugin=extra)


# -- History ---------------------------------------------------------------------


def test_history_newest_first_paginated_with_receipts(app: Flask, people) -> None:
    browser, client, coach = people
    now = utcnow()
    ids = [
        add_session(
            app,
            client,
            coach,
            title=f"Past {n:02d}",
            starts_at=now - timedelta(days=n),
            status="completed",
            paid=n == 1,
        )
        for n in range(1, 24)
    ]
    add_session(app, client, coach, title="Future", starts_at=now + timedelta(days=3))
    first = browser.get(AREA + "/history").get_data(as_text=True)
    assert first.index("Past 01") < first.index("Past 02") and "Past 21" not in first
    assert "Future" not in first.split('class="tab-panel"')[1]
    assert f"/receipts/{ids[0]}" in first and f"/receipts/{ids[0]}.pdf" in first
    assert f"/receipts/{ids[1]}" not in first
    second = browser.get(AREA + "/history?page=2").get_data(as_text=True)
    assert "Past 21" in second and "Past 23" in second and "Past 01" not in second
    assert "Past 21" in browser.get(AREA + "/history?page=99").get_data(as_text=True)


# -- My profile ------------------------------------------------------------------


def _details(**changes: str) -> dict[str, str]:
    data = {
        "action": "details",
        "first_name": "Chloé",
        "last_name": "Martin",
        "email": "chloe@example.com",
        "phone": "",
        "timezone": "",
        "locale": "",
    }
    data.update(changes)
    return data


def test_profile_update_is_visible_at_once(app: Flask, people) -> None:
    browser, client, _coach = people
    response = post(
        app,
        browser,
        AREA + "/profile",
        _details(
            first_name="Zoé",
            email=client.email,
            phone="+33 7 00 00 00 00",
            timezone="America/New_York",
            locale="fr",
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.get(User, client.id)
        assert (user.first_name, user.email, user.phone) == (
            "Zoé",
            client.email,
            "+33 7 00 00 00 00",
        )
        assert (user.timezone, user.locale) == ("America/New_York", "fr")
    html = browser.get(AREA + "/profile").get_data(as_text=True)
    assert "Bonjour, Zoé" in html and "Mes séances" in html  # the new language applies at once


def test_profile_refuses_a_taken_email_and_a_bad_zone(app: Flask, people, make_user) -> None:
    browser, client, _coach = people
    other = make_user(Role.CLIENT, email="taken@example.com")
    taken = _details(email="TAKEN@example.com", current_password=PASSWORD)
    response = post(app, browser, AREA + "/profile", taken)
    assert response.status_code == 200
    assert "Another account already uses this email address." in response.get_data(as_text=True)
    response = post(app, browser, AREA + "/profile", _details(timezone="Mars/Olympus"))
    assert response.status_code == 200
    with app.app_context():
        user = db.get(User, client.id)
        assert user.email == client.email and user.timezone is None
        assert db.get(User, other.id).email == "taken@example.com"


def test_password_change_keeps_this_browser_and_ends_others(app: Flask, people) -> None:
    browser, client, _coach = people
    other_device = app.test_client()
    login(app, other_device, client)
    new = "A much longer secret 42"

    def change(current: str, password: str, confirm: str | None = None) -> Any:
        return post(
            app,
            browser,
            AREA + "/profile",
            {
                "action": "password",
                "current": current,
                "password": password,
                "confirm": confirm or password,
            },
        )

    assert "not your current password" in change("wrong one!!", new).get_data(as_text=True)
    assert "at least 10" in change(PASSWORD, "short", "short").get_data(as_text=True)
    assert "differ" in change(PASSWORD, new, new + "x").get_data(as_text=True)
    with app.app_context():
        assert verify_password(db.get(User, client.id).password_hash, PASSWORD)
    assert change(PASSWORD, new).status_code == 302
    with app.app_context():
        assert verify_password(db.get(User, client.id).password_hash, new)
    assert browser.get(AREA + "/profile").status_code == 200
    assert other_device.get(AREA + "/profile").status_code == 302


# -- Statistics cards ------------------------------------------------------------


def test_statistics_cards_and_hidden_option(app: Flask, people) -> None:
    from core.clientarea.cards import HIDDEN_CARDS

    browser, client, coach = people
    now = utcnow()
    add_session(
        app,
        client,
        coach,
        status="completed",
        starts_at=now - timedelta(days=9),
        duration_minutes=90,
        paid=True,
    )
    add_session(
        app,
        client,
        coach,
        status="completed",
        starts_at=now - timedelta(days=2),
        duration_minutes=60,
    )
    add_session(app, client, coach, title="Next one", starts_at=now + timedelta(days=1))
    add_session(app, client, coach, status="cancelled", payment_status="cancelled")
    html = browser.get(AREA + "/sessions").get_data(as_text=True)
    cards = html.split('class="stat-cards')[1].split("</dl>")[0]
    assert ">3<" in cards  # total, cancelled excluded
    assert ">2<" in cards  # completed
    assert "2\u00a0h\u00a030\u00a0min" in cards and "Next one" in cards and "€50.00" in cards
    set_options(app, **{HIDDEN_CARDS: ["spent", "time"]})
    cards = browser.get(AREA + "/sessions").get_data(as_text=True).split('class="stat-cards')[1]
    assert (
        "Total spent" not in cards.split("</dl>")[0] and "Time spent" not in cards.split("</dl>")[0]
    )
    assert "Next session" in cards


def test_other_clients_sessions_are_not_listed(app: Flask, people, make_user) -> None:
    browser, client, coach = people
    stranger = make_user(Role.CLIENT)
    add_session(
        app,
        stranger,
        coach,
        title="Secret session",
        paid=True,
        status="completed",
        starts_at=utcnow() - timedelta(days=1),
    )
    add_session(app, stranger, coach, title="Secret future")
    for key in ("sessions", "payments", "history"):
        assert "Secret" not in browser.get(f"{AREA}/{key}").get_data(as_text=True)
    with app.app_context():
        assert (
            db.scalar(select(CoachingSession.id).where(CoachingSession.client_id == client.id))
            is None
        )


def test_long_lists_are_paginated(app: Flask, people) -> None:
    browser, client, coach = people
    start = utcnow().replace(second=0, microsecond=0)
    for n in range(23):
        add_session(
            app, client, coach, title=f"Ahead {n:02d}", starts_at=start + timedelta(days=n + 2)
        )

    def panel(url: str) -> str:
        return browser.get(url).get_data(as_text=True).split('class="tab-panel"')[1]

    first = panel(AREA + "/sessions")
    assert "Ahead 00" in first and "Ahead 19" in first and "Ahead 20" not in first
    second = panel(AREA + "/sessions?page=2")
    assert "Ahead 22" in second and "Ahead 00" not in second
    payments = panel(AREA + "/payments?page=2")
    assert "Ahead 22" in payments and "€1,150.00" in payments  # the total counts every page


def test_add_ons_bring_tabs_and_cards_through_the_hooks(app: Flask, people) -> None:
    from core.clientarea.cards import HIDDEN_CARDS, card_choices
    from hooks import StatCard, Tab, hookimpl

    class Physical:
        @hookimpl
        def client_area_tabs(self, client: User) -> list[Tab]:
            return [Tab("physical", "Measurements", lambda: "<p>Weight: 70 kg</p>", order=40)]

        @hookimpl
        def client_statistics_cards(self, client: User) -> list[StatCard]:
            return [StatCard("weight", "Weight", "70 kg", order=60)]

    browser, client, _coach = people
    host = app.extensions["coachdesk.plugins"]
    addon = Physical()
    host.register_core(addon, "test-physical")
    try:
        html = browser.get(AREA + "/physical").get_data(as_text=True)
        assert "Weight: 70 kg" in html and ">Measurements<" in html
        cards = html.split('class="stat-cards')[1].split("</dl>")[0]
        assert "70 kg" in cards and "Total spent" in cards  # a new card shows by default
        tabs = html.split('class="tabs"')[1].split("</nav>")[0]
        assert tabs.index("History") < tabs.index("Measurements") < tabs.index("My profile")
        with app.test_request_context(), app.app_context():
            assert ("weight", "Weight", True) in card_choices(db.get(User, client.id))
            set_option(HIDDEN_CARDS, ["weight"])
            db.commit()
        cards = browser.get(AREA + "/physical").get_data(as_text=True).split('class="stat-cards')[1]
        assert "70 kg" not in cards.split("</dl>")[0]
    finally:
        host.pm.unregister(plugin=addon)
    assert browser.get(AREA + "/physical").status_code == 404


def test_feed_marks_cancelled_and_moved_sessions(app: Flask, people, client: FlaskClient) -> None:
    browser, user, coach = people
    moved = add_session(app, user, coach, title="Moved", schedule_revision=3)
    dropped = add_session(app, user, coach, title="Dropped", status="cancelled")
    post(app, browser, AREA + "/profile", {"action": "feed-create"})
    with app.app_context():
        token = db.get(User, user.id).calendar_token
    events = {
        str(e["uid"]): e
        for e in Calendar.from_ical(client.get(f"/calendar/{token}.ics").data).walk("VEVENT")
    }
    assert events[f"session-{moved}@127.0.0.1"]["sequence"] == 3
    assert str(events[f"session-{dropped}@127.0.0.1"]["status"]) == "CANCELLED"
