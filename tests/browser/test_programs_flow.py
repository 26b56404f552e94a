"""Chromium: a coach sells a pack of 6 weekly sessions from a template, sends the
confirmations, and the client finds the bundle and its sessions in the client area.

Screenshots (phone and desktop) of the three wizard steps, the bundle page, the
templates list and the client's My programs tab are left in test-artifacts/.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from core.db import db, utcnow
from core.programs.models import Bundle
from core.sessions.models import CoachingSession
from core.worker import run_once
from tests.conftest import PASSWORD, Mailbox, browser_login
from tests.conftest import screenshot as save_screenshots
from tests.test_coach_support import assign

pytestmark = pytest.mark.browser


def test_coach_sells_a_pack_and_the_client_sees_it(
    page: Any, browser: Any, live_server: str, app: Flask, make_user: Any, mailbox: Mailbox
) -> None:
    coach = make_user("coach", first_name="Hélène", last_name="Durand")
    client = make_user("client", first_name="Chloé", last_name="Martin")
    assign(app, coach.id, client.id)
    browser_login(page, live_server, app, coach.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-coach")

    # A template, from the Programs menu.
    page.get_by_role("link", name="Programs").first.click()
    page.get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="New template").first.click()
    page.fill("input[name=title]", "Six-week reset")
    page.fill("input[name=planned_count]", "6")
    page.fill("input[name=price]", "300")
    page.fill("input[name=location]", "Studio 4, 12 rue Lafayette")
    page.get_by_role("button", name="Save template").click()
    page.wait_for_load_state()
    assert "Template saved." in page.content()
    page.goto(f"{live_server}/programs/templates")
    screenshot(page, "programs-templates")

    # From the client's profile: Programs tab, New bundle, start from the template.
    page.goto(f"{live_server}/customer/{client.id}")
    page.get_by_role("link", name="Programs", exact=True).last.click()
    page.wait_for_url(f"**/customer/{client.id}/programs")
    page.locator("main").get_by_role("link", name="New bundle").first.click()
    page.get_by_role("button", name="Use this template").click()
    page.wait_for_load_state()
    assert page.input_value("input[name=title]") == "Six-week reset"
    assert page.input_value("input[name=planned_count]") == "6"
    screenshot(page, "programs-wizard-1-offer")
    page.get_by_role("button", name="Next: scheduling").click()
    page.wait_for_url("**/schedule")

    # Scheduling: every Tuesday at 18:30 from next week, generated, one card edited by hand.
    paris = ZoneInfo("Europe/Paris")
    today = utcnow().astimezone(paris).date()
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7 + 7)
    page.fill("input[name=gen-start]", tuesday.isoformat())
    page.fill("input[name=gen-at]", "18:30")
    for box in page.locator("input[name=gen-weekdays]").all():
        box.set_checked(box.get_attribute("value") == "1")
    page.get_by_role("button", name="Generate dates").click()
    page.wait_for_load_state()
    days = [page.input_value(f"input[name=day-{i}]") for i in range(6)]
    assert days == [(tuesday + timedelta(weeks=i)).isoformat() for i in range(6)]
    page.fill("input[name=time-5]", "19:00")
    screenshot(page, "programs-wizard-2-schedule")
    page.get_by_role("button", name="Next: confirmation").click()
    page.wait_for_url("**/confirm")
    text = page.content()
    assert "€300.00" in text and text.count("€50.00") == 6
    screenshot(page, "programs-wizard-3-confirm")
    page.get_by_role("button", name="Create the bundle").click()
    page.wait_for_url("**/programs/bundles/*")
    assert "No email was sent" in page.content() and "0 / 6 sessions" in page.content()
    run_once_in(app)
    assert mailbox.to(client.email) == []

    # Send confirmations (twice: one email).
    page.get_by_role("button", name="Send confirmations").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Send confirmations").click()
    page.wait_for_load_state()
    assert "nothing was sent" in page.content()
    screenshot(page, "programs-bundle")
    page.goto(f"{live_server}/programs/")
    screenshot(page, "programs-index")
    for tab in ("programs", "finances"):
        page.goto(f"{live_server}/customer/{client.id}/{tab}")
        assert "Six-week reset" in page.content()
        screenshot(page, f"programs-profile-{tab}")
    run_once_in(app)
    (email,) = mailbox.to(client.email)
    body = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert body.count("Place: Studio 4, 12 rue Lafayette") == 6 and "7:00" in body
    with app.app_context():
        bundle = db.scalars(select(Bundle)).one()
        starts = db.scalars(
            select(CoachingSession.starts_at).where(CoachingSession.bundle_id == bundle.id)
        ).all()
        local = sorted(s.astimezone(paris).strftime("%H:%M") for s in starts)
        assert local == ["18:30"] * 5 + ["19:00"]

    # The client signs in and finds the bundle and its sessions.
    client_context = browser.new_context()
    client_page = client_context.new_page()
    browser_login(client_page, live_server, app, client.email, PASSWORD)
    client_page.wait_for_url(f"{live_server}/accueil-client/**")
    client_page.get_by_role("link", name="My programs").click()
    client_page.wait_for_url("**/accueil-client/programs")
    text = client_page.content()
    assert "Six-week reset" in text and "0 / 6 sessions" in text
    assert "Six-week reset (1/6)" in text and "Six-week reset (6/6)" in text
    screenshot(client_page, "programs-client-area")
    client_page.get_by_role("link", name="Payments").click()
    client_page.wait_for_url("**/accueil-client/payments")
    assert client_page.content().count("Part of your program") == 6
    client_context.close()


def screenshot(page: Any, name: str) -> None:
    """From the top of the page (a field left focused scrolls it down)."""
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshots(page, name)


def run_once_in(app: Flask) -> None:
    with app.app_context():
        run_once()
