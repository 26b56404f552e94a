"""Admin dashboard and sessions list with lots of data: bounded pages, capped counts, flat
costs (SQL statements and translations do not grow with the rows)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

import core.admin.dashboard
import core.paging
from core.accounts.models import Role, User
from core.admin.blueprint import PER_PAGE
from core.admin.dashboard import TODAY_ROWS
from core.db import db
from core.i18n import Formats
from core.paging import capped_count
from core.sessions.models import CoachingSession
from tests.test_admin_dashboard import count_queries, mark_setup_done

NOON = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # 12:00 in Paris, the site's zone


@pytest.fixture
def admin(as_role: Callable[..., Any], app: Flask) -> Callable[[], Any]:
    """Signs an administrator in (call it inside the test: after time_machine's travel)."""

    def sign_in() -> Any:
        mark_setup_done(app)
        web, _ = as_role(Role.ADMIN)
        return web

    return sign_in


@pytest.fixture
def coach_and_client(make_user: Callable[..., User]) -> tuple[User, User]:
    return make_user(Role.COACH), make_user(Role.CLIENT)


def add_sessions(app: Flask, people: tuple[User, User], starts: list[datetime]) -> list[int]:
    """Booked sessions (never confirmed to the client) at ``starts``; their ids."""
    coach, client = people
    with app.app_context():
        sessions = [
            CoachingSession(
                coach_id=coach.id, client_id=client.id, title="Run", starts_at=at, price_amount=5000
            )
            for at in starts
        ]
        db.add_all(sessions)
        db.commit()
        return [s.id for s in sessions]


def rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="session-(\d+)"', html)]


@time_machine.travel(NOON, tick=False)
def test_dashboard_shows_the_start_of_a_busy_day_and_links_to_all_of_it(
    admin: Callable[[], Any], app: Flask, coach_and_client: tuple[User, User]
) -> None:
    web = admin()
    early = NOON.replace(hour=1)  # 02:00 in Paris
    few = add_sessions(app, coach_and_client, [early + timedelta(minutes=i) for i in range(3)])
    html = web.get("/admin/").get_data(as_text=True)
    assert rows(html) == few
    assert "See all of today's sessions" not in html

    starts = [early + timedelta(minutes=10 + i) for i in range(TODAY_ROWS * 3)]
    many = add_sessions(app, coach_and_client, starts)
    html = web.get("/admin/").get_data(as_text=True)
    assert rows(html) == (few + many)[:TODAY_ROWS]
    assert "See all of today's sessions" in html
    assert 'href="/admin/sessions?start=2026-03-10&amp;end=2026-03-10"' in html
    assert f'<dd class="stat-value">{3 + TODAY_ROWS * 3}</dd>' in html  # the count is whole


def test_capped_count_stops_counting_after_the_cap(
    app: Flask, coach_and_client: tuple[User, User]
) -> None:
    add_sessions(app, coach_and_client, [NOON + timedelta(hours=i) for i in range(7)])
    ids = select(CoachingSession.id)
    with app.app_context():
        assert capped_count(ids, 10) == (7, False)
        assert capped_count(ids, 7) == (7, False)
        assert capped_count(ids, 5) == (5, True)
        assert capped_count(ids.where(CoachingSession.id < 0), 5) == (0, False)


def test_lists_say_when_there_are_more_than_they_counted(
    admin: Callable[[], Any],
    app: Flask,
    coach_and_client: tuple[User, User],
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    web = admin()
    monkeypatch.setattr(core.paging, "COUNT_CAP", 5)
    monkeypatch.setattr(core.admin.dashboard, "ALERT_COUNT_CAP", 5)
    ahead = datetime.now(UTC) + timedelta(days=2)
    add_sessions(app, coach_and_client, [ahead + timedelta(hours=i) for i in range(7)])
    other = make_user(Role.COACH), coach_and_client[1]
    add_sessions(app, other, [ahead, ahead + timedelta(hours=1)])

    html = web.get("/admin/sessions").get_data(as_text=True)
    assert "<p>5+ sessions</p>" in html
    assert len(rows(html)) == 9  # the rows shown are not capped: the page is
    assert "<p>2 sessions</p>" in web.get(f"/admin/sessions?coach={other[0].id}").get_data(
        as_text=True
    )
    dashboard = web.get("/admin/").get_data(as_text=True)
    assert "More than 5 upcoming sessions were never confirmed to their clients." in dashboard


def test_sessions_list_pages_latest_first_or_in_calendar_order_from_a_start_date(
    admin: Callable[[], Any], app: Flask, coach_and_client: tuple[User, User]
) -> None:
    web = admin()
    # Two sessions share each start: the id breaks the tie, the same way on every page.
    starts = [NOON + timedelta(hours=i // 2) for i in range(PER_PAGE + 6)]
    ids = add_sessions(app, coach_and_client, starts)
    latest_first = [i for _, i in sorted(zip(starts, ids, strict=True), reverse=True)]
    pages = [rows(web.get(f"/admin/sessions?page={n}").get_data(as_text=True)) for n in (1, 2)]
    assert pages == [latest_first[:PER_PAGE], latest_first[PER_PAGE:]]

    url = f"/admin/sessions?start={NOON.date().isoformat()}"
    pages = [rows(web.get(f"{url}&page={n}").get_data(as_text=True)) for n in (1, 2)]
    assert pages == [ids[:PER_PAGE], ids[PER_PAGE:]]


def translations_on(app: Flask, web: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many messages the templates translated for one request of ``url``."""
    calls: list[str] = []
    original = Formats.gettext

    def counting(self: Formats, message: str) -> str:
        calls.append(message)
        return original(self, message)

    with monkeypatch.context() as patch:
        patch.setattr(Formats, "gettext", counting)
        assert web.get(url).status_code == 200
    return len(calls)


@time_machine.travel(NOON, tick=False)
def test_each_list_costs_the_same_with_one_page_of_rows_or_many(
    admin: Callable[[], Any],
    app: Flask,
    coach_and_client: tuple[User, User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    web = admin()
    coach = coach_and_client[0]
    day = NOON.date().isoformat()
    urls = [
        "/admin/",
        "/admin/sessions",
        "/admin/sessions?status=booked",
        f"/admin/sessions?coach={coach.id}",
        "/admin/sessions?client=tester",
        "/admin/sessions?payment=pending",
        f"/admin/sessions?start={day}&end={day}",
        "/admin/sessions?pending_confirmation=y",
        f"/admin/sessions?status=booked&coach={coach.id}&payment=pending&page=2",
    ]
    add_sessions(
        app, coach_and_client, [NOON + timedelta(hours=1, minutes=i) for i in range(PER_PAGE + 1)]
    )

    def costs() -> dict[str, tuple[int, int]]:
        return {
            url: (count_queries(app, web, url), translations_on(app, web, url, monkeypatch))
            for url in urls
        }

    few = costs()
    add_sessions(
        app, coach_and_client, [NOON + timedelta(hours=1, minutes=i) for i in range(30, 200)]
    )
    assert costs() == few


def test_an_unfiltered_list_shows_no_filter_error(admin: Callable[[], Any]) -> None:
    """No coach chosen is "any coach", not an invalid choice."""
    web = admin()
    for url in ("/admin/sessions", "/admin/sessions?status=completed"):
        html = web.get(url).get_data(as_text=True)
        assert "field-error" not in html
        assert 'aria-invalid="true"' not in html
