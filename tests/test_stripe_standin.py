"""The Stripe stand-in, driven by the official library the way the Premium add-on will be."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import stripe

from tests.stripe_standin import StripeStandin
from tests.stripe_standin import fixtures as standin_fixtures
from tests.stripe_standin.fixtures import WEBHOOK_SECRET, WebhookReceiver
from tests.stripe_standin.server import ApiError, parse_params

# The stand-in's pytest fixtures, made visible to this module.
stripe_standin_server = standin_fixtures.stripe_standin_server
stripe_standin = standin_fixtures.stripe_standin
webhook_receiver = standin_fixtures.webhook_receiver

SUCCESS_URL = "https://coach.example/premium/return?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://coach.example/premium/cancelled"


def session_params(**changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 2,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 2500,
                    "product_data": {"name": "Coaching session"},
                },
            }
        ],
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "customer_email": "client@example.com",
        "client_reference_id": "booking-42",
        "metadata": {"booking_id": "42", "coach": "7"},
        "payment_intent_data": {"metadata": {"booking_id": "42"}},
    }
    params.update(changes)
    return params


def raw(
    method: str, url: str, body: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """One request without following redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


@pytest.fixture
def client(stripe_standin: StripeStandin) -> stripe.StripeClient:
    stripe.enable_telemetry = False
    return stripe.StripeClient(
        "sk_test_x", base_addresses={"api": stripe_standin.api_base}, max_network_retries=0
    )


def create(client: stripe.StripeClient, **changes: Any) -> Any:
    return client.v1.checkout.sessions.create(params=session_params(**changes))


def verified(received: list[Any]) -> list[stripe.Event]:
    return [
        stripe.Webhook.construct_event(item.body, item.signature, WEBHOOK_SECRET)
        for item in received
    ]


def test_form_parameters_nest_like_stripes():
    pairs = [
        ("line_items[0][price_data][currency]", "eur"),
        ("line_items[1][quantity]", "2"),
        ("line_items[0][quantity]", "1"),
        ("expand[]", "payment_intent"),
        ("expand[]", "customer"),
        ("metadata[0]", "digit key"),
        ("metadata[note]", ""),
    ]
    assert parse_params(pairs) == {
        "line_items": [{"price_data": {"currency": "eur"}, "quantity": "1"}, {"quantity": "2"}],
        "expand": ["payment_intent", "customer"],
        "metadata": {"0": "digit key", "note": ""},
    }
    assert parse_params([("a[0]", "x"), ("a[2]", "y")]) == {"a": {"0": "x", "2": "y"}}
    for pairs in ([("a", "1"), ("a", "2")], [("a", "1"), ("a[b]", "2")], [("a]b", "1")]):
        with pytest.raises(ApiError):
            parse_params(pairs)


# -- Checkout Sessions ------------------------------------------------------------------------


def test_create_round_trips_the_fields_the_request_sets(client, stripe_standin):
    before = int(time.time())
    session = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "booking-42-attempt-1"}
    )

    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert (session.amount_total, session.amount_subtotal, session.currency) == (5000, 5000, "eur")
    assert session.metadata.to_dict() == {"booking_id": "42", "coach": "7"}
    assert session.client_reference_id == "booking-42"
    assert session.customer_email == "client@example.com"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert session.url == f"{stripe_standin.api_base}/pay/{session.id}"
    assert session.payment_intent is None
    assert before + 24 * 3600 <= session.expires_at <= int(time.time()) + 24 * 3600
    assert session.success_url == SUCCESS_URL

    recorded = stripe_standin.requests[-1]
    assert (recorded.method, recorded.path, recorded.status) == (
        "POST",
        "/v1/checkout/sessions",
        200,
    )
    assert recorded.headers["Idempotency-Key"] == "booking-42-attempt-1"
    assert recorded.headers["Authorization"] == "Bearer sk_test_x"
    assert recorded.params["line_items"][0]["price_data"]["unit_amount"] == "2500"
    assert recorded.params["payment_intent_data"] == {"metadata": {"booking_id": "42"}}


