"""Premium: staff refund Stripe payments from the session editor and the client profile."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from core.accounts.models import Role
from core.db import db
from core.payments.models import Payment, Refund
from core.sessions.models import CoachingSession
from tests import premium_fixtures as fixtures
from tests.conftest import login, post
from tests.helpers import set_options
from tests.premium_fixtures import Premium, Scene, count, payments, refunds

premium = fixtures.premium
scene = fixtures.scene
stripe_standin = fixtures.stripe_standin
stripe_standin_server = fixtures.stripe_standin_server


def grant_refunds(app: Flask, granted: bool = True) -> None:
    """Decide the coaches' ``refund_payments`` capability, as Settings → Permissions does."""
    from core.accounts.permissions import CORE_COACH_DEFAULTS

    others = [c for c in CORE_COACH_DEFAULTS if c != "refund_payments"]
    set_options(
        app,
        permissions__coach=[*others, *(["refund_payments"] if granted else [])],
        permissions__decided=list(CORE_COACH_DEFAULTS),
    )


@pytest.fixture
def paid(app: Flask, scene: Scene, premium: Premium) -> Payment:
    """The €45 session paid through Stripe, webhook handled."""
    response = post(app, scene.web, f"/premium/pay/{scene.sessions['mobility']}")
    premium.standin.complete_checkout(response.headers["Location"].rsplit("/", 1)[1])
    premium.standin.wait_for_deliveries()
    (payment,) = payments(app, Payment.provider == "stripe")
    return payment


def signed_in(app: Flask, user: Any) -> FlaskClient:
    web = app.test_client()
    assert login(app, web, user).status_code == 302
    return web


def refund_requests(standin: Any) -> list[Any]:
    return [r for r in standin.requests if r.method == "POST" and r.path == "/v1/refunds"]


