"""One date style everywhere people read a date, and the small fixes seen on the way."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from core.db import db
from core.demo import load_demo
from core.i18n import when
from core.sessions.models import CoachingSession, SessionLink
from core.settings import get_option
from tests.test_clientarea_pages import AREA, people  # noqa: F401 (a fixture)
from tests.test_clientarea_pages import add_session as add_client_session
from tests.test_coach_support import add_session, coach_with_client

NUMERIC_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")
CHRISTMAS = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)  # 10:00 in Paris


def test_when_writes_weekday_day_month_and_year_in_the_viewer_s_language(app: Flask) -> None:
    with app.test_request_context():
        assert when(CHRISTMAS).replace("\u202f", " ") == "Fri 25 Dec 2026, 10:00 AM"
        assert when(CHRISTMAS, year=False).startswith("Fri 25 Dec,")
        assert when(date(2026, 12, 25)) == "Fri 25 Dec 2026"
        assert when(None) == ""
        with force_locale("fr"):
            assert when(CHRISTMAS) == "ven. 25 déc. 2026, 10:00"


def test_coach_finances_and_lists_never_show_a_numeric_date(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, coach, client = coach_with_client(app, as_role, make_user)
    add_session(app, coach.id, client.id, title="Christmas run", starts_at=CHRISTMAS)
    for url in (f"/customer/{client.id}/finances", f"/customer/{client.id}/sessions"):
        html = browser.get(url).get_data(as_text=True)
        assert "Fri 25 Dec 2026, 10:00" in html, url
        assert not NUMERIC_DATE.search(html), (url, NUMERIC_DATE.search(html))


def test_coach_cards_leave_delete_to_the_editor(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, coach, client = coach_with_client(app, as_role, make_user)
    sid = add_session(app, coach.id, client.id, title="Kept")
    home = browser.get("/accueil-coach").get_data(as_text=True)
    assert "Kept" in home and f"/coach/sessions/{sid}/delete" not in home
    assert 'class="btn btn-secondary" href="/calendrier-seances"' not in home  # the menu has it
    editor = browser.get(f"/coach/sessions/{sid}").get_data(as_text=True)
    assert f"/coach/sessions/{sid}/delete" in editor  # a page that asks to confirm
    assert editor.count("Times are in Europe/Paris") == 1


def test_client_phone_shows_a_phone_icon(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, _, client = coach_with_client(app, as_role, make_user, phone="06 12 34 56 78")
    html = browser.get(f"/customer/{client.id}").get_data(as_text=True)
    assert re.search(r'#i-phone"></use></svg><a href="tel:0612345678"', html)


def test_video_call_shows_once_when_a_link_repeats_it(app: Flask, people: Any) -> None:  # noqa: F811
    browser, client, coach = people
    add_client_session(
        app,
        client,
        coach,
        video_url="https://meet.example/abc",
        links=[("Video call", "https://meet.example/abc"), ("Plan", "https://x.example/plan")],
    )
    html = browser.get(AREA + "/sessions").get_data(as_text=True)
    assert html.count('href="https://meet.example/abc"') == 1 and "Join the video call" in html
    assert 'href="https://x.example/plan"' in html


def test_demo_looks_like_a_business_in_its_own_language(app: Flask) -> None:
    with app.app_context():
        load_demo()
        assert get_option("receipts.business_name") and get_option("receipts.tax_id")
        assert "Lyon" in get_option("receipts.business_address")
        titles = set(db.scalars(select(CoachingSession.title).distinct()))
        assert "Renforcement musculaire" in titles and "Strength training" not in titles
        links = db.scalar(select(func.count()).select_from(SessionLink))
        assert links == 0  # the video call is the session's video URL, not a second link
