"""Paying a whole bundle online: Premium's button on the bundle, one Stripe Checkout for
its unpaid sessions, and every one of them paid afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from core.accounts.models import User
from core.db import db
from core.payments.models import Payment
from core.sessions.models import CoachingSession
from tests import premium_fixtures as fixtures
from tests.conftest import login, post
from tests.premium_fixtures import Premium, payments
from tests.test_programs_service import make_bundle

premium = fixtures.premium
stripe_standin = fixtures.stripe_standin
stripe_standin_server = fixtures.stripe_standin_server


def test_a_bundle_is_paid_in_one_checkout(
    app: Flask, premium: Premium, make_user: Callable[..., User]
) -> None:
    coach, client = make_user("coach"), make_user("client")
    bundle_id = make_bundle(app, coach, client)
    with app.app_context():
        first = db.scalars(
            select(CoachingSession)
            .where(CoachingSession.bundle_id == bundle_id)
            .order_by(CoachingSession.starts_at)
        ).first()
        first.payment_status = "cancelled"  # type: ignore[union-attr]
        db.commit()
    web = app.test_client()
    assert login(app, web, client).status_code == 302
    tab = web.get("/accueil-client/programs").get_data(as_text=True)
    action = f'action="/premium/pay-bundle/{bundle_id}"'
    assert action in tab and "Pay the program: €66.66" in tab
    assert action in web.get("/accueil-client/payments").get_data(as_text=True)

    response = post(app, web, f"/premium/pay-bundle/{bundle_id}")
    assert response.status_code == 303
    (sent,) = [
        r
        for r in premium.standin.requests
        if r.method == "POST" and r.path == "/v1/checkout/sessions"
    ]
    assert [line["price_data"]["unit_amount"] for line in sent.params["line_items"]] == [
        "3333",
        "3333",
    ]
    cs_id = response.headers["Location"].rsplit("/", 1)[1]
    premium.standin.complete_checkout(cs_id)
    assert web.get(f"/premium/return?session_id={cs_id}").status_code == 200
    paid = payments(app, Payment.provider == "stripe")
    assert len(paid) == 2 and len({p.provider_reference for p in paid}) == 1
    with app.app_context():
        statuses = db.scalars(
            select(CoachingSession.payment_status)
            .where(CoachingSession.bundle_id == bundle_id)
            .order_by(CoachingSession.starts_at)
        ).all()
    assert statuses == ["cancelled", "paid", "paid"]
    tab = web.get("/accueil-client/programs").get_data(as_text=True)
    assert action not in tab and "Paid" in tab


def test_nobody_else_pays_a_bundle(
    app: Flask, premium: Premium, make_user: Callable[..., User], as_role: Callable[..., Any]
) -> None:
    coach, client = make_user("coach"), make_user("client")
    bundle_id = make_bundle(app, coach, client)
    other, _user = as_role("client")
    assert post(app, other, f"/premium/pay-bundle/{bundle_id}").status_code == 404
    assert f"/premium/pay-bundle/{bundle_id}" not in other.get("/accueil-client/payments").get_data(
        as_text=True
    )
    assert not [r for r in premium.standin.requests if r.path == "/v1/checkout/sessions"]


def test_without_premium_there_is_no_online_button(
    app: Flask, make_user: Callable[..., User]
) -> None:
    coach, client = make_user("coach"), make_user("client")
    make_bundle(app, coach, client)
    web = app.test_client()
    assert login(app, web, client).status_code == 302
    tab = web.get("/accueil-client/programs").get_data(as_text=True)
    assert "Ten to ten" in tab and "pay-bundle" not in tab
