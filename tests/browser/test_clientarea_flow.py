"""Chromium: a client visits every tab, cancels, is refused, gets a receipt, edits the profile."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from core.accounts.models import Role, User
from core.db import db, utcnow
from core.sessions.models import CoachingSession
from tests.conftest import PASSWORD, browser_login, screenshot
from tests.helpers import set_options
from tests.test_clientarea_pages import add_session

pytestmark = pytest.mark.browser


@pytest.fixture
def scene(app: Flask, make_user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A client with upcoming, past, paid and unpaid sessions, like a real month of coaching."""
    client = make_user(
        Role.CLIENT, first_name="Chloé", last_name="Martin", phone="+33 6 11 22 33 44"
    )
    coach = make_user(
        Role.COACH, first_name="Hélène", last_name="Durand", phone="+33 6 12 34 56 78"
    )
    set_options(
        app,
        receipts__business_name="Élan Coaching",
        receipts__business_address="12 rue des Écoles\n75005 Paris",
        receipts__tax_id="SIRET 123 456 789 00012",
    )
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    ids = {
        "soon": add_session(
            app,
            client,
            coach,
            title="Mobility check",
            starts_at=now + timedelta(hours=6),
            location="Studio 4, 12 rue Lafayette",
            price_amount=4500,
        ),
        "later": add_session(
            app,
            client,
            coach,
            title="Strength block, week 3",
            starts_at=now + timedelta(days=4, hours=3),
            video_url="https://meet.example/coach-helene",
            price_amount=6000,
            links=[("Warm-up routine", "https://video.example/warmup")],
        ),
        "free": add_session(
            app,
            client,
            coach,
            title="Check-in call",
            starts_at=now + timedelta(days=9),
            price_amount=None,
            duration_minutes=30,
        ),
    }
    for n in range(1, 5):
        ids[f"past{n}"] = add_session(
            app,
            client,
            coach,
            title=f"Running technique {n}",
            starts_at=now - timedelta(days=7 * n),
            status="completed",
            paid=n != 2,
            location="Parc Monceau",
        )
    return {"client": client, "coach": coach, "ids": ids}