def test_editor_shows_the_online_payment_and_refunds_half(
    app: Flask, scene: Scene, premium: Premium, paid: Payment
) -> None:
    grant_refunds(app)
    coach = signed_in(app, scene.coach)
    editor = f"/coach/sessions/{paid.session_id}"
    page = coach.get(editor).get_data(as_text=True)
    assert "Online payment" in page and paid.provider_reference in page
    assert 'value="45.00"' in page  # what is left, prefilled
    url = f"/premium/refund/{paid.id}"
    confirm = post(app, coach, url, {"amount": "22.50", "next": editor})
    assert confirm.status_code == 200 and "Confirm the refund" in confirm.get_data(as_text=True)
    assert refund_requests(premium.standin) == []  # nothing before the confirmation
    done = post(app, coach, url, {"amount": "22.50", "next": editor, "confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"] == editor
    (sent,) = refund_requests(premium.standin)
    assert sent.params["payment_intent"] == paid.provider_reference
    assert sent.params["amount"] == "2250"
    assert sent.params["metadata"]["coachdesk_payment_id"] == str(paid.id)
    assert sent.headers["Idempotency-Key"] == f"refund-{paid.id}-0-2250"
    (refund,) = refunds(app)
    assert refund.amount == 2250 and refund.provider == "stripe"
    assert refund.provider_reference == sent.response["id"]
    premium.standin.wait_for_deliveries()  # charge.refunded: already recorded, no-op
    (delivery,) = [d for d in premium.standin.deliveries if d.type == "charge.refunded"]
    assert delivery.status == 200
    assert count(app, Refund) == 1
    page = coach.get(editor).get_data(as_text=True)
    assert "€22.50 refunded through Stripe." in page
    assert 'value="22.50"' in page
    with app.app_context():
        assert db.get(CoachingSession, paid.session_id).payment_status == "paid"  # partly


def test_over_refund_is_refused_with_a_clear_message(
    app: Flask, scene: Scene, premium: Premium, paid: Payment, as_role: Any
) -> None:
    admin, _user = as_role(Role.ADMIN)
    editor = f"/coach/sessions/{paid.session_id}"
    answer = post(
        app, admin, f"/premium/refund/{paid.id}", {"amount": "50", "next": editor, "confirm": "yes"}
    )
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "At most €45.00 can still be refunded." in page
    assert refund_requests(premium.standin) == []
    bad = post(app, admin, f"/premium/refund/{paid.id}", {"amount": "abc", "confirm": "yes"})
    assert "Enter the amount to refund" in admin.get(bad.headers["Location"]).get_data(as_text=True)


def test_stripe_error_is_shown_verbatim(
    app: Flask, scene: Scene, premium: Premium, paid: Payment, as_role: Any
) -> None:
    admin, _user = as_role(Role.ADMIN)
    premium.standin.revoked_keys.add(fixtures.SECRET_KEY)
    answer = post(app, admin, f"/premium/refund/{paid.id}", {"amount": "10", "confirm": "yes"})
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Invalid API Key provided" in page
    assert count(app, Refund) == 0


def test_who_may_refund(
    app: Flask, scene: Scene, premium: Premium, paid: Payment, make_user: Any
) -> None:
    url = f"/premium/refund/{paid.id}"
    data = {"amount": "10", "confirm": "yes"}
    grant_refunds(app, granted=False)  # coaches have it by default: the site owner took it away
    coach = signed_in(app, scene.coach)
    assert post(app, coach, url, data).status_code == 403
    assert "Refund…" not in coach.get(f"/coach/sessions/{paid.session_id}").get_data(as_text=True)
    grant_refunds(app)
    other_coach = signed_in(app, make_user(Role.COACH))
    assert post(app, other_coach, url, data).status_code == 404  # not their session
    assert post(app, scene.web, url, data).status_code == 403  # the client
    assert refund_requests(premium.standin) == []


def test_client_profile_lists_online_payments(
    app: Flask, scene: Scene, premium: Premium, paid: Payment
) -> None:
    grant_refunds(app)
    coach = signed_in(app, scene.coach)
    page = coach.get(f"/customer/{scene.client.id}/online-payments").get_data(as_text=True)
    assert "Online payments" in page and paid.provider_reference in page
    assert f'action="/premium/refund/{paid.id}"' in page


def test_full_refund_and_the_receipt(
    app: Flask, scene: Scene, premium: Premium, paid: Payment, as_role: Any
) -> None:
    admin, _user = as_role(Role.ADMIN)
    post(app, admin, f"/premium/refund/{paid.id}", {"amount": "45", "confirm": "yes"})
    premium.standin.wait_for_deliveries()
    with app.app_context():
        assert db.get(CoachingSession, paid.session_id).payment_status == "refunded"
    tab = scene.web.get("/accueil-client/payments").get_data(as_text=True)
    assert "Refunded €45.00" in tab
    pdf = receipt_pdf(app, scene, paid.session_id)
    assert "Card (Stripe)" in pdf and "Card (Card" not in pdf
    assert paid.provider_reference in pdf
    assert "-€45.00" in pdf and "Net paid after refunds" in pdf


def receipt_pdf(app: Flask, scene: Scene, session_id: int) -> str:
    response = scene.web.get(f"/receipts/{session_id}.pdf")
    assert response.status_code == 200, response.status_code
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def test_the_finances_tab_refunds_online_through_the_provider(
    app: Flask, scene: Scene, premium: Premium, paid: Payment
) -> None:
    coach = signed_in(app, scene.coach)
    finances = f"/customer/{scene.client.id}/finances"
    page = coach.get(finances).get_data(as_text=True)
    assert f'action="/payments/{paid.id}/refund"' in page and "Paid online (stripe)" in page
    data = {"amount": "15", "confirm": "yes", "next": finances}
    response = post(app, coach, f"/payments/{paid.id}/refund", data, follow_redirects=True)
    assert "€15.00 refunded." in response.get_data(as_text=True)
    (sent,) = refund_requests(premium.standin)
    assert (
        sent.params["amount"] == "1500" and sent.params["payment_intent"] == paid.provider_reference
    )
    premium.standin.wait_for_deliveries()  # the charge.refunded webhook finds it recorded
    assert count(app, Refund, Refund.payment_id == paid.id) == 1
    with app.app_context():
        assert api_refundable(paid.id) == 3000


def api_refundable(payment_id: int) -> int:
    from core import api

    return api.refundable_amount(db.get(Payment, payment_id))
