"""A session at 09:00 Paris shows 09:00 on both sides of a clock change; windows use instants."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from flask import Flask

from core.accounts.models import Role
from core.db import db
from core.sessions.models import CoachingSession
from core.sessions.service import client_can_cancel
from core.settings import set_option
from tests.test_clientarea_pages import AREA, add_session

PARIS = ZoneInfo("Europe/Paris")


def paris(day: date, at: time) -> datetime:
    return datetime.combine(day, at, PARIS).astimezone(UTC)


def card_times(html: str) -> list[str]:
    found = re.findall(r'class="session-time">([^<]+)<', html)
    return [t.replace("\u202f", " ") for t in found]  # CLDR puts a narrow space before AM


def signed_in_at(app: Flask, user, moment: datetime):  # type: ignore[no-untyped-def]
    """A client signed in at ``moment`` (a session cookie from the future would be refused)."""
    from tests.conftest import login

    browser = app.test_client()
    with time_machine.travel(moment, tick=False):
        login(app, browser, user)
    return browser


def test_nine_oclock_stays_nine_across_both_changes(app: Flask, make_user) -> None:
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    # Spring forward on 29 March 2026, fall back on 25 October 2026.
    days = [date(2026, 3, 27), date(2026, 3, 30), date(2026, 10, 23), date(2026, 10, 26)]
    for day in days:
        add_session(app, client, coach, starts_at=paris(day, time(9, 0)))
    # Seen in winter (before both changes) and in summer (after spring, before autumn).
    for moment, shown in [
        (datetime(2026, 3, 1, 12, tzinfo=UTC), 4),
        (datetime(2026, 6, 1, tzinfo=UTC), 2),
    ]:
        browser = signed_in_at(app, client, moment)
        with time_machine.travel(moment, tick=False):
            html = browser.get(AREA + "/sessions").get_data(as_text=True)
        assert card_times(html) == ["9:00 AM"] * shown
    # The UTC instants differ by the offset change, the wall clock does not.
    with app.app_context():
        starts = [
            s.starts_at.hour for s in db.query(CoachingSession).order_by(CoachingSession.starts_at)
        ]
    assert starts == [8, 7, 7, 8]


def test_a_client_in_another_zone_sees_their_own_time(app: Flask, make_user) -> None:
    client = make_user(Role.CLIENT, timezone="America/New_York")
    coach = make_user(Role.COACH)
    add_session(app, client, coach, starts_at=paris(date(2026, 3, 20), time(9, 0)))
    moment = datetime(2026, 3, 1, 12, tzinfo=UTC)
    browser = signed_in_at(app, client, moment)
    with time_machine.travel(moment, tick=False):
        html = browser.get(AREA + "/sessions").get_data(as_text=True)
    assert card_times(html) == ["4:00 AM"]


def test_window_is_counted_in_instants_over_the_spring_change(app: Flask, make_user) -> None:
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    # 09:00 Paris on Monday 30 March (07:00Z); 24 h before is 07:00Z on Sunday 29 March, which
    # is 09:00 Paris too — but a wall-clock subtraction would say 08:00Z (Sunday 09:00 "minus" DST).
    sid = add_session(app, client, coach, starts_at=paris(date(2026, 3, 30), time(9, 0)))
    with app.app_context():
        set_option("general.cancellation_window_hours", 24)
        db.commit()
        session = db.get(CoachingSession, sid)
        deadline = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
        assert client_can_cancel(session, deadline - timedelta(seconds=1))
        assert not client_can_cancel(session, deadline)


def test_cancel_refused_one_minute_after_the_deadline_across_dst(app: Flask, make_user) -> None:
    from tests.conftest import post

    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    browser = signed_in_at(app, client, datetime(2026, 10, 25, 6, tzinfo=UTC))
    early, late = (
        add_session(app, client, coach, starts_at=paris(date(2026, 10, 26), time(9, 0)))
        for _ in range(2)
    )
    # 24 h before 08:00Z Monday is 08:00Z Sunday 25 October = 09:00 Paris (after falling back).
    with time_machine.travel(datetime(2026, 10, 25, 7, 59, tzinfo=UTC), tick=False):
        post(app, browser, f"{AREA}/sessions/{early}/cancel", {"version": 1})
    with time_machine.travel(datetime(2026, 10, 25, 8, 1, tzinfo=UTC), tick=False):
        post(app, browser, f"{AREA}/sessions/{late}/cancel", {"version": 1})
    with app.app_context():
        assert db.get(CoachingSession, early).status == "cancelled"
        assert db.get(CoachingSession, late).status == "booked"
