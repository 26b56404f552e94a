"""The session cards' Clock (client area and coach pages) writes what the date, time and
when filters write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, render_template_string

from core.db import db
from core.i18n import when
from core.sessions.clock import Clock
from core.sessions.models import CoachingSession
from core.settings import set_option

FILTERS = (
    "{{ s.starts_at|date('EEE') }}|{{ s.starts_at|date('d') }}|{{ s.starts_at|date(month) }}"
    "|{{ s.starts_at|time }}|{{ s.ends_at|time }}"
)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_clock_writes_what_the_filters_write(app: Flask, language: str) -> None:
    with app.app_context():
        set_option("general.timezone", "Europe/Paris")
        db.commit()
    # Both sides of Paris's clock changes, midnight there, a long session and a short one.
    starts = [
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
        datetime(2027, 6, 1, 7, 5, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 30, tzinfo=UTC),  # cannot move east of UTC: shown as stored
    ]
    with app.test_request_context("/", headers={"Accept-Language": language}):
        clock = Clock()
        for n, start in enumerate(starts):
            session = CoachingSession(starts_at=start, duration_minutes=30 + 90 * n)
            expected = render_template_string(FILTERS, s=session, month="MMM y")
            assert "|".join(clock.card(session)) == expected
            coach_card = render_template_string(FILTERS, s=session, month="MMM")  # no year
            assert "|".join(clock.card(session, "MMM")) == coach_card
            assert clock.when(start) == when(start)
            assert clock.when(start - timedelta(hours=5)) == when(start - timedelta(hours=5))
        assert clock.when(None) == when(None) == ""
        first = clock.card(CoachingSession(starts_at=starts[0], duration_minutes=30))
        assert first.start.replace("\u202f", " ") in ("12:30 AM", "00:30")  # in Paris