def test_zero_decimal_currency_and_quantity_make_the_total(client):
    line = {"quantity": 3, "price_data": {"currency": "JPY", "unit_amount": 1200}}
    line["price_data"]["product_data"] = {"name": "Workshop"}
    session = create(client, line_items=[line])
    assert (session.amount_total, session.currency) == (3600, "jpy")


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"coupon": "X"}, "coupon"),
        ({"line_items": None}, "line_items"),
        ({"success_url": None}, "success_url"),
        ({"success_url": "/relative"}, "success_url"),
        ({"mode": "subscription"}, "mode"),
        ({"expires_at": int(time.time()) + 60}, "expires_at"),
        (
            {"payment_intent_data": {"capture_method": "manual"}},
            "payment_intent_data[capture_method]",
        ),
    ],
)
def test_refused_session_parameters(client, stripe_standin, changes, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create(client, **changes)
    assert caught.value.param == param
    assert caught.value.http_status == 400
    assert caught.value.json_body["error"]["type"] == "invalid_request_error"
    assert not stripe_standin.objects


@pytest.mark.parametrize(
    ("price_data", "param"),
    [
        ({"unit_amount": 0}, "line_items[0][price_data][unit_amount]"),
        ({"unit_amount": -100}, "line_items[0][price_data][unit_amount]"),
        ({"unit_amount": 12.5}, "line_items[0][price_data][unit_amount]"),
        ({"unit_amount": "12,50"}, "line_items[0][price_data][unit_amount]"),
        ({"currency": "euro"}, "line_items[0][price_data][currency]"),
        ({"product_data": {"title": "x"}}, "line_items[0][price_data][product_data][title]"),
        ({"recurring": {"interval": "month"}}, "line_items[0][price_data][recurring]"),
        ({"unit_amount": 10}, "line_items"),  # 0.20 EUR: below Stripe's minimum charge
    ],
)
def test_refused_line_items(client, price_data, param):
    price = {"currency": "eur", "unit_amount": 2500, "product_data": {"name": "Session"}}
    price.update(price_data)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create(client, line_items=[{"quantity": 2, "price_data": price}])
    assert caught.value.param == param


def test_quantity_must_be_a_positive_integer(client):
    price = {"currency": "eur", "unit_amount": 2500, "product_data": {"name": "Session"}}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create(client, line_items=[{"quantity": 0, "price_data": price}])
    assert caught.value.param == "line_items[0][quantity]"
    assert "greater than or equal to 1" in caught.value.user_message


def test_idempotency_replays_the_first_answer_and_refuses_other_parameters(client, stripe_standin):
    options = {"idempotency_key": "checkout-booking-42"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    again = client.v1.checkout.sessions.create(params=session_params(), options=options)

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert (
        len([o for o in stripe_standin.objects.values() if o["object"] == "checkout.session"]) == 1
    )

    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="booking-43"), options=options
        )
    # A request refused by validation is not saved: its key stays free for the corrected one.
    retry = {"idempotency_key": "checkout-booking-43"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params=session_params(coupon="X"), options=retry)
    assert client.v1.checkout.sessions.create(params=session_params(), options=retry).id != first.id


def test_retrieve_expands_the_payment_intent(client, stripe_standin):
    session = create(client)
    stripe_standin.complete_checkout(session.id)

    plain = client.v1.checkout.sessions.retrieve(session.id)
    assert isinstance(plain.payment_intent, str)
    expanded = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    intent = expanded.payment_intent
    assert intent.id == plain.payment_intent
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 5000, "eur")
    assert intent.metadata.to_dict() == {"booking_id": "42"}
    assert intent.latest_charge.paid is True
    assert stripe_standin.requests[-1].params == {"expand": ["payment_intent.latest_charge"]}

    # expand[]= (the form the PHP / Ruby libraries and hand-written calls use) works too.
    query = urlencode({"expand[]": "payment_intent"})
    status, _, body = raw(
        "GET",
        f"{stripe_standin.api_base}/v1/checkout/sessions/{session.id}?{query}",
        headers={"Authorization": "Bearer sk_test_x"},
    )
    assert status == 200
    assert json.loads(body)["payment_intent"]["object"] == "payment_intent"

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["invoice"]})
    assert caught.value.param == "expand"


