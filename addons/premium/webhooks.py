"""Stripe's webhook: ``POST /premium/stripe/webhook``.

Stripe signs every delivery, delivers at least once, sometimes twice at the same
moment, sometimes out of order, and retries any non-2xx answer for three days. So:

* the signature is checked on the raw body first (400, nothing touched, if it fails);
* each event id is written to ``premium_webhook_events`` in the same transaction as
  what the event changes: a replay finds its row and answers 200 without doing
  anything, and of two simultaneous twins the unique constraint lets one through
  (the other gets an IntegrityError and answers 200 "duplicate");
* any error inside the handling rolls everything back (the event row too) and
  answers 500, so that Stripe delivers it again later;
* a ``charge.refunded`` that arrives before its payment is recorded answers 500 as
  well: by Stripe's retry the ``checkout.session.completed`` will have been handled
  (recording a refund needs the payment row it refunds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from addons.premium import stripe_api
from addons.premium.blueprint import bp
from addons.premium.checkout import PROVIDER, fulfil, is_ours, mark
from addons.premium.models import CheckoutStatus, PremiumWebhookEvent
from core import api

log = logging.getLogger(__name__)


class RetryLater(RuntimeError):
    """The event cannot be handled yet (answer 500: Stripe retries)."""


# --------------------------------------------------------------------------
# Handlers, one per event type; each runs inside the event's transaction
# --------------------------------------------------------------------------


def checkout_completed(checkout: dict[str, Any]) -> None:
    if not is_ours(checkout):
        return
    if checkout.get("payment_status") in ("paid", "no_payment_required"):
        fulfil(checkout)
    else:  # a delayed method (bank debit): the money is not there yet
        mark(checkout, CheckoutStatus.PROCESSING)


def async_succeeded(checkout: dict[str, Any]) -> None:
    if is_ours(checkout):
        fulfil(checkout)


def async_failed(checkout: dict[str, Any]) -> None:
    if is_ours(checkout):
        mark(checkout, CheckoutStatus.FAILED)  # the sessions stay unpaid: Pay works again


def checkout_expired(checkout: dict[str, Any]) -> None:
    if is_ours(checkout):
        mark(checkout, CheckoutStatus.EXPIRED)  # a new Pay opens a new checkout


def _recorded(refund_id: str) -> bool:
    return (
        api.db.scalar(
            select(api.Refund.id).where(
                api.Refund.provider == PROVIDER,
                or_(
                    api.Refund.provider_reference == refund_id,
                    api.Refund.provider_reference.like(f"{refund_id}#%"),
                ),
            )
        )
        is not None
    )


def charge_refunded(charge: dict[str, Any]) -> None:
    """Record every refund of the charge that Coachdesk does not know yet.

    A refund made from Coachdesk names its payment in its metadata; one made in
    Stripe's dashboard is spread over the PaymentIntent's payments in order. A refund
    spread over several payments is recorded as ``re_…``, ``re_…#2``…
    """
    intent = charge.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    if not intent:
        return
    payments = list(
        api.db.scalars(
            select(api.Payment)
            .where(api.Payment.provider == PROVIDER, api.Payment.provider_reference == intent)
            .order_by(api.Payment.id)
        )
    )
    if not payments:
        if (charge.get("metadata") or {}).get("coachdesk_session_ids"):
            raise RetryLater(f"refund of {intent} before its payment was recorded")
        return  # not a Coachdesk payment
    refunds = ((charge.get("refunds") or {}).get("data")) or []
    for refund in sorted(refunds, key=lambda r: r.get("created") or 0):
        if refund.get("status") not in ("succeeded", "pending") or _recorded(refund["id"]):
            continue
        _record_stripe_refund(refund, payments)


def _record_stripe_refund(refund: dict[str, Any], payments: list[api.Payment]) -> None:
    named = (refund.get("metadata") or {}).get("coachdesk_payment_id")
    targets = [p for p in payments if str(p.id) == named] or payments
    left = int(refund["amount"])
    part = 0
    for payment in targets:
        share = min(left, api.refundable_amount(payment))
        if share <= 0:
            continue
        part += 1
        api.record_refund(
            payment,
            amount=share,
            provider=PROVIDER,
            provider_reference=refund["id"] if part == 1 else f"{refund['id']}#{part}",
            note="Stripe",
        )
        left -= share
        if left == 0:
            break
    if left:
        log.warning(
            "stripe refund %s: %s more than Coachdesk had left to refund", refund["id"], left
        )


HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": async_succeeded,
    "checkout.session.async_payment_failed": async_failed,
    "checkout.session.expired": checkout_expired,
    "charge.refunded": charge_refunded,
}


# --------------------------------------------------------------------------
# The endpoint
# --------------------------------------------------------------------------


def _seen(event_id: str) -> bool:
    return (
        api.db.scalar(
            select(PremiumWebhookEvent.id).where(PremiumWebhookEvent.event_id == event_id)
        )
        is not None
    )


@bp.route("/stripe/webhook", methods=["POST"])
@api.public
@api.csrf_exempt
def stripe_webhook() -> ResponseReturnValue:
    try:
        event = stripe_api.construct_event(
            request.get_data(), request.headers.get("Stripe-Signature")
        )
    except stripe_api.InvalidWebhook as exc:
        log.warning("stripe webhook refused: %s", exc)
        return {"error": "invalid signature"}, 400
    event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id:
        return {"error": "no event id"}, 400
    handler = HANDLERS.get(kind)
    if handler is None:
        return {"received": True, "ignored": kind}, 200
    if _seen(event_id):
        api.db.rollback()
        return {"received": True, "duplicate": True}, 200
    try:
        api.db.add(PremiumWebhookEvent(event_id=event_id, type=kind))
        api.db.flush()
        handler(event["data"]["object"])
        api.db.commit()
    except IntegrityError:
        api.db.rollback()
        if _seen(event_id):  # a twin delivery handled it at the same moment
            return {"received": True, "duplicate": True}, 200
        log.exception("stripe webhook %s (%s) failed", event_id, kind)
        return {"error": "not handled, retry"}, 500
    except RetryLater as exc:
        api.db.rollback()
        log.info("stripe webhook %s (%s): %s", event_id, kind, exc)
        return {"error": "retry later"}, 500
    except Exception:
        api.db.rollback()
        log.exception("stripe webhook %s (%s) failed", event_id, kind)
        return {"error": "not handled, retry"}, 500
    return {"received": True}, 200
