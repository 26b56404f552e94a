"""Chromium: an email change waiting for confirmation (client and coach sides), the
confirmation and cancel pages, and a coach's pages without the "view sessions" capability."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core.accounts.models import Role, User
from core.db import db
from core.settings import set_option
from tests.conftest import PASSWORD, browser_login, screenshot
from tests.test_account_email_change import link
from tests.test_clientarea_pages import add_session
from tests.test_coach_support import assign

pytestmark = pytest.mark.browser


@pytest.fixture
def people(app: Flask, make_user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    client = make_user(
        Role.CLIENT, first_name="Chloé", last_name="Martin", email="chloe@example.test"
    )
    coach = make_user(Role.COACH, first_name="Hélène", last_name="Durand")
    assign(app, coach.id, client.id)
    add_session(app, client, coach, title="Mobility check")
    return {"client": client, "coach": coach}


def test_email_change_pages(page, live_server: str, app: Flask, people) -> None:  # type: ignore[no-untyped-def]
    client, coach = people["client"], people["coach"]
    browser_login(page, live_server, app, client.email, PASSWORD)
    page.goto(f"{live_server}/accueil-client/profile")
    page.fill("input[name=email]", "chloe.martin@example.test")
    page.fill("input[name=current_password]", PASSWORD)
    page.get_by_role("button", name="Save my details").click()
    page.wait_for_url("**/accueil-client/profile")
    assert "Waiting for confirmation: chloe.martin@example.test" in page.content()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "account-profile-email-pending")

    page.goto(live_server + link(app, "email_change_confirm"))
    assert page.locator("input[name=password]").count() == 0  # signed in as the client
    screenshot(page, "account-email-confirm")
    page.get_by_role("button", name="Confirm this address").click()
    page.wait_for_load_state()
    assert "Your sign-in email is now chloe.martin@example.test" in page.content()

    page.context.clear_cookies()
    browser_login(page, live_server, app, coach.email, PASSWORD)
    page.goto(f"{live_server}/customer/{client.id}/contact")
    page.fill("input[name=email]", "helene.inbox@example.test")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"**/customer/{client.id}/contact")
    assert "Waiting for the client to confirm helene.inbox@example.test" in page.content()
    screenshot(page, "account-contact-email-pending")

    page.goto(live_server + link(app, "email_change_confirm"))
    assert page.locator("input[name=password]").count() == 1  # the coach is not the client
    screenshot(page, "account-email-confirm-password")
    page.context.clear_cookies()
    page.goto(live_server + link(app, "email_change_notice"))
    screenshot(page, "account-email-cancel")
    page.get_by_role("button", name="Cancel the change").click()
    page.wait_for_load_state()
    assert "your sign-in email stays chloe.martin@example.test" in page.content()
    with app.app_context():
        assert db.get(User, client.id).pending_email is None  # type: ignore[union-attr]


def test_a_coach_without_view_sessions(page, live_server: str, app: Flask, people) -> None:  # type: ignore[no-untyped-def]
    client, coach = people["client"], people["coach"]
    with app.app_context():
        set_option("permissions.coach", ["view_clients", "create_clients", "edit_clients"])
        db.commit()
    browser_login(page, live_server, app, coach.email, PASSWORD)
    page.wait_for_url("**/mes-clients")  # their home page would be refused
    assert "Next session" not in page.content()
    screenshot(page, "coach-clients-without-sessions")
    page.goto(f"{live_server}/customer/{client.id}")
    assert "Mobility check" not in page.content() and "Private notes" in page.content()
    screenshot(page, "coach-profile-without-sessions")