def test_client_goes_through_the_whole_area(page, live_server: str, app: Flask, scene) -> None:  # type: ignore[no-untyped-def]
    client: User = scene["client"]
    ids = scene["ids"]
    browser_login(page, live_server, app, client.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client/sessions")
    assert "Mobility check" in page.content()
    screenshot(page, "clientarea-sessions")

    # Too late for the session in 6 hours: no Cancel button, the coach's contact instead.
    soon = page.locator(f"#session-{ids['soon']}")
    assert soon.get_by_role("link", name="Cancel").count() == 0
    assert "can no longer be cancelled here" in soon.inner_text()
    assert "+33 6 12 34 56 78" in soon.inner_text()

    # Inside the window: confirm, then it moves to "Cancelled".
    page.locator(f"#session-{ids['later']}").get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"**/sessions/{ids['later']}/cancel")
    screenshot(page, "clientarea-cancel-confirm")
    page.get_by_role("button", name="Yes, cancel the session").click()
    page.wait_for_url(f"{live_server}/accueil-client/sessions")
    assert "is cancelled" in page.content()
    with app.app_context():
        assert db.get(CoachingSession, ids["later"]).status == "cancelled"

    # A forged request for the late session is refused by the server.
    page.goto(f"{live_server}/accueil-client/sessions/{ids['soon']}/cancel")
    page.wait_for_url(f"{live_server}/accueil-client/sessions")
    assert "can no longer be cancelled here" in page.content()
    with app.app_context():
        assert db.get(CoachingSession, ids["soon"]).status == "booked"

    page.get_by_role("link", name="Payments").first.click()
    page.wait_for_url("**/accueil-client/payments")
    assert "Total due" in page.content() and "Payment is arranged directly" in page.content()
    screenshot(page, "clientarea-payments")

    page.get_by_role("link", name="History").first.click()
    page.wait_for_url("**/accueil-client/history")
    assert "Running technique 1" in page.content()
    screenshot(page, "clientarea-history")
    with page.expect_download() as download_info:
        page.locator(f"#session-{ids['past1']}").get_by_role("link", name="PDF").click()
    pdf = PdfReader(io.BytesIO(download_info.value.path().read_bytes()))
    text = pdf.pages[0].extract_text()
    assert "Élan Coaching" in text and "Running technique 1" in text and "€50.00" in text
    assert "Chloé Martin" in text and "Receipt no. 000001" in text

    page.locator(f"#session-{ids['past1']}").get_by_role("link", name="Receipt").click()
    page.wait_for_url(f"**/receipts/{ids['past1']}")
    assert "Receipt no. 000001" in page.content()
    screenshot(page, "clientarea-receipt")
    page.emulate_media(media="print")
    screenshot(page, "clientarea-receipt-print")
    page.emulate_media(media="screen")
    page.go_back()

    page.get_by_role("link", name="My profile").first.click()
    page.wait_for_url("**/accueil-client/profile")
    page.fill("input[name=phone]", "+33 7 99 88 77 66")
    page.select_option("select[name=timezone]", "America/Montreal")
    page.get_by_role("button", name="Save my details").click()
    page.wait_for_url("**/accueil-client/profile")
    assert "Your details are saved." in page.content()
    page.get_by_role("button", name="Create my calendar link").click()
    assert "/calendar/" in page.locator("#feed-url").input_value()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "clientarea-profile")
    with app.app_context():
        user = db.get(User, client.id)
        assert (user.phone, user.timezone) == ("+33 7 99 88 77 66", "America/Montreal")

    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=password]", "Another long secret 2026")
    page.fill("input[name=confirm]", "Another long secret 2026")
    page.get_by_role("button", name="Change my password").click()
    page.wait_for_url("**/accueil-client/profile")
    assert "Your password is changed" in page.content()
    page.get_by_role("link", name="My sessions").first.click()  # still signed in
    page.wait_for_url("**/accueil-client/sessions")


def test_empty_client_area_looks_right(page, live_server: str, app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    client = make_user(Role.CLIENT, first_name="Noah")
    browser_login(page, live_server, app, client.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client/sessions")
    assert "No upcoming sessions" in page.content()
    screenshot(page, "clientarea-empty-sessions")
    page.goto(f"{live_server}/accueil-client/payments")
    assert "All paid" in page.content()
    screenshot(page, "clientarea-empty-payments")


def test_cancelling_works_with_javascript_off(browser, live_server: str, app: Flask, scene) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        browser_login(page, live_server, app, scene["client"].email, PASSWORD)
        page.wait_for_url(f"{live_server}/accueil-client/sessions")
        later = scene["ids"]["later"]
        page.locator(f"#session-{later}").get_by_role("link", name="Cancel").click()
        page.get_by_role("button", name="Yes, cancel the session").click()
        page.wait_for_url(f"{live_server}/accueil-client/sessions")
        assert "is cancelled" in page.content()
        page.get_by_role("link", name="History").first.click()
        page.wait_for_url("**/accueil-client/history")
        assert "Running technique 1" in page.content()
    finally:
        context.close()
    with app.app_context():
        assert db.get(CoachingSession, later).status == "cancelled"


def test_french_client_area(page, live_server: str, app: Flask, scene) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.get(User, scene["client"].id).locale = "fr"
        db.commit()
    browser_login(page, live_server, app, scene["client"].email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client/sessions")
    content = page.content()
    assert "Mes séances" in content and "Ajouter à l’agenda" in content
    assert "45,00" in content  # French money format
    screenshot(page, "clientarea-sessions-fr")
    page.goto(f"{live_server}/accueil-client/payments")
    assert "Total dû" in page.content()
    screenshot(page, "clientarea-payments-fr")
