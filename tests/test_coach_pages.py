"""Coach home, quick actions, calendar, My clients and the client profile, page by page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from core.accounts.models import ClientNote, CoachClient, User
from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.payments.models import Payment
from core.sessions.models import CoachingSession
from tests.conftest import post
from tests.helpers import chart_rows, charts, current_menu_entry, set_options
from tests.test_coach_support import add_session, assign, coach_with_client, tomorrow_at_ten


@pytest.fixture
def desk(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> tuple[Any, Any, Any]:
    return coach_with_client(app, as_role, make_user, phone="06 12 34 56 78")


def emails(app: Flask, email_type: str | None = None) -> list[OutboxEmail]:
    with app.app_context():
        query = select(OutboxEmail).order_by(OutboxEmail.id)  # PostgreSQL reuses freed space
        if email_type:
            query = query.where(OutboxEmail.email_type == email_type)
        return list(db.scalars(query))


def session(app: Flask, sid: int) -> CoachingSession | None:
    with app.app_context():
        return db.get(CoachingSession, sid)


def test_home_lists_today_and_upcoming_with_badges_and_links(
    app: Flask, desk: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = desk
    later = add_session(
        app, coach.id, client.id, title="Later one", starts_at=utcnow() + timedelta(days=3)
    )
    add_session(
        app, coach.id, client.id, title="Long gone", starts_at=utcnow() - timedelta(days=30)
    )
    text = browser.get("/accueil-coach").get_data(as_text=True)
    assert "Later one" in text and "Long gone" not in text
    assert f"/coach/sessions/{later}?next=" in text
    assert f"/customer/{client.id}" in text
    assert "badge-booked" in text and "badge-pending" in text


@time_machine.travel(datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False)
def test_home_editors_show_each_cards_values_and_todays_date_in_the_sites_zone(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    """The editors' fields are made once per language (coach/_labels.html) and the "paid
    on" date once per page: each card still shows its own values, labelled, posting to its
    own session; at 23:30 UTC it is already the 11th in Paris."""
    browser, coach, client = coach_with_client(app, as_role, make_user)  # signed in then
    booked = add_session(app, coach.id, client.id, title="Booked one")
    paid = add_session(
        app, coach.id, client.id, title="Paid one", status="confirmed",
        starts_at=tomorrow_at_ten() + timedelta(hours=2),
    )  # fmt: skip
    bought = {"payment_status": "paid", "payment_method": "cash", "paid_on": "2026-03-05"}
    assert post(app, browser, f"/coach/sessions/{paid}/payment", bought).status_code == 302
    text = browser.get("/accueil-coach").get_data(as_text=True)
    cards = {
        title: card
        for card in text.split('class="session-card')[1:]
        for title in ("Booked one", "Paid one")
        if f">{title}</a>" in card
    }

    def chosen(card: str, name: str) -> str:
        select = re.search(rf'<select name="{name}">(.*?)</select>', card, re.S)
        assert select, name
        return re.findall(r'<option value="([^"]*)" selected>', select.group(1))[0]

    assert chosen(cards["Booked one"], "status") == "booked"
    assert chosen(cards["Booked one"], "payment_status") == "pending"
    assert chosen(cards["Paid one"], "status") == "confirmed"
    assert chosen(cards["Paid one"], "payment_status") == "paid"
    assert "Cancelling emails the client." in cards["Booked one"]
    assert f'action="/coach/sessions/{booked}/payment"' in cards["Booked one"]
    for card in cards.values():
        assert re.search(
            r'<label>Paid on <input type="date" name="paid_on" value="2026-03-11">', card
        )
        assert re.search(r'<label><span class="sr-only">Status</span> <select name="status">', card)
        assert '<label>Paid by <select name="payment_method">' in card


def test_quick_cancel_goes_through_cancel_session_and_emails_the_client(
    app: Flask, desk: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = desk
    sid = add_session(app, coach.id, client.id, title="To cancel")
    response = post(
        app,
        browser,
        f"/coach/sessions/{sid}/status",
        {"status": "cancelled", "next": "/mes-clients"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/mes-clients"
    cancelled = session(app, sid)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.cancelled_by_id == coach.id and cancelled.payment_status == "cancelled"
    assert [e.to_address for e in emails(app, "cancellation")] == [client.email]


def test_quick_status_never_redirects_off_site(app: Flask, desk: tuple[Any, Any, Any]) -> None:
    browser, coach, client = desk
    sid = add_session(app, coach.id, client.id)
    data = {"status": "completed", "next": "https://evil.example/"}
    response = post(app, browser, f"/coach/sessions/{sid}/status", data)
    assert response.headers["Location"] == "/accueil-coach"
    assert session(app, sid).status == "completed"  # type: ignore[union-attr]


def test_quick_payment_paid_needs_a_payment_row(app: Flask, desk: tuple[Any, Any, Any]) -> None:
    browser, coach, client = desk
    sid = add_session(app, coach.id, client.id)
    data = {"payment_status": "paid", "payment_method": "card", "paid_on": "2030-01-05"}
    assert post(app, browser, f"/coach/sessions/{sid}/payment", data).status_code == 302
    with app.app_context():
        payment = db.scalars(select(Payment)).one()
        assert (payment.method, payment.amount, payment.recorded_by_id) == ("card", 6000, coach.id)
    assert session(app, sid).payment_status == "paid"  # type: ignore[union-attr]
    refund = {"payment_status": "refunded", "payment_method": "card"}
    assert post(app, browser, f"/coach/sessions/{sid}/payment", refund).status_code == 302
    assert session(app, sid).payment_status == "refunded"  # type: ignore[union-attr]


def test_delete_asks_first_and_suggests_cancelling(app: Flask, desk: tuple[Any, Any, Any]) -> None:
    browser, coach, client = desk
    sid = add_session(app, coach.id, client.id, title="Mistake")
    page = browser.get(f"/coach/sessions/{sid}/delete?next=javascript:alert(1)")
    text = page.get_data(as_text=True)
    assert "Cancel the session instead" in text and "Delete for good" in text
    assert "javascript:" not in text
    assert post(app, browser, f"/coach/sessions/{sid}/delete", {}).status_code == 400
    assert session(app, sid) is not None
    assert (
        post(app, browser, f"/coach/sessions/{sid}/delete", {"confirm": "yes"}).status_code == 302
    )
    assert session(app, sid) is None
    assert emails(app) == []


def test_statistics_tab_counts_this_month_and_charts_revenue(
    app: Flask, desk: tuple[Any, Any, Any]
) -> None:
    from core.payments.service import record_payment

    browser, coach, client = desk
    now = utcnow()
    sid = add_session(app, coach.id, client.id, starts_at=now, status="completed")
    add_session(app, coach.id, client.id, starts_at=now, status="cancelled")
    with app.app_context():
        record_payment(db.get(CoachingSession, sid), method="cash", paid_at=now)  # type: ignore[arg-type]
        db.commit()
    text = browser.get("/accueil-coach?tab=statistics").get_data(as_text=True)
    figures = re.findall(r'class="stat-value[^"]*">([^<]+)<', text)
    assert figures[:4] == ["1", "2", "0", "€60.00"]  # clients, sessions, upcoming, revenue
    assert figures[4:7] == ["2", "1", "1"]  # this month: all, completed, cancelled
    (chart,) = charts(text)
    rows = chart_rows(chart)
    assert len(rows) == 12 and rows[-1][1] == "€60.00"  # this month: the cash payment
    assert {row[1] for row in rows[:-1]} == {"€0.00"}
    assert len(chart.findall(".//{*}g[@class='bar']")) == 12 * 3  # drawn at three widths


def test_statistics_revenue_is_net_of_refunds_in_the_month_given_back(
    app: Flask, desk: tuple[Any, Any, Any], make_user: Callable[..., Any]
) -> None:
    """A refund counts in its own month; another coach's refunds never count."""
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from core.coach.queries import add_months
    from core.payments.service import record_payment, record_refund

    browser, coach, client = desk
    other = make_user("coach")
    now = utcnow()
    today = now.astimezone(ZoneInfo("Europe/Paris")).date()  # the site's zone
    earlier = datetime.combine(add_months(today, -2).replace(day=15), time(12), UTC)
    paid_earlier = add_session(app, coach.id, client.id, starts_at=earlier, status="completed")
    paid_now = add_session(app, coach.id, client.id, starts_at=now, status="completed")
    others = add_session(app, other.id, client.id, starts_at=now, status="completed")
    with app.app_context():
        for sid, paid_at in ((paid_earlier, earlier), (paid_now, now), (others, now)):
            record_payment(db.get(CoachingSession, sid), method="cash", paid_at=paid_at)  # type: ignore[arg-type]
        payments = {p.session_id: p for p in db.scalars(select(Payment))}
        record_refund(payments[paid_earlier], amount=2000, refunded_at=now)
        record_refund(payments[others], amount=6000, refunded_at=now)
        db.commit()
    text = browser.get("/accueil-coach?tab=statistics").get_data(as_text=True)
    figures = re.findall(r'class="stat-value[^"]*">([^<]+)<', text)
    assert figures[3] == "€100.00"  # 60 + 60 - 20
    rows = chart_rows(charts(text)[0])
    assert [row[1] for row in rows[-3:]] == ["€60.00", "€0.00", "€40.00"]


