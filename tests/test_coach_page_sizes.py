"""Coach pages stay the same size, and run the same queries, however busy the day or month."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from core.coach.calendar import MONTH_CELL_LIMIT, WEEK_CELL_LIMIT
from core.coach.home import PER_PAGE
from core.db import utcnow
from tests.test_clientarea_queries import counting
from tests.test_coach_support import add_session, assign

PARIS = ZoneInfo("Europe/Paris")  # the site's zone by default


def paris(day: date, at: time) -> datetime:
    return datetime.combine(day, at, PARIS).astimezone(UTC)


def cards(html: str, section: str) -> int:
    """The session cards of a home section ("today-title" or "upcoming-title")."""
    part = html.split(f'aria-labelledby="{section}"', 1)[1].split("</section>", 1)[0]
    return part.count('<li class="session-card')


def calendar_days(html: str) -> dict[str, str]:
    """Each calendar day's markup, by its full date (the section's aria-label)."""
    found = re.findall(
        r'<section class="cal-day[^"]*" aria-label="([^"]+)">(.*?)</section>', html, re.S
    )
    return dict(found)


def test_home_shows_ten_cards_per_list_and_pages_through_today(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, coach = as_role("coach")
    client = make_user("client")
    assign(app, coach.id, client.id)
    today = utcnow().astimezone(PARIS).date()
    midnight = paris(today, time(0, 0))
    add_session(app, coach.id, client.id, title="Early", starts_at=midnight)
    add_session(app, coach.id, client.id, title="Later on", starts_at=midnight + timedelta(days=2))

    def home(url: str) -> tuple[str, int]:
        with counting(app) as statements:
            response = browser.get(url)
        assert response.status_code == 200
        return response.get_data(as_text=True), len(statements)

    small, queries = home("/accueil-coach")
    assert cards(small, "today-title") == 1 and cards(small, "upcoming-title") == 1
    for i in range(1, 25):  # 25 today, every half hour from midnight
        add_session(app, coach.id, client.id, starts_at=midnight + timedelta(minutes=30 * i))
        add_session(app, coach.id, client.id, starts_at=midnight + timedelta(days=3, hours=i))
    first, first_queries = home("/accueil-coach")
    assert cards(first, "today-title") == PER_PAGE and cards(first, "upcoming-title") == PER_PAGE
    assert "Early" in first and "See all 25 sessions of today in the calendar" in first
    assert "/accueil-coach?today_page=2" in first and "/accueil-coach?page=2" in first
    assert first_queries == queries  # the lists grew, the statements did not
    last, last_queries = home("/accueil-coach?today_page=3&page=2")
    assert cards(last, "today-title") == 5 and cards(last, "upcoming-title") == PER_PAGE
    assert "Early" not in last and last_queries == queries
    # Each list's pagination keeps the other list's page; cards come back to this page.
    assert "/accueil-coach?today_page=2&amp;page=2" in last
    assert "/accueil-coach?today_page=3&amp;page=3" in last
    assert "next=/accueil-coach?today_page%3D3%26page%3D2" in last


def test_month_cells_read_what_they_show_and_count_the_rest(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, coach = as_role("coach")
    client = make_user("client", first_name="Zoé", last_name="Busy")
    assign(app, coach.id, client.id)
    day = (utcnow() + timedelta(days=40)).astimezone(PARIS).date()
    url = f"/calendrier-seances?date={day.isoformat()}"
    add_session(app, coach.id, client.id, starts_at=paris(day, time(8, 0)))
    with counting(app) as statements:
        browser.get(url)
    queries = len(statements)
    for minutes in range(1, 10):  # ten that day
        add_session(app, coach.id, client.id, starts_at=paris(day, time(8, minutes)))
    with counting(app) as statements:
        html = browser.get(url).get_data(as_text=True)
    assert len(statements) == queries
    cell = calendar_days(html)[f"{day:%A, %B} {day.day}, {day.year}"]
    assert cell.count('class="cal-entry') == MONTH_CELL_LIMIT
    assert f"+ {10 - MONTH_CELL_LIMIT} more" in cell
    assert f"/calendrier-seances?view=week&amp;date={day.isoformat()}" in cell
    week = browser.get(f"/calendrier-seances?view=week&date={day.isoformat()}")
    assert week.get_data(as_text=True).count('class="cal-entry') == 10


def test_a_crowded_week_day_is_cut_with_a_way_to_the_rest(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    coach_browser, coach = as_role("coach")
    admin_browser, _admin = as_role("admin")
    day = (utcnow() + timedelta(days=10)).astimezone(PARIS).date()
    for n in range(WEEK_CELL_LIMIT + 2):  # open slots every quarter of an hour
        add_session(
            app, coach.id, None, starts_at=paris(day, time(6, 0)) + timedelta(minutes=15 * n)
        )
    url = f"/calendrier-seances?view=week&date={day.isoformat()}"
    mine = coach_browser.get(url).get_data(as_text=True)
    assert mine.count('class="cal-entry') == WEEK_CELL_LIMIT
    assert '<li class="cal-more">+ 2 more</li>' in mine
    everyone = admin_browser.get(url).get_data(as_text=True)
    assert everyone.count('class="cal-entry') == WEEK_CELL_LIMIT
    assert f"/admin/sessions?start={day.isoformat()}&amp;end={day.isoformat()}" in everyone


def test_calendar_days_are_local_days_across_a_clock_change(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, coach = as_role("coach")
    client = make_user("client")
    assign(app, coach.id, client.id)
    # Paris springs forward on Sunday 29 March 2026: that day has 23 hours.
    for title, day, at in [
        ("Saturday night", date(2026, 3, 28), time(23, 30)),
        ("Sunday just after midnight", date(2026, 3, 29), time(0, 30)),
        ("Sunday night", date(2026, 3, 29), time(23, 30)),
        ("Monday just after midnight", date(2026, 3, 30), time(0, 30)),
    ]:
        add_session(app, coach.id, client.id, title=title, starts_at=paris(day, at))
    html = browser.get("/calendrier-seances?view=week&date=2026-03-25").get_data(as_text=True)
    days = calendar_days(html)
    saturday = days["Saturday, March 28, 2026"]
    sunday = days["Sunday, March 29, 2026"]
    assert saturday.count('class="cal-entry') == 1 and "23:30" in saturday
    assert sunday.count('class="cal-entry') == 2
    assert sunday.index("00:30") < sunday.index("23:30")
    monday = browser.get("/calendrier-seances?view=week&date=2026-03-30").get_data(as_text=True)
    assert calendar_days(monday)["Monday, March 30, 2026"].count('class="cal-entry') == 1
