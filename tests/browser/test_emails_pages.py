"""Chromium: Settings → Emails, the outbox, the session panel, an email, forgot-password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from core.admin.setup import SETUP_COMPLETED
from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.settings import set_option
from tests.conftest import PASSWORD, browser_login, screenshot
from tests.test_emails_support import add_session, outbox, work

pytestmark = pytest.mark.browser
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # starts like a PNG, is not one


def test_admin_email_settings_test_reminder_and_outbox(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, make_user, mailbox
) -> None:
    admin = make_user("admin", first_name="Ada", last_name="Owner")
    coach = make_user("coach", display_name="Coach Anna")
    client = make_user("client", first_name="Kim", last_name="Lee")
    with app.app_context():
        set_option(SETUP_COMPLETED, True)
        db.commit()
    browser_login(page, live_server, app, admin.email, PASSWORD)
    page.goto(f"{live_server}/admin/settings/emails")
    page.fill("input[name=sender_name]", "Studio Zen")
    page.fill("textarea[name=signature]", "See you on the mat,\nAnna")
    page.uncheck("input[name=type_new_documents_enabled]")
    page.click("button:has-text('Save email settings')")
    page.wait_for_selector(".flash-success")
    assert page.is_checked("input[name=type_reminder_enabled]")
    assert not page.is_checked("input[name=type_new_documents_enabled]")
    page.click("button:has-text('Send a test reminder to me')")
    page.wait_for_selector(".flash-success")
    assert "Test reminder sent" in page.inner_text(".flashes")
    screenshot(page, "emails-settings")
    assert mailbox.to(admin.email)

    # An email as the client sees it.
    session_id = add_session(
        app, coach.id, client.id, starts_at=utcnow() + timedelta(hours=5), title="Mobility"
    )
    work(app)
    reminder = next(e for e in outbox(app) if e.session_id == session_id)
    email_page = page.context.new_page()
    email_page.set_content(reminder.body_html)
    screenshot(email_page, "emails-reminder-email")
    email_page.close()

    with app.app_context():
        failed = db.get(OutboxEmail, reminder.id)
        failed.status, failed.last_error = "dead", "550 5.1.1 mailbox unavailable"
        db.commit()
    page.goto(f"{live_server}/admin/outbox")
    assert "550 5.1.1 mailbox unavailable" in page.inner_text("main")
    screenshot(page, "emails-outbox")
    page.click("button:has-text('Retry now')")
    page.wait_for_selector(".flash-success")
    assert db_status(app, reminder.id) == "pending"

    # The log: search by client name, open the email, see it rendered, resend it.
    page.fill("input[name=q]", "kim lee")
    page.click("main button:has-text('Search')")
    page.click(f"a[href='/emails/log/{reminder.id}'] >> nth=0")
    page.wait_for_selector("iframe.email-preview")
    assert "Message-ID" in page.inner_text("main")
    frame = page.frame_locator("iframe.email-preview")
    assert "Mobility" in frame.locator("body").inner_text()
    screenshot(page, "emails-log-detail")
    page.click("button:has-text('Resend')")
    page.wait_for_selector(".flash-success")
    assert sum(e.session_id == session_id and e.email_type == "reminder" for e in outbox(app)) == 2


def db_status(app: Flask, email_id: int) -> str:
    with app.app_context():
        return db.get(OutboxEmail, email_id).status


def test_coach_sends_the_confirmation_from_the_session_panel(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, make_user
) -> None:
    coach = make_user("coach")
    client = make_user("client")
    session_id = add_session(app, coach.id, client.id)
    browser_login(page, live_server, app, coach.email, PASSWORD)
    page.goto(f"{live_server}/coach/sessions/{session_id}")
    panel = page.locator(".email-panel")
    assert "Not confirmed yet" in panel.inner_text()
    panel.locator("button:has-text('Send confirmation')").click()
    page.wait_for_selector(".flash-success")
    panel = page.locator(".email-panel")
    assert "Booking confirmation" in panel.inner_text()
    assert panel.locator("button:has-text('Send confirmation')").count() == 0
    panel.scroll_into_view_if_needed()
    screenshot(page, "emails-session-panel")
    # The session's emails in the coach's log.
    panel.locator("a:has-text('Email log')").click()
    page.wait_for_selector(".outbox-table")
    assert "Booking confirmation" in page.inner_text("main")
    assert client.email in page.inner_text("main")
    screenshot(page, "emails-coach-log")


def test_forgot_password_page(page, live_server: str, app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("client")
    page.goto(f"{live_server}/{app.config['SLUGS']['login']}")
    page.click("text=Forgot your password?")
    screenshot(page, "emails-forgot-password")
    page.fill("input[name=email]", user.email)
    page.click("button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "If an account uses this address" in page.inner_text("body")
    assert outbox(app) == []  # the worker looks the address up, not the web request
    work(app)
    assert [e.email_type for e in outbox(app)] == ["password_reset"]


def test_a_fake_logo_and_a_formatted_subject_are_refused_with_a_reason(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, make_user
) -> None:
    admin = make_user("admin")
    with app.app_context():
        set_option(SETUP_COMPLETED, True)
        db.commit()
    browser_login(page, live_server, app, admin.email, PASSWORD)
    fake_png = {"name": "logo.png", "mimeType": "image/png", "buffer": FAKE_PNG}

    page.goto(f"{live_server}/admin/settings/style")
    page.set_input_files("input[name=logo]", files=[fake_png])
    page.click("main button[type=submit]")
    page.wait_for_selector(".field-error")
    assert "The logo must be a PNG, JPEG, WebP or SVG image." in page.inner_text("main")
    screenshot(page, "settings-style-logo-refused")

    page.goto(f"{live_server}/admin/settings/emails")
    page.set_input_files("input[name=logo_file]", files=[fake_png])
    page.fill("input[name=type_reminder_subject]", "See you {session_date:>300000000}")
    page.click("button:has-text('Save email settings')")
    page.wait_for_selector(".field-error")
    text = page.inner_text("main")
    assert "Write placeholders bare, such as {session_date}" in text
    screenshot(page, "emails-settings-refused")
