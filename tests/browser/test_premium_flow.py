"""Chromium: a client pays a session with Stripe Checkout (the stand-in), the coach refunds half."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from core.accounts.models import Role
from core.db import db, utcnow
from core.payments.models import Payment
from core.sessions.models import CoachingSession
from core.worker import run_once
from tests import premium_fixtures as fixtures
from tests.conftest import PASSWORD, Mailbox, browser_login, screenshot
from tests.helpers import set_options
from tests.premium_fixtures import Premium, payments
from tests.test_clientarea_pages import add_session

pytestmark = pytest.mark.browser

premium = fixtures.premium
stripe_standin = fixtures.stripe_standin
stripe_standin_server = fixtures.stripe_standin_server


def test_client_pays_online_and_coach_refunds_half(  # type: ignore[no-untyped-def]
    page, browser, live_server: str, app: Flask, premium: Premium, make_user, mailbox: Mailbox
) -> None:
    client = make_user(Role.CLIENT, first_name="Chloé", last_name="Martin")
    coach = make_user(Role.COACH, first_name="Hélène", last_name="Durand")
    set_options(
        app,
        receipts__business_name="Élan Coaching",
    )
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    mobility = add_session(
        app,
        client,
        coach,
        title="Mobility check",
        starts_at=now + timedelta(hours=6),
        price_amount=4500,
        location="Studio 4, 12 rue Lafayette",
    )
    add_session(
        app,
        client,
        coach,
        title="Strength block, week 3",
        starts_at=now + timedelta(days=4),
        price_amount=6000,
    )

    browser_login(page, live_server, app, client.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client/sessions")
    page.goto(f"{live_server}/accueil-client/payments")
    assert page.get_by_role("button", name="Pay all: €105.00").is_visible()
    screenshot(page, "premium-payments-tab")
    page.goto(f"{live_server}/accueil-client/sessions")
    screenshot(page, "premium-sessions-pay")
    page.locator("form.premium-pay button", has_text="Pay €45.00").click()

    page.wait_for_url(f"{premium.standin.api_base}/pay/cs_test_*")
    assert "Mobility check" in page.content() and "45.00 EUR" in page.content()
    page.get_by_role("button", name="Pay", exact=True).click()
    page.wait_for_url(f"{live_server}/premium/return?session_id=cs_test_*")
    assert page.inner_text("h1") == "Payment received"
    assert "Your payment of €45.00 is received" in page.inner_text("main")
    screenshot(page, "premium-return-paid")

    premium.standin.wait_for_deliveries()
    (delivery,) = [d for d in premium.standin.deliveries if d.type == "checkout.session.completed"]
    assert delivery.status == 200
    (payment,) = payments(app, Payment.provider == "stripe")
    with app.app_context():
        run_once()
    # (the worker also sends the session's pre-session reminder)
    (to_client,) = [m for m in mailbox.to(client.email) if "Payment" in m["Subject"]]
    (to_coach,) = [m for m in mailbox.to(coach.email) if "Payment" in m["Subject"]]
    assert to_client["Subject"] == "Payment confirmed: €45.00"
    assert to_coach["Subject"] == "Payment received from Chloé Martin: €45.00"
    assert payment.provider_reference in to_client.get_body(("plain",)).get_content()

    page.goto(f"{live_server}/accueil-client/payments")
    assert "Pay €45.00" not in page.content()
    pdf = page.request.get(f"{live_server}/receipts/{mobility}.pdf")
    assert pdf.ok
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "Card (Stripe)" in text and payment.provider_reference in text

    # The coach refunds half from the session editor.
    coach_context = browser.new_context()
    coach_page: Any = coach_context.new_page()
    browser_login(coach_page, live_server, app, coach.email, PASSWORD)
    coach_page.wait_for_url(f"{live_server}/accueil-coach**")
    coach_page.goto(f"{live_server}/coach/sessions/{mobility}")
    section = coach_page.locator("#section-premium-online-payment")
    assert payment.provider_reference in section.inner_text()
    section.scroll_into_view_if_needed()
    screenshot(coach_page, "premium-refund-section")
    section.get_by_label("Amount to refund (EUR)").fill("22.50")
    section.get_by_role("button", name="Refund…").click()
    coach_page.wait_for_url(f"{live_server}/premium/refund/{payment.id}")
    screenshot(coach_page, "premium-refund-confirm")
    coach_page.get_by_role("button", name="Refund €22.50").click()
    coach_page.wait_for_url(f"{live_server}/coach/sessions/{mobility}")
    assert "€22.50 refunded through Stripe." in coach_page.inner_text(".flashes")
    assert "€22.50" in coach_page.locator("#section-premium-online-payment").inner_text()
    screenshot(coach_page, "premium-refund-done")
    premium.standin.wait_for_deliveries()
    coach_context.close()

    with app.app_context():  # the session took place
        db.get(CoachingSession, mobility).status = "completed"
        db.commit()
    page.goto(f"{live_server}/accueil-client/history")
    history = page.inner_text("main")
    assert "Mobility check" in history and "Partly refunded: €22.50" in history
    screenshot(page, "premium-history-refunded")
