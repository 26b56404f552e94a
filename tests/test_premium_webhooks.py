"""Premium: Stripe's webhook — signatures, replays, order, cancelled sessions, twin deliveries."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask

from addons.premium.models import PremiumCheckout, PremiumWebhookEvent
from core.db import db, get_database
from core.payments.models import Attention, Payment, Refund
from core.sessions.models import CoachingSession
from tests import premium_fixtures as fixtures
from tests.conftest import post
from tests.premium_fixtures import Premium, Scene, count, outbox, payments, refunds

premium = fixtures.premium
scene = fixtures.scene
stripe_standin = fixtures.stripe_standin
stripe_standin_server = fixtures.stripe_standin_server


def open_checkout(app: Flask, scene: Scene, key: str = "mobility") -> str:
    response = post(app, scene.web, f"/premium/pay/{scene.sessions[key]}")
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


def paid_quietly(app: Flask, scene: Scene, premium: Premium) -> tuple[str, dict[str, Any]]:
    """The client pays, but the webhook is not delivered: the test delivers it itself."""
    cs_id = open_checkout(app, scene)
    premium.standin.webhook_url = None  # keep the events, deliver nothing
    premium.standin.complete_checkout(cs_id)
    premium.standin.webhook_url = premium.webhook_url
    (event,) = premium.standin.events_of_type("checkout.session.completed")
    return cs_id, event


def state(app: Flask) -> tuple[int, int, int, int]:
    return (
        count(app, Payment),
        count(app, Refund),
        count(app, PremiumWebhookEvent),
        len(outbox(app)),
    )


def test_completed_event_records_the_payment_once(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    _cs, event = paid_quietly(app, scene, premium)
    assert premium.deliver(event)[0] == 200
    (payment,) = payments(app, Payment.provider == "stripe")
    intent = event["data"]["object"]["payment_intent"]
    assert payment.provider_reference == intent and payment.amount == 4500
    client_mail = outbox(app, "payment_confirmed")
    assert [m.dedupe_key for m in client_mail] == [
        f"premium-paid-{intent}-{scene.sessions['mobility']}-client"
    ]
    before = state(app)
    status, body = premium.deliver(event)  # Stripe delivers it again
    assert status == 200 and "duplicate" in body
    assert state(app) == before


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing
        "t=1700000000,v1=deadbeef",  # wrong
        "garbage",
    ],
)
def test_bad_signature_is_refused_and_changes_nothing(
    app: Flask, scene: Scene, premium: Premium, signature: str
) -> None:
    _cs, event = paid_quietly(app, scene, premium)
    before = state(app)
    status, _body = premium.deliver(event, signature=signature)
    assert status == 400
    assert state(app) == before


def test_other_secret_or_stale_signature_is_refused(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    _cs, event = paid_quietly(app, scene, premium)
    before = state(app)
    assert premium.deliver(event, secret="whsec_someone_else")[0] == 400
    assert premium.deliver(event, timestamp=int(time.time()) - 3600)[0] == 400
    assert state(app) == before


def test_unknown_event_types_are_ignored(app: Flask, scene: Scene, premium: Premium) -> None:
    event = premium.standin.make_event("customer.created", {"id": "cus_1", "object": "customer"})
    status, body = premium.deliver(event)
    assert status == 200 and "ignored" in body
    assert count(app, PremiumWebhookEvent) == 0


def test_payment_for_a_cancelled_session_is_recorded_and_flagged(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    _cs, event = paid_quietly(app, scene, premium)
    with app.app_context():
        session = db.get(CoachingSession, scene.sessions["mobility"])
        session.status = "cancelled"
        db.commit()
    assert premium.deliver(event)[0] == 200
    (payment,) = payments(app, Payment.provider == "stripe")
    assert payment.attention == Attention.SESSION_CANCELLED
    with app.app_context():
        assert db.get(CoachingSession, scene.sessions["mobility"]).payment_status == "pending"
    (coach_mail,) = outbox(app, "payment_received")
    assert "was cancelled before this payment arrived" in coach_mail.body_text


def test_refund_event_before_the_payment_is_retried_later(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    _cs_id, completed = paid_quietly(app, scene, premium)
    intent = completed["data"]["object"]["payment_intent"]
    premium.standin.webhook_url = None
    premium.standin.client(fixtures.SECRET_KEY).v1.refunds.create(
        params={"payment_intent": intent, "amount": 1500}
    )
    premium.standin.webhook_url = premium.webhook_url
    (refunded,) = premium.standin.events_of_type("charge.refunded")
    status, _body = premium.deliver(refunded)  # out of order: the payment is unknown yet
    assert status == 500
    assert count(app, Refund) == 0 and count(app, PremiumWebhookEvent) == 0
    assert premium.deliver(completed)[0] == 200
    assert premium.deliver(refunded)[0] == 200  # Stripe's retry
    (refund,) = refunds(app)
    assert refund.amount == 1500 and refund.provider == "stripe"
    assert refund.provider_reference.startswith("re_")
    assert premium.deliver(refunded)[0] == 200
    assert count(app, Refund) == 1


def test_refund_of_a_pay_all_is_spread_over_its_payments(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    response = post(app, scene.web, "/premium/pay-all?currency=EUR")
    cs_id = response.headers["Location"].rsplit("/", 1)[1]
    session = premium.standin.complete_checkout(cs_id)
    premium.standin.wait_for_deliveries()
    premium.standin.client(fixtures.SECRET_KEY).v1.refunds.create(
        params={"payment_intent": session["payment_intent"], "amount": 5000}
    )
    premium.standin.wait_for_deliveries()
    rows = refunds(app)
    assert [r.amount for r in rows] == [4500, 500]
    assert rows[1].provider_reference == rows[0].provider_reference + "#2"
    with app.app_context():
        assert db.get(CoachingSession, scene.sessions["mobility"]).payment_status == "refunded"
        assert db.get(CoachingSession, scene.sessions["strength"]).payment_status == "paid"


def test_delayed_payment_processing_then_failed(app: Flask, scene: Scene, premium: Premium) -> None:
    cs_id = open_checkout(app, scene)
    premium.standin.complete_checkout(cs_id, paid=False)
    premium.standin.wait_for_deliveries()
    with app.app_context():
        row = db.scalar(db.query(PremiumCheckout).statement)
        assert row.status == "processing"
    refused = post(app, scene.web, f"/premium/pay/{scene.sessions['mobility']}")
    assert refused.status_code == 302  # no second payment while the bank debit runs
    premium.standin.async_payment(cs_id, succeeded=False)
    premium.standin.wait_for_deliveries()
    with app.app_context():
        assert db.scalar(db.query(PremiumCheckout.status).statement) == "failed"
    assert count(app, Payment, Payment.provider == "stripe") == 0
    again = post(app, scene.web, f"/premium/pay/{scene.sessions['mobility']}")
    assert again.status_code == 303  # a new checkout


def test_a_failing_handler_rolls_back_and_answers_500(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    _cs, event = paid_quietly(app, scene, premium)
    with app.app_context():  # the price changed after the checkout: the amounts disagree
        db.get(CoachingSession, scene.sessions["mobility"]).price_amount = 9900
        db.commit()
    assert premium.deliver(event)[0] == 500
    assert state(app) == (1, 0, 0, 0)  # only the session paid by transfer in the scene


@pytest.mark.postgres_only
def test_two_simultaneous_deliveries_record_one_payment(
    app: Flask, scene: Scene, premium: Premium
) -> None:
    if get_database(app).dialect != "postgresql":
        pytest.skip("needs PostgreSQL (COACHDESK_TEST_DATABASE_URL)")
    _cs, event = paid_quietly(app, scene, premium)
    barrier = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(premium.deliver(event))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(status for status, _ in answers) == [200, 200]
    assert count(app, Payment, Payment.provider == "stripe") == 1
    assert count(app, PremiumWebhookEvent) == 1
    assert len(outbox(app, "payment_confirmed")) == 1
