"""Chromium: the coach's revenue chart and a client's payment donut, in both bundled themes.

The page must not break its own Content Security Policy (pygal writes an inline script
unless core/charts.py removes it), exactly one drawing of each chart shows at a given
width, and the data table opens. Screenshots at phone and desktop widths, per theme.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.db import db, utcnow
from core.payments.models import Payment
from core.payments.service import record_payment, record_refund
from core.sessions.models import CoachingSession
from tests.conftest import PASSWORD, browser_login, screenshot
from tests.helpers import set_options
from tests.test_coach_support import add_session, assign

pytestmark = pytest.mark.browser


def paid_sessions(app: Flask, coach_id: int, client_id: int) -> None:
    """A year of paid sessions (different amounts each month), one refund, one pending."""
    now = utcnow()
    for month in range(12):
        for n in range(month % 4 + 1):
            when = now - timedelta(days=30 * month + n)
            sid = add_session(
                app, coach_id, client_id, starts_at=when, status="completed", price_amount=4500
            )
            with app.app_context():
                session = db.get(CoachingSession, sid)
                assert session is not None
                record_payment(session, method="transfer", paid_at=when)
                db.commit()
    add_session(app, coach_id, client_id, price_amount=6000)
    with app.app_context():
        payment = db.scalars(select(Payment).order_by(Payment.id)).first()
        assert payment is not None
        record_refund(payment, amount=payment.amount, refunded_at=now)
        db.commit()


def visible_drawings(page: Any) -> list[str]:
    """The class of each chart drawing that is displayed, in page order."""
    return page.eval_on_selector_all(
        "svg.chart-svg",
        "els => els.filter(e => e.getBoundingClientRect().width > 0).map(e => e.classList[1])",
    )


@pytest.mark.parametrize("theme", ["default", "night"])
def test_charts_respect_the_csp_and_fit_phone_and_desktop(
    page: Any, live_server: str, app: Flask, make_user: Any, theme: str
) -> None:
    coach = make_user("coach", first_name="Hélène", last_name="Durand")
    client = make_user("client", first_name="Bruno", last_name="Lefèvre")
    assign(app, coach.id, client.id)
    paid_sessions(app, coach.id, client.id)
    set_options(app, theme__active=theme)
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    browser_login(page, live_server, app, coach.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-coach")

    page.goto(f"{live_server}/accueil-coach?tab=statistics")
    page.set_viewport_size({"width": 390, "height": 844})
    assert visible_drawings(page) == ["is-narrow"]
    page.set_viewport_size({"width": 1280, "height": 900})
    assert visible_drawings(page) == ["is-wide"]
    page.get_by_text("Show the data").click()
    assert page.locator(".chart-table tbody tr").count() == 12
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would sit mid-page
    screenshot(page, f"charts-revenue-{theme}")

    page.goto(f"{live_server}/customer/{client.id}/finances")
    donut = page.locator("figure.chart-donut")
    assert donut.locator("svg.chart-svg").is_visible()
    legend = donut.locator(".chart-legend li").all_inner_texts()
    assert [" ".join(item.split()) for item in legend] == [
        "Pending 1",
        "Paid 29",
        "Refunded 1",
        "Cancelled 0",
    ]
    screenshot(page, f"charts-finances-{theme}")
    assert problems == []