def test_list_filters_by_payment_intent_and_unknown_ids_are_404(client, stripe_standin):
    paid, _other = create(client), create(client)
    stripe_standin.complete_checkout(paid.id)
    intent_id = client.v1.checkout.sessions.retrieve(paid.id).payment_intent

    found = client.v1.checkout.sessions.list(params={"payment_intent": intent_id})
    assert [item.id for item in found.data] == [paid.id]
    assert len(client.v1.checkout.sessions.list().data) == 2

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_missing")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
    assert client.v1.payment_intents.retrieve(intent_id).status == "succeeded"


def test_unknown_paths_answer_stripes_404(stripe_standin):
    status, headers, body = raw(
        "GET",
        f"{stripe_standin.api_base}/v1/customers",
        headers={"Authorization": "Bearer sk_test_x"},
    )
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Unrecognized request URL (GET: /v1/customers)")


# -- payment, webhooks ------------------------------------------------------------------------


def test_completed_checkout_delivers_a_signed_event(client, stripe_standin, webhook_receiver):
    session = create(client)
    stripe_standin.complete_checkout(session.id)
    stripe_standin.wait_for_deliveries()

    (event,) = verified(webhook_receiver.received)
    assert event.type == "checkout.session.completed"
    assert event.api_version == stripe.api_version
    completed = event.data.object
    assert isinstance(completed, stripe.checkout.Session)
    assert (completed.id, completed.status, completed.payment_status) == (
        session.id,
        "complete",
        "paid",
    )
    assert completed.metadata.to_dict() == {"booking_id": "42", "coach": "7"}
    assert completed.customer_details.email == "client@example.com"
    assert webhook_receiver.received[0].path == "/webhooks/stripe"
    assert stripe_standin.deliveries[0].status == 200

    # Tests can replay it, or sign it wrongly or too long ago.
    raw = webhook_receiver.received[0].json()
    assert stripe_standin.deliver(raw)[0] == 200
    assert verified(webhook_receiver.received[1:])[0].id == event.id
    stripe_standin.deliver(raw, secret="whsec_someone_else")
    stripe_standin.deliver(raw, timestamp=int(time.time()) - 600)
    stripe_standin.deliver(raw, signature="t=1,v1=00")
    for item in webhook_receiver.received[2:]:
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(item.body, item.signature, WEBHOOK_SECRET)


def test_delayed_payment_settles_later(client, stripe_standin, webhook_receiver):
    session = create(client, payment_method_types=["card", "sepa_debit"])
    stripe_standin.complete_checkout(session.id, paid=False)
    unpaid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (unpaid.status, unpaid.payment_status) == ("complete", "unpaid")
    assert unpaid.payment_intent.status == "processing"

    stripe_standin.async_payment(session.id, succeeded=True)
    stripe_standin.wait_for_deliveries()
    assert webhook_receiver.types() == [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ]
    assert client.v1.payment_intents.retrieve(unpaid.payment_intent.id).status == "succeeded"

    failing = create(client, payment_method_types=["sepa_debit"])
    stripe_standin.complete_checkout(failing.id, paid=False)
    stripe_standin.async_payment(failing.id, succeeded=False)
    stripe_standin.wait_for_deliveries()
    assert webhook_receiver.types()[-1] == "checkout.session.async_payment_failed"
    assert client.v1.checkout.sessions.retrieve(failing.id).payment_status == "unpaid"


def test_expiry_by_api_and_by_helper(client, stripe_standin, webhook_receiver):
    first, second = create(client), create(client)
    expired = client.v1.checkout.sessions.expire(first.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(first.id)
    stripe_standin.expire_checkout(second.id)
    stripe_standin.wait_for_deliveries()
    events = verified(webhook_receiver.received)
    assert [(e.type, e.data.object.id) for e in events] == [
        ("checkout.session.expired", first.id),
        ("checkout.session.expired", second.id),
    ]
    assert (
        events[0].request.idempotency_key == stripe_standin.requests[-2].headers["Idempotency-Key"]
    )
    status, _, page = raw("GET", first.url)
    assert status == 200
    assert "This Checkout Session has expired" in page


def test_refunds_partial_then_full_then_too_much(client, stripe_standin, webhook_receiver):
    session = create(client)
    stripe_standin.complete_checkout(session.id)
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    partial = client.v1.refunds.create(
        params={"payment_intent": intent_id, "amount": 1500, "reason": "requested_by_customer"}
    )
    assert (partial.object, partial.status, partial.amount) == ("refund", "succeeded", 1500)
    assert partial.id.startswith("re_")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 3501})
    assert (caught.value.code, caught.value.param) == ("amount_too_large", "amount")

    rest = client.v1.refunds.create(params={"charge": partial.charge, "metadata": {"why": "x"}})
    assert rest.amount == 3500
    charge = client.v1.charges.retrieve(partial.charge)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1})
    assert caught.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 0})
    assert caught.value.param == "amount"

    stripe_standin.wait_for_deliveries()
    events = verified(webhook_receiver.received)
    assert [e.type for e in events] == [
        "checkout.session.completed",
        "charge.refunded",
        "refund.created",
        "charge.refunded",
        "refund.created",
    ]
    assert events[1].data.object.amount_refunded == 1500
    assert events[1].data.previous_attributes["amount_refunded"] == 0
    assert events[4].data.object.id == rest.id