def test_statistics_follow_each_viewers_scope_after_another_looked(
    app: Flask, desk: tuple[Any, Any, Any], as_role: Callable[..., Any]
) -> None:
    """The tab's statements are built once per kind of viewer: the coach who looks first,
    then an administrator seeing all, then one seeing only their own, each get their own."""
    from core.payments.service import record_payment

    browser, coach, client = desk
    admin_browser, admin = as_role("admin")
    now = utcnow()
    theirs = add_session(app, coach.id, client.id, starts_at=now, status="completed")
    by_admin = add_session(
        app, coach.id, client.id, starts_at=now, status="completed", created_by_id=admin.id
    )
    with app.app_context():
        for sid in (theirs, by_admin):
            record_payment(db.get(CoachingSession, sid), method="cash", paid_at=now)  # type: ignore[arg-type]
        db.commit()

    def figures(viewer: Any) -> list[str]:
        text = viewer.get("/accueil-coach?tab=statistics").get_data(as_text=True)
        return re.findall(r'class="stat-value[^"]*">([^<]+)<', text)

    assert figures(browser)[1:4] == ["2", "0", "€120.00"]  # sessions, upcoming, revenue
    assert figures(admin_browser)[1:4] == ["2", "0", "€120.00"]
    set_options(app, **{"coach.admin_scope": "own"})
    assert figures(admin_browser)[1:4] == ["1", "0", "€60.00"]
    assert figures(browser)[1:4] == ["2", "0", "€120.00"]


