"""Premium: Pay buttons, opening Stripe Checkout, reusing it, and the return page."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from babel.numbers import format_currency
from flask import Flask

from addons.premium.models import PremiumCheckout
from core.db import db
from core.payments.models import Payment
from core.plugins import get_host
from core.sessions.models import CoachingSession
from tests import premium_fixtures as fixtures
from tests.conftest import post
from tests.premium_fixtures import Premium, Scene, count, outbox, payments
from tests.test_clientarea_pages import add_session

premium = fixtures.premium
scene = fixtures.scene
stripe_standin = fixtures.stripe_standin
stripe_standin_server = fixtures.stripe_standin_server


def checkout_requests(standin: Any) -> list[Any]:
    return [r for r in standin.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]


def pay(app: Flask, scene: Scene, key: str) -> Any:
    return post(app, scene.web, f"/premium/pay/{scene.sessions[key]}")


def test_payments_tab_shows_a_pay_button_per_unpaid_session_and_pay_all(
    app: Flask, scene: Scene
) -> None:
    page = scene.web.get("/accueil-client/payments").get_data(as_text=True)
    assert f'action="/premium/pay/{scene.sessions["mobility"]}"' in page
    assert f'action="/premium/pay/{scene.sessions["strength"]}"' in page
    assert "Pay €45.00" in page and "Pay €60.00" in page
    assert f'action="/premium/pay/{scene.sessions["paid"]}"' not in page  # already paid
    assert 'action="/premium/pay-all?currency=EUR"' in page and "Pay all: €105.00" in page
    assert 'name="csrf_token"' in page
    sessions_tab = scene.web.get("/accueil-client/sessions").get_data(as_text=True)
    assert "Pay €45.00" in sessions_tab


def test_pay_opens_checkout_with_what_is_paid(app: Flask, scene: Scene, premium: Premium) -> None:
    response = pay(app, scene, "mobility")
    assert response.status_code == 303
    sent = checkout_requests(premium.standin)
    assert len(sent) == 1
    params = sent[0].params
    sid, cid = scene.sessions["mobility"], scene.client.id
    assert params["mode"] == "payment"
    assert params["customer_email"] == scene.client.email
    assert params["client_reference_id"] == str(cid)
    (line,) = params["line_items"]
    assert line["quantity"] == "1"
    assert line["price_data"]["currency"] == "eur"
    assert line["price_data"]["unit_amount"] == "4500"
    assert line["price_data"]["product_data"]["name"].startswith("Mobility check – ")
    metadata = {"coachdesk_session_ids": str(sid), "coachdesk_client_id": str(cid)}
    assert params["metadata"] == metadata
    assert params["payment_intent_data"] == {"metadata": metadata}
    assert params["success_url"] == (
        f"{app.config['BASE_URL']}/premium/return?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert params["cancel_url"] == f"{app.config['BASE_URL']}/accueil-client/payments"
    key = sent[0].headers["Idempotency-Key"]
    basket = hashlib.sha256(f"{cid}|{sid}:4500|EUR".encode()).hexdigest()
    assert key == "coachdesk-checkout-" + hashlib.sha256(f"{basket}|0".encode()).hexdigest()
    location = response.headers["Location"]
    assert location.startswith(f"{premium.standin.api_base}/pay/cs_test_")
    with app.app_context():
        row = db.scalar(db.query(PremiumCheckout).statement)
        assert row.session_ids == [sid] and row.amount == 4500 and row.status == "open"
        assert row.url == location and row.expires_at is not None


def test_pay_twice_reuses_the_open_checkout(app: Flask, scene: Scene, premium: Premium) -> None:
    first = pay(app, scene, "mobility").headers["Location"]
    second = pay(app, scene, "mobility").headers["Location"]
    assert first == second
    assert len(checkout_requests(premium.standin)) == 1
    assert count(app, PremiumCheckout) == 1


def test_expired_checkout_then_pay_opens_a_new_one(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    first = pay(app, scene, "mobility").headers["Location"]
    cs_id = first.rsplit("/", 1)[1]
    premium.standin.expire_checkout(cs_id)
    premium.standin.wait_for_deliveries()  # checkout.session.expired → marked expired
    with app.app_context():
        assert (
            db.scalar(db.query(PremiumCheckout.status).filter_by(stripe_session_id=cs_id).statement)
            == "expired"
        )
    second = pay(app, scene, "mobility").headers["Location"]
    assert second != first
    keys = [r.headers["Idempotency-Key"] for r in checkout_requests(premium.standin)]
    assert len(set(keys)) == 2
    assert count(app, PremiumCheckout) == 2


def test_pay_all_pays_everything_due_in_one_checkout(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    response = post(app, scene.web, "/premium/pay-all?currency=EUR")
    assert response.status_code == 303
    (sent,) = checkout_requests(premium.standin)
    amounts = [line["price_data"]["unit_amount"] for line in sent.params["line_items"]]
    assert amounts == ["4500", "6000"]
    ids = sorted([scene.sessions["mobility"], scene.sessions["strength"]])
    assert sent.params["metadata"]["coachdesk_session_ids"] == ",".join(map(str, ids))
    premium.standin.complete_checkout(response.headers["Location"].rsplit("/", 1)[1])
    premium.standin.wait_for_deliveries()
    rows = payments(app)
    paid = [p for p in rows if p.provider == "stripe"]
    assert sorted(p.session_id for p in paid) == ids
    assert {p.amount for p in paid} == {4500, 6000}
    assert len(outbox(app, "payment_confirmed")) == 1  # one email for the whole checkout
    assert len(outbox(app, "payment_received")) == 1


def test_already_paid_or_foreign_sessions_are_refused(
    app: Flask, scene: Scene, premium: Premium, make_user: Any
) -> None:
    response = pay(app, scene, "paid")
    assert response.status_code == 302
    follow = scene.web.get(response.headers["Location"]).get_data(as_text=True)
    assert "“Running technique” is already paid." in follow
    other = make_user("client")
    theirs = add_session(app, other, scene.coach, title="Not yours")
    assert post(app, scene.web, f"/premium/pay/{theirs}").status_code == 404
    assert checkout_requests(premium.standin) == []


def test_stripe_error_is_shown_and_nothing_is_recorded(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    premium.standin.revoked_keys.add("sk_test_coachdesk_premium")
    response = pay(app, scene, "mobility")
    assert response.status_code == 302
    page = scene.web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Stripe could not open the payment page: Invalid API Key provided" in page
    assert count(app, PremiumCheckout) == 0


def test_return_page_records_the_payment_before_the_webhook(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    location = pay(app, scene, "mobility").headers["Location"]
    cs_id = location.rsplit("/", 1)[1]
    # The client pays on the hosted page; the webhook goes out after the redirect.
    hosted = premium.standin.complete_checkout(cs_id)
    back = scene.web.get(f"/premium/return?session_id={cs_id}")
    assert back.status_code == 200
    text = back.get_data(as_text=True)
    assert "Payment received" in text and "€45.00" in text
    (payment,) = payments(app, Payment.provider == "stripe")
    assert payment.provider_reference == hosted["payment_intent"]
    assert payment.amount == 4500 and payment.currency == "EUR"
    premium.standin.wait_for_deliveries()
    (delivery,) = [d for d in premium.standin.deliveries if d.type == "checkout.session.completed"]
    assert delivery.status == 200
    assert len(payments(app, Payment.provider == "stripe")) == 1
    assert len(outbox(app, "payment_confirmed")) == 1
    assert len(outbox(app, "payment_received")) == 1
    # Reloading the return page records nothing more either.
    assert scene.web.get(f"/premium/return?session_id={cs_id}").status_code == 200
    assert len(payments(app, Payment.provider == "stripe")) == 1
    assert len(outbox(app)) == 2
    with app.app_context():
        session = db.get(CoachingSession, scene.sessions["mobility"])
        assert session.payment_status == "paid"
        row = db.scalar(db.query(PremiumCheckout).statement)
        assert row.status == "complete" and row.payment_intent == hosted["payment_intent"]
    page = scene.web.get("/accueil-client/payments").get_data(as_text=True)
    assert "Pay €45.00" not in page


def test_return_page_only_for_the_checkouts_owner(
    app: Flask, scene: Scene, premium: Premium, as_role: Any
) -> None:
    cs_id = pay(app, scene, "mobility").headers["Location"].rsplit("/", 1)[1]
    premium.standin.complete_checkout(cs_id)
    other, _user = as_role("client")
    assert other.get(f"/premium/return?session_id={cs_id}").status_code == 404
    assert scene.web.get("/premium/return?session_id=cs_test_forged").status_code == 404


def test_return_page_of_a_delayed_payment_says_processing(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    cs_id = pay(app, scene, "mobility").headers["Location"].rsplit("/", 1)[1]
    premium.standin.complete_checkout(cs_id, paid=False)
    text = scene.web.get(f"/premium/return?session_id={cs_id}").get_data(as_text=True)
    assert "being processed" in text
    assert payments(app, Payment.provider == "stripe") == []
    premium.standin.async_payment(cs_id, succeeded=True)
    premium.standin.wait_for_deliveries()
    assert len(payments(app, Payment.provider == "stripe")) == 1


def test_emails_in_french(app: Flask, scene: Scene, premium: Premium) -> None:
    with app.app_context():
        from core.accounts.models import User

        db.get(User, scene.client.id).locale = "fr"
        db.get(User, scene.coach.id).locale = "fr"
        db.commit()
    cs_id = pay(app, scene, "mobility").headers["Location"].rsplit("/", 1)[1]
    premium.standin.complete_checkout(cs_id)
    premium.standin.wait_for_deliveries()
    (client_mail,) = outbox(app, "payment_confirmed")
    (coach_mail,) = outbox(app, "payment_received")
    amount = format_currency(45, "EUR", locale="fr")  # "45,00 €" with Babel's own space
    # Subjects are on one line with plain spaces (the core tidies them).
    assert client_mail.subject == " ".join(f"Paiement confirmé : {amount}".split())
    assert f"Merci : nous avons bien reçu votre paiement de {amount}." in client_mail.body_text
    assert "Bonjour Chloé," in client_mail.body_text  # the core layout, in French too
    assert "Paiement reçu de Chloé Martin" in coach_mail.subject
    assert re.search(r"Référence Stripe : pi_", coach_mail.body_text)


def test_deactivated_premium_is_the_free_product(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    cs_id = pay(app, scene, "mobility").headers["Location"].rsplit("/", 1)[1]
    premium.standin.complete_checkout(cs_id)
    premium.standin.wait_for_deliveries()
    with app.app_context():
        get_host(app).deactivate(app, "premium")
        db.commit()
    page = scene.web.get("/accueil-client/payments").get_data(as_text=True)
    assert "/premium/" not in page and "Pay all" not in page
    assert pay(app, scene, "strength").status_code == 404
    assert scene.web.get(f"/premium/return?session_id={cs_id}").status_code == 404
    event = premium.standin.events_of_type("checkout.session.completed")[0]
    status, _body = premium.deliver(event)
    assert status == 404
    assert count(app, PremiumCheckout) == 1  # data kept
    assert len(payments(app, Payment.provider == "stripe")) == 1


@pytest.mark.parametrize("missing", ["license", "secret"])
def test_no_button_until_ready(app: Flask, scene: Scene, premium: Premium, missing: str) -> None:
    from tests.helpers import set_options

    if missing == "license":
        set_options(app, premium__license_key="")
    else:
        set_options(app, premium__test__secret_key="")
    page = scene.web.get("/accueil-client/payments").get_data(as_text=True)
    assert "/premium/pay" not in page