def test_refund_of_an_unpaid_intent_is_refused(client, stripe_standin):
    session = create(client, payment_method_types=["sepa_debit"])
    stripe_standin.complete_checkout(session.id, paid=False)
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent_id})
    assert caught.value.code == "charge_not_refundable"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": "pi_missing"})
    assert caught.value.code == "resource_missing"


def test_synchronous_delivery_is_done_when_the_helper_returns(client, stripe_standin):
    receiver = WebhookReceiver()
    try:
        stripe_standin.webhook_endpoint(receiver.url, WEBHOOK_SECRET)
        stripe_standin.async_delivery = False
        session = create(client)
        stripe_standin.complete_checkout(session.id)
        assert receiver.types() == ["checkout.session.completed"]
        # API-caused events reach the endpoint before the API answer does.
        intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
        client.v1.refunds.create(params={"payment_intent": intent_id})
        assert receiver.types()[1:] == ["charge.refunded", "refund.created"]
        # ... and so do the hosted page's: before the redirect.
        other = create(client)
        assert raw("POST", other.url)[0] == 303
        assert receiver.types()[-1] == "checkout.session.completed"
        receiver.status = 500
        stripe_standin.expire_checkout(create(client).id)
        assert stripe_standin.deliveries[-1].status == 500
    finally:
        receiver.close()


# -- keys -------------------------------------------------------------------------------------


def test_api_keys(stripe_standin):
    def client_for(key: str) -> stripe.StripeClient:
        return stripe_standin.client(key)

    assert client_for("sk_test_good").v1.balance.retrieve().object == "balance"
    assert client_for("sk_test_good").v1.accounts.retrieve_current().charges_enabled is True

    stripe_standin.revoked_keys.add("sk_test_revoked1234")
    with pytest.raises(stripe.AuthenticationError) as caught:
        client_for("sk_test_revoked1234").v1.balance.retrieve()
    assert caught.value.http_status == 401
    assert caught.value.user_message == "Invalid API Key provided: sk_test_****1234"
    with pytest.raises(stripe.AuthenticationError):
        client_for("pk_test_publishable").v1.balance.retrieve()

    stripe_standin.valid_keys.add("sk_live_only")
    with pytest.raises(stripe.AuthenticationError):
        client_for("sk_test_good").v1.balance.retrieve()
    live = client_for("sk_live_only").v1.checkout.sessions.create(params=session_params())
    assert live.id.startswith("cs_live_") and live.livemode is True


# -- hosted page ------------------------------------------------------------------------------


def test_hosted_page_pays_redirects_and_then_delivers(client, stripe_standin, webhook_receiver):
    session = create(client)
    status, headers, page = raw("GET", session.url)
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert "Stand-in Stripe Checkout" in page
    assert "50.00 EUR" in page and "Coaching session" in page
    assert ">Pay</button>" in page and ">Cancel</a>" in page

    status, headers, _ = raw("GET", session.url + "/cancel")
    assert (status, headers["Location"]) == (303, CANCEL_URL)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"

    status, headers, _ = raw(
        "POST",
        session.url,
        body="outcome=paid",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 303
    assert headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"

    stripe_standin.wait_for_deliveries()
    assert webhook_receiver.types() == ["checkout.session.completed"]
    status, _, page = raw("GET", session.url)
    assert "This Checkout Session is already complete" in page
    assert raw("POST", session.url)[0] == 409
    assert raw("GET", f"{stripe_standin.api_base}/pay/cs_test_nope")[0] == 404
