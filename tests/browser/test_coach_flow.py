"""Chromium: a coach's working day, from adding a client to the client seeing a paid session.

Adds a client with login details (the welcome link sets a password), books a
session with a PDF, saves silently, saves and notifies (one confirmation), moves
it (one update), marks it paid; then the client signs in and sees it all.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from core.accounts.models import User
from core.db import db, utcnow
from core.sessions.models import CoachingSession
from core.worker import run_once
from tests.conftest import PASSWORD, Mailbox, browser_login, links_in, screenshot
from tests.test_coach_support import PDF, add_session, assign

pytestmark = pytest.mark.browser


def deliver(app: Flask) -> None:
    """One outbox pass, as the worker does it."""
    with app.app_context():
        run_once()


def test_coach_day(
    page: Any,
    browser: Any,
    live_server: str,
    app: Flask,
    make_user: Any,
    mailbox: Mailbox,
    tmp_path: Path,
) -> None:
    coach = make_user("coach", first_name="Hélène", last_name="Durand")
    regular = make_user(
        "client", first_name="Bruno", last_name="Lefèvre", phone="+33 6 01 02 03 04"
    )
    assign(app, coach.id, regular.id)
    soon = utcnow().replace(minute=0, second=0, microsecond=0)
    add_session(
        app,
        coach.id,
        regular.id,
        title="Mobility check",
        starts_at=soon + timedelta(hours=2),
        location="Studio 4, 12 rue Lafayette",
    )
    add_session(
        app,
        coach.id,
        regular.id,
        title="Strength block",
        starts_at=soon + timedelta(days=2),
        status="confirmed",
        video_url="https://meet.example/x",
    )
    add_session(app, coach.id, None, title="Open slot", starts_at=soon + timedelta(days=3))
    browser_login(page, live_server, app, coach.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-coach")
    screenshot(page, "coach-home")

    # Add a client and send login details: the password is never shown.
    page.goto(f"{live_server}/mes-clients")
    page.get_by_role("link", name="Add client").first.click()
    page.fill("input[name=first_name]", "Chloé")
    page.fill("input[name=last_name]", "Martin")
    page.fill("input[name=email]", "chloe@example.test")
    page.fill("input[name=phone]", "+33 6 11 22 33 44")
    page.get_by_role("button", name="Add and send login details").click()
    page.wait_for_url("**/customer/*")
    assert "will receive their login details" in page.content()
    with app.app_context():
        client = db.scalars(select(User).where(User.email == "chloe@example.test")).one()
    deliver(app)
    (welcome,) = mailbox.to("chloe@example.test")
    link = next(url for url in links_in(welcome) if "token" in url or "password" in url)

    # The client sets a password from the link (in their own browser).
    client_context = browser.new_context()
    client_page = client_context.new_page()
    client_page.goto(link)
    client_page.fill("input[name=password]", "a long enough passphrase")
    client_page.fill("input[name=confirm]", "a long enough passphrase")
    client_page.locator("button[type=submit]").click()
    client_page.wait_for_load_state()
    with app.app_context():
        assert db.get(User, client.id).password_hash is not None  # type: ignore[union-attr]

    # Book a session from the profile (client pre-filled), with a PDF; Save sends nothing.
    page.goto(f"{live_server}/customer/{client.id}")
    page.get_by_role("link", name="New session").first.click()
    page.wait_for_url("**/coach/sessions/new?client=**")
    assert page.input_value("select[name=client_id]") == str(client.id)
    day = (utcnow() + timedelta(days=5)).astimezone(ZoneInfo("Europe/Paris")).date()
    page.fill("input[name=day]", day.isoformat())
    page.fill("input[name=start]", "09:30")
    page.fill("input[name=location]", "Parc Monceau, gate B")
    page.fill("input[name=price]", "55")
    pdf = tmp_path / "training-plan.pdf"
    pdf.write_bytes(PDF)
    page.fill("input[name=video_url]", "meet.example/abc")  # no scheme: refused, input kept
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    assert "must start with http:// or https://" in page.content()
    assert page.input_value("input[name=location]") == "Parc Monceau, gate B"
    screenshot(page, "coach-editor-errors")
    page.fill("input[name=video_url]", "https://meet.example/abc")
    page.set_input_files("input[name=documents]", str(pdf))
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/coach/sessions/*?**")
    assert "Saved. No email was sent." in page.content()
    assert "training-plan.pdf" in page.content()
    screenshot(page, "coach-editor")
    deliver(app)
    assert mailbox.to("chloe@example.test") == [welcome]

    # Save and notify: exactly one booking confirmation.
    page.get_by_role("button", name="Save and notify").click()
    page.wait_for_load_state()
    assert "the client was emailed" in page.content()
    deliver(app)
    assert len(mailbox.to("chloe@example.test")) == 2

    # Move it and add a link (JavaScript adds the row), save and notify: exactly one update.
    page.fill("input[name=start]", "11:00")
    page.get_by_role("button", name="Add a link").click()
    assert page.locator("input[name=link_label]").count() == 3
    page.locator("input[name=link_label]").first.fill("Kit list")
    page.locator("input[name=link_url]").first.fill("https://example.com/kit")
    page.get_by_role("button", name="Save and notify").click()
    page.wait_for_load_state()
    deliver(app)
    assert len(mailbox.to("chloe@example.test")) == 3
    update = mailbox.to("chloe@example.test")[-1]
    assert "11:00" in update.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # Mark it paid (a payment with its method and date).
    page.select_option("select[name=payment_status]", "paid")
    page.select_option("select[name=payment_method]", "cash")
    page.fill("input[name=paid_on]", utcnow().date().isoformat())
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    with app.app_context():
        booked = db.scalars(
            select(CoachingSession).where(CoachingSession.client_id == client.id)
        ).one()
        assert booked.payment_status == "paid" and booked.schedule_revision == 2

    # The other coach pages, looked at.
    page.goto(f"{live_server}/accueil-coach?tab=statistics")
    assert "€55.00" in page.content()
    screenshot(page, "coach-statistics")
    page.goto(f"{live_server}/calendrier-seances?date={day.isoformat()}")
    assert "Chloé Martin" in page.content()
    screenshot(page, "coach-calendar")
    page.goto(f"{live_server}/calendrier-seances?view=week&date={day.isoformat()}")
    screenshot(page, "coach-calendar-week")
    page.goto(f"{live_server}/mes-clients")
    screenshot(page, "coach-my-clients")
    for tab in ("overview", "sessions", "finances", "contact"):
        page.goto(f"{live_server}/customer/{client.id}/{tab}")
        screenshot(page, f"coach-profile-{tab}")

    # Notes are saved without reloading the page.
    page.goto(f"{live_server}/customer/{client.id}")
    page.fill("#notes-body", "Prefers mornings.")
    page.get_by_role("button", name="Save notes").click()
    page.locator("[data-notes-status]", has_text="Notes saved.").wait_for()
    assert page.url.endswith(f"/customer/{client.id}")

    # The client sees the session, its place, its document and that it is paid.
    client_page.goto(f"{live_server}/connexion")
    if "/connexion" in client_page.url:
        browser_login(
            client_page, live_server, app, "chloe@example.test", "a long enough passphrase"
        )
    client_page.goto(f"{live_server}/accueil-client")
    client_page.wait_for_load_state()
    text = client_page.content()
    assert "Parc Monceau, gate B" in text and "training-plan.pdf" in text
    assert "11:00" in text and "badge-paid" in text and "Kit list" in text
    assert "Prefers mornings." not in text
    client_context.close()
