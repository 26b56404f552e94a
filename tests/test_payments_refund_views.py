"""Refunds from the client's Finances tab: by hand for manual payments, any amount left."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.accounts.models import Role
from core.db import db
from core.payments.models import Payment, Refund
from core.sessions.models import CoachingSession
from tests.conftest import post
from tests.helpers import set_options
from tests.test_clientarea_pages import add_session


@pytest.fixture
def scene(app: Flask, as_role: Any, make_user: Any) -> tuple[Any, Any, Payment, str]:
    """A coach signed in, their client, a €50 session paid in cash, the Finances URL."""
    web, coach = as_role(Role.COACH)
    client = make_user(Role.CLIENT)
    sid = add_session(app, client, coach, paid=True)
    with app.app_context():
        payment = db.scalar(select(Payment).where(Payment.session_id == sid))
    return web, client, payment, f"/customer/{client.id}/finances"


def refunds(app: Flask, payment: Payment) -> list[int]:
    with app.app_context():
        return list(
            db.scalars(
                select(Refund.amount).where(Refund.payment_id == payment.id).order_by(Refund.id)
            )
        )


def status(app: Flask, payment: Payment) -> str:
    with app.app_context():
        return db.get(CoachingSession, payment.session_id).payment_status


def test_partial_then_full_refund_by_hand(app: Flask, scene: Any) -> None:
    web, _client, payment, finances = scene
    page = web.get(finances).get_data(as_text=True)
    assert f'action="/payments/{payment.id}/refund"' in page and 'value="50.00"' in page
    done = post(app, web, f"/payments/{payment.id}/refund", {"amount": "20,50", "confirm": "yes"})
    assert done.status_code == 302
    assert refunds(app, payment) == [2050] and status(app, payment) == "paid"
    page = web.get(finances).get_data(as_text=True)
    assert "Partly refunded: €20.50" in page and 'value="29.50"' in page
    post(app, web, f"/payments/{payment.id}/refund", {"amount": "29.50", "confirm": "yes"})
    assert refunds(app, payment) == [2050, 2950] and status(app, payment) == "refunded"
    assert f'action="/payments/{payment.id}/refund"' not in web.get(finances).get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "60", "confirm": "yes"}, "At most €50.00 can still be refunded."),
        ({"amount": "-5", "confirm": "yes"}, "Enter the amount to refund"),
        ({"amount": "Infinity", "confirm": "yes"}, "Enter the amount to refund"),
        ({"amount": "1.005", "confirm": "yes"}, "Enter the amount to refund"),
        ({"amount": "10"}, "Tick the box to confirm the refund"),
    ],
)
def test_bad_refunds_change_nothing(
    app: Flask, scene: Any, data: dict[str, str], message: str
) -> None:
    web, _client, payment, finances = scene
    response = post(app, web, f"/payments/{payment.id}/refund", {**data, "next": finances})
    assert response.status_code == 302 and response.location.endswith(finances)
    assert message in web.get(finances).get_data(as_text=True)
    assert refunds(app, payment) == [] and status(app, payment) == "paid"


def test_who_may_refund(app: Flask, scene: Any, as_role: Any) -> None:
    _web, client, payment, _finances = scene
    url = f"/payments/{payment.id}/refund"
    data = {"amount": "5", "confirm": "yes"}
    other_coach, _ = as_role(Role.COACH)
    assert post(app, other_coach, url, data).status_code == 404  # not their session
    client_web = app.test_client()
    from tests.conftest import login

    login(app, client_web, client)
    assert post(app, client_web, url, data).status_code == 403
    assert post(app, app.test_client(), url, data).status_code in (302, 401)  # signed out
    assert post(app, other_coach, "/payments/999999/refund", data).status_code == 404
    set_options(app, permissions__coach=["view_clients", "view_sessions", "edit_sessions"])
    web, _user = as_role(Role.COACH)
    add = add_session(app, client, _user, paid=True)
    with app.app_context():
        own = db.scalar(select(Payment).where(Payment.session_id == add))
    assert post(app, web, f"/payments/{own.id}/refund", data).status_code == 403
    assert refunds(app, payment) == [] and refunds(app, own) == []