def test_calendar_month_and_week_colour_sessions_and_offer_new_ones(
    app: Flask, desk: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = desk
    start = tomorrow_at_ten()
    sid = add_session(app, coach.id, client.id, starts_at=start, status="confirmed")
    day = start.date().isoformat()
    for view in ("month", "week"):
        text = browser.get(f"/calendrier-seances?view={view}&date={day}").get_data(as_text=True)
        assert 'class="cal-entry status-confirmed"' in text
        assert f"/coach/sessions/{sid}?next=" in text
        assert f"/coach/sessions/new?date={day}" in text
    nav = browser.get("/calendrier-seances?view=month&date=2030-01-15").get_data(as_text=True)
    assert "date=2029-12-01" in nav and "date=2030-02-01" in nav


def test_month_cells_fold_busy_days(app: Flask, desk: tuple[Any, Any, Any]) -> None:
    browser, coach, client = desk
    start = tomorrow_at_ten()
    for hour in range(6):
        add_session(app, coach.id, client.id, starts_at=start + timedelta(minutes=hour * 10))
    text = browser.get(f"/calendrier-seances?date={start.date()}").get_data(as_text=True)
    assert "+ 2 more" in text


def test_my_clients_search_sort_and_paginate(
    app: Flask, desk: tuple[Any, Any, Any], make_user: Callable[..., Any]
) -> None:
    browser, coach, _alice = desk
    for i in range(30):
        other = make_user("client", first_name=f"Zed{i:02d}", last_name="Zimmer")
        assign(app, coach.id, other.id)
    first = browser.get("/mes-clients").get_data(as_text=True)
    assert "Martin Alice" in first and "Page 1 of 2" in first
    assert "Zimmer Zed29" not in first
    second = browser.get("/mes-clients?page=2").get_data(as_text=True)
    assert "Zimmer Zed29" in second
    reverse = browser.get("/mes-clients?sort=-name").get_data(as_text=True)
    assert reverse.index("Zed29") < reverse.index("Zed28")
    for q in ("alice", "0612", "client"):
        found = browser.get(f"/mes-clients?q={q}").get_data(as_text=True)
        assert "Martin Alice" in found, q
    assert "No client matches" in browser.get("/mes-clients?q=nobody").get_data(as_text=True)


def test_add_client_without_email_assigns_to_the_coach(
    app: Flask, desk: tuple[Any, Any, Any]
) -> None:
    browser, coach, _alice = desk
    data = {"first_name": "Nina", "last_name": "Roy", "email": "nina@example.test", "action": "add"}
    response = post(app, browser, "/mes-clients/new", data)
    assert response.status_code == 302
    with app.app_context():
        nina = db.scalars(select(User).where(User.email == "nina@example.test")).one()
        assert nina.role == "client" and nina.password_hash is None
        assert db.get(CoachClient, (coach.id, nina.id)) is not None
    assert response.headers["Location"] == f"/customer/{nina.id}"
    assert emails(app) == []
    again = post(app, browser, "/mes-clients/new", {**data, "email": "NINA@example.test"})
    assert "already exists" in again.get_data(as_text=True)


def test_add_client_and_send_login_details_never_shows_a_password(
    app: Flask, desk: tuple[Any, Any, Any]
) -> None:
    browser, _coach, _alice = desk
    data = {"first_name": "Omar", "last_name": "Sy", "email": "omar@example.test", "action": "send"}
    response = post(app, browser, "/mes-clients/new", data, follow_redirects=True)
    assert "will receive their login details" in response.get_data(as_text=True)
    assert [e.to_address for e in emails(app)] == ["omar@example.test"]
    assert 'type="password"' not in response.get_data(as_text=True)
    with app.app_context():
        omar = db.scalars(select(User).where(User.email == "omar@example.test")).one()
        assert omar.password_hash is None  # the client chooses it from the emailed link


def test_profile_tabs_and_hook(app: Flask, desk: tuple[Any, Any, Any]) -> None:
    browser, coach, client = desk
    add_session(app, coach.id, client.id, title="Upcoming one")
    add_session(
        app,
        coach.id,
        client.id,
        title="Done one",
        status="completed",
        starts_at=utcnow() - timedelta(days=3),
    )
    overview = browser.get(f"/customer/{client.id}").get_data(as_text=True)
    for text in ("Overview", "Sessions", "Finances", "Contact", "Upcoming one", "Done one"):
        assert text in overview
    assert f"/coach/sessions/new?client={client.id}" in overview
    assert browser.get(f"/customer/{client.id}/nope").status_code == 404


def test_notes_save_by_fetch_or_by_form(app: Flask, desk: tuple[Any, Any, Any]) -> None:
    browser, _coach, client = desk
    url = f"/coach/clients/{client.id}/notes"
    response = post(
        app, browser, url, {"body": "Knee injury"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200 and response.json == {"ok": True, "message": "Notes saved."}
    response = post(app, browser, url, {"body": "Knee is fine", "next": f"/customer/{client.id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/customer/{client.id}"
    with app.app_context():
        assert db.get(ClientNote, client.id).body == "Knee is fine"  # type: ignore[union-attr]
    assert "Knee is fine" in browser.get(f"/customer/{client.id}").get_data(as_text=True)


def test_finances_totals_donut_filter_and_marking(app: Flask, desk: tuple[Any, Any, Any]) -> None:
    browser, coach, client = desk
    paid = add_session(app, coach.id, client.id, title="Paid s", price_amount=5000)
    add_session(app, coach.id, client.id, title="Pending s", price_amount=3000)
    add_session(app, coach.id, client.id, title="Free s", price_amount=None)
    mark = {"payment_status": "paid", "payment_method": "transfer", "paid_on": "2030-01-02"}
    assert post(app, browser, f"/coach/sessions/{paid}/payment", mark).status_code == 302
    text = browser.get(f"/customer/{client.id}/finances").get_data(as_text=True)
    figures = re.findall(r'class="stat-value[^"]*">([^<]+)<', text)
    assert figures == ["€80.00", "€30.00", "€50.00", "€0.00", "2"]
    (chart,) = charts(text)
    assert chart_rows(chart) == [
        ["Pending", "1", "50%"],
        ["Paid", "1", "50%"],
        ["Refunded", "0", "0%"],
        ["Cancelled", "0", "0%"],
        ["Total", "2", "100%"],
    ]
    assert text.count('class="slice reactive') == 2  # no ring segment for an empty status
    only_paid = browser.get(f"/customer/{client.id}/finances?payment=paid").get_data(as_text=True)
    assert "Paid s" in only_paid and "Pending s" not in only_paid


def test_contact_edit_checks_unique_email_and_sends_reset(
    app: Flask, desk: tuple[Any, Any, Any], make_user: Callable[..., Any]
) -> None:
    browser, _coach, client = desk
    taken = make_user("coach", email="taken@example.test")
    url = f"/customer/{client.id}/contact"
    data = {"first_name": "Alicia", "last_name": "Martin", "email": taken.email, "action": "save"}
    response = post(app, browser, url, data)
    assert "Another account already uses this email" in response.get_data(as_text=True)
    data["email"] = "alicia@example.test"
    assert post(app, browser, url, data).status_code == 302
    with app.app_context():
        saved = db.get(User, client.id)
        # The new address waits for the client's confirmation (test_account_email_change).
        assert (saved.email, saved.pending_email) == (client.email, "alicia@example.test")  # type: ignore[union-attr]
    assert post(app, browser, f"/coach/clients/{client.id}/password-reset").status_code == 302
    assert post(app, browser, f"/coach/clients/{client.id}/login-details").status_code == 302
    sent = [(e.email_type, e.to_address) for e in emails(app)]
    assert sent == [
        ("email_change_confirm", "alicia@example.test"),
        ("email_change_notice", client.email),
        ("password_reset", client.email),
        ("welcome", client.email),
    ]


def test_menu_entries_for_staff_only(
    app: Flask, desk: tuple[Any, Any, Any], as_role: Callable[..., Any]
) -> None:
    browser, _coach, _client = desk
    links = ('href="/accueil-coach"', 'href="/calendrier-seances"', 'href="/mes-clients"')
    text = browser.get("/mes-clients").get_data(as_text=True)
    assert all(link in text for link in links)
    client_browser, _user = as_role("client")
    page = client_browser.get("/accueil-coach")
    assert page.status_code == 403
    assert not any(link in page.get_data(as_text=True) for link in links)


def test_admin_books_for_a_coach_and_the_created_hook_tells_the_coach(
    app: Flask, desk: tuple[Any, Any, Any], as_role: Callable[..., Any]
) -> None:
    _browser, coach, client = desk
    admin, user = as_role("admin")
    data = {
        "client_id": str(client.id),
        "coach_id": str(coach.id),
        "day": "2030-06-03",
        "start": "08:15",
        "duration_minutes": "45",
        "currency": "EUR",
        "status": "booked",
        "payment_status": "pending",
        "payment_method": "cash",
        "action": "save",
    }
    assert post(app, admin, "/coach/sessions/new", data).status_code == 302
    with app.app_context():
        booked = db.scalars(select(CoachingSession)).one()
        assert (booked.coach_id, booked.created_by_id) == (coach.id, user.id)
    assert [e.to_address for e in emails(app)] == [coach.email]  # session_created → coach told
    home = admin.get("/accueil-coach?page=1").get_data(as_text=True)
    assert f"Coach: {coach.full_name}" in home


def test_admin_adds_a_client_for_a_coach(
    app: Flask, desk: tuple[Any, Any, Any], as_role: Callable[..., Any]
) -> None:
    browser, coach, _client = desk
    admin, _user = as_role("admin")
    form = admin.get("/mes-clients/new").get_data(as_text=True)
    assert coach.full_name in form
    data = {"first_name": "Ines", "last_name": "Roux", "email": "ines@example.test"}
    assert (
        post(app, admin, "/mes-clients/new", {**data, "coach_id": str(coach.id)}).status_code == 302
    )
    assert "Roux Ines" in browser.get("/mes-clients").get_data(as_text=True)


def test_deactivating_a_client_needs_the_capability_and_keeps_history(
    app: Flask, desk: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = desk
    sid = add_session(app, coach.id, client.id)
    url = f"/coach/clients/{client.id}/active"
    assert post(app, browser, url).status_code == 403  # delete_clients is off by default
    set_options(app, permissions__coach=["view_clients", "edit_clients", "delete_clients"])
    assert post(app, browser, url).status_code == 302
    with app.app_context():
        assert db.get(User, client.id).is_active is False  # type: ignore[union-attr]
    assert session(app, sid) is not None
    assert post(app, browser, url, {"active": "1"}).status_code == 302
    with app.app_context():
        assert db.get(User, client.id).is_active is True  # type: ignore[union-attr]


def test_calendar_day_links_are_those_of_url_for(app: Flask) -> None:
    """Built once per page with a marker day, even when the marker is in the page's URL."""
    from flask import url_for

    from core.coach.calendar import DAY, day_url

    day = tomorrow_at_ten().date()
    with app.test_request_context():
        for here in ("/calendrier-seances?view=week", f"/calendrier-seances?date={DAY}"):
            link = day_url("coach.new_session", date=DAY, next=here)
            assert link(day) == url_for("coach.new_session", date=day.isoformat(), next=here)
        week = day_url("coach.calendar", view="week", date=DAY)
        assert week(day) == url_for("coach.calendar", view="week", date=day.isoformat())


def test_every_workspace_page_marks_its_menu_entry(
    app: Flask, desk: tuple[Any, Any, Any], as_role: Callable[..., Any]
) -> None:
    """Pages with no menu entry of their own (a profile, the editor, the email log) mark the
    one they belong to, so the coach sees where they are."""
    browser, coach, client = desk
    sid = add_session(app, coach.id, client.id)
    expected = {
        "/accueil-coach": "Coach home",
        f"/customer/{client.id}/overview": "My clients",
        f"/customer/{client.id}/contact": "My clients",
        "/coach/sessions/new": "Coach home",
        f"/coach/sessions/{sid}": "Coach home",
        f"/coach/sessions/{sid}/delete": "Coach home",
        f"/emails/log?client={client.id}": "My clients",
    }
    for url, label in expected.items():
        page = browser.get(url)
        assert page.status_code == 200, url
        assert current_menu_entry(page.get_data(as_text=True)) == label, url
    admin, _ = as_role("admin")
    for url, label in {f"/coach/sessions/{sid}": "Sessions", "/emails/log": "Outbox"}.items():
        assert current_menu_entry(admin.get(url).get_data(as_text=True)) == label, url
