"""Admin dashboard and sessions list: figures in the site's time zone, filters, flat queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event

from core.accounts.models import Role, User
from core.admin.setup import SETUP_COMPLETED
from core.db import db, get_database
from core.emails.models import OutboxEmail
from core.sessions.models import CoachingSession
from tests.helpers import set_options


def mark_setup_done(app: Flask) -> None:
    set_options(app, **{SETUP_COMPLETED: True})


def add_session(
    app: Flask, coach: User, client: User | None, starts_at: datetime, **fields: Any
) -> int:
    values: dict[str, Any] = {
        "coach_id": coach.id,
        "client_id": client.id if client else None,
        "title": "Strength training",
        "starts_at": starts_at,
        "price_amount": 6000,
        "currency": "EUR",
        **fields,
    }
    if client is None:
        values["status"] = "available"
    with app.app_context():
        session = CoachingSession(**values)
        db.add(session)
        db.commit()
        return session.id


def add_email(app: Flask, status: str, **fields: Any) -> None:
    """Commit one outbox email (``fields`` override the defaults)."""
    values: dict[str, Any] = {
        "email_type": "test",
        "to_address": "x@example.test",
        "from_address": "site@example.test",
        "subject": "Hello",
        "body_text": "Hi",
        "status": status,
    }
    with app.app_context():
        db.add(OutboxEmail(**{**values, **fields}))
        db.commit()


def stat_figures(html: str) -> dict[str, str]:
    """Label → value of the stat cards on a page."""
    return dict(
        re.findall(
            r'<dt class="stat-label">([^<]+)</dt>\s*<dd class="stat-value[^"]*">([^<]+)</dd>', html
        )
    )


@pytest.fixture
def admin(as_role: Callable[..., Any], app: Flask) -> tuple[Any, User]:
    mark_setup_done(app)
    return as_role(Role.ADMIN)  # type: ignore[no-any-return]


def test_dashboard_redirects_to_setup_until_completed(
    as_role: Callable[..., Any], app: Flask
) -> None:
    web, _ = as_role(Role.ADMIN)
    response = web.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/setup")
    mark_setup_done(app)
    assert web.get("/admin/").status_code == 200


@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_dashboard_counts_the_site_day_not_the_utc_day(
    as_role: Callable[..., Any], make_user: Callable[..., User], app: Flask
) -> None:
    mark_setup_done(app)
    web, _ = as_role(Role.ADMIN)
    coach, client = make_user(Role.COACH), make_user(Role.CLIENT)
    # 00:30 in Paris on 10 March is 23:30 UTC on 9 March: it belongs to Paris's today.
    add_session(app, coach, client, datetime(2026, 3, 9, 23, 30, tzinfo=UTC), price_amount=4500)
    add_session(app, coach, client, datetime(2026, 3, 10, 16, 0, tzinfo=UTC), price_amount=8000)
    # 23:30 UTC on 10 March is 00:30 on 11 March in Paris: tomorrow, not counted.
    add_session(app, coach, client, datetime(2026, 3, 10, 23, 30, tzinfo=UTC), price_amount=999)
    # Today but cancelled: neither held nor billed.
    add_session(app, coach, client, datetime(2026, 3, 10, 9, 0, tzinfo=UTC), status="cancelled")
    add_email(app, "dead")
    add_email(app, "dead")
    add_email(app, "pending")
    add_email(app, "sent")

    html = web.get("/admin/").get_data(as_text=True)
    figures = stat_figures(html)
    assert figures["Sessions today"] == "2"
    assert figures["Pending today"] == "€125.00"
    assert figures["Undelivered emails"] == "2"
    assert figures["Emails waiting"] == "1"
    assert "2 emails could not be delivered." in html
    assert "€125.00 is pending for today&#39;s sessions." in html


@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
def test_dashboard_day_follows_a_changed_site_time_zone(
    as_role: Callable[..., Any], make_user: Callable[..., User], app: Flask
) -> None:
    mark_setup_done(app)
    web, _ = as_role(Role.ADMIN)
    coach, client = make_user(Role.COACH), make_user(Role.CLIENT)
    add_session(app, coach, client, datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    set_options(app, general__timezone="America/New_York")  # 18:30 on 9 March there
    assert stat_figures(web.get("/admin/").get_data(as_text=True))["Sessions today"] == "0"


def test_sessions_list_filters(
    admin: tuple[Any, User], make_user: Callable[..., User], app: Flask
) -> None:
    web, _ = admin
    anna = make_user(Role.COACH, first_name="Anna")
    ben = make_user(Role.COACH, first_name="Ben")
    zoe = make_user(Role.CLIENT, first_name="Zoé", last_name="Roux")
    max_ = make_user(Role.CLIENT, first_name="Max", last_name="Petit")
    future = datetime.now(UTC) + timedelta(days=3)
    a = add_session(app, anna, zoe, future, title="Anna-Zoe-unconfirmed")
    b = add_session(
        app,
        ben,
        max_,
        future,
        title="Ben-Max-confirmed",
        status="confirmed",
        confirmation_sent_at=datetime.now(UTC),
    )
    c = add_session(
        app, anna, max_, future - timedelta(days=10), title="Anna-Max-completed", status="completed"
    )

    def titles(query: str) -> set[str]:
        response = web.get("/admin/sessions" + query)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        return {
            t
            for t in ("Anna-Zoe-unconfirmed", "Ben-Max-confirmed", "Anna-Max-completed")
            if t in html
        }

    assert titles("") == {"Anna-Zoe-unconfirmed", "Ben-Max-confirmed", "Anna-Max-completed"}
    assert titles(f"?coach={anna.id}") == {"Anna-Zoe-unconfirmed", "Anna-Max-completed"}
    assert titles("?client=petit") == {"Ben-Max-confirmed", "Anna-Max-completed"}
    assert titles("?status=completed") == {"Anna-Max-completed"}
    assert titles("?pending_confirmation=y") == {"Anna-Zoe-unconfirmed"}
    day = future.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()  # the site's zone
    assert titles(f"?start={day}&end={day}") == {"Anna-Zoe-unconfirmed", "Ben-Max-confirmed"}
    assert titles("?payment=paid") == set()
    assert {a, b, c}  # ids exist
    html = web.get(f"/admin/sessions?start={day}&end=2000-01-01").get_data(as_text=True)
    assert "The end date is before the start date." in html


def test_sessions_list_rows_open_the_session_editor(
    admin: tuple[Any, User], make_user: Callable[..., User], app: Flask
) -> None:
    web, _ = admin
    session_id = add_session(app, make_user(Role.COACH), make_user(Role.CLIENT), datetime.now(UTC))
    html = web.get("/admin/sessions").get_data(as_text=True)
    with app.test_request_context():
        from core.admin.blueprint import session_url

        assert f'href="{session_url(session_id)}"' in html


def count_queries(app: Flask, web: Any, url: str) -> int:
    engine = get_database(app).engine
    seen: list[str] = []

    def before(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", before)
    try:
        assert web.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return len(seen)


def test_query_count_does_not_grow_with_data(
    admin: tuple[Any, User], make_user: Callable[..., User], app: Flask
) -> None:
    web, _ = admin
    coach = make_user(Role.COACH)
    clients = [make_user(Role.CLIENT) for _ in range(3)]
    now = datetime.now(UTC)
    add_session(app, coach, clients[0], now)
    few = {url: count_queries(app, web, url) for url in ("/admin/sessions", "/admin/")}
    with app.app_context():
        for i in range(60):
            db.add(
                CoachingSession(
                    coach_id=coach.id,
                    client_id=clients[i % 3].id,
                    title=f"S{i}",
                    starts_at=now + timedelta(minutes=i),
                )
            )
        db.commit()
    many = {url: count_queries(app, web, url) for url in ("/admin/sessions", "/admin/")}
    assert many == few


def test_admin_menu_entries_are_for_admins_only(as_role: Callable[..., Any], app: Flask) -> None:
    mark_setup_done(app)
    entries = ("/admin/", "/admin/sessions", "/admin/settings", "/admin/users", "/admin/addons")
    admin_web, _ = as_role(Role.ADMIN)
    html = admin_web.get("/admin/users").get_data(as_text=True)
    assert all(f'href="{url}"' in html for url in (*entries, "/admin/themes"))
    coach_web, _ = as_role(Role.COACH)
    coach_html = coach_web.get("/accueil-coach").get_data(as_text=True)
    assert not any(f'href="{url}"' in coach_html for url in entries)
