"""Recording money against sessions. The only way a session becomes 'paid'.

The database refuses a paid session without a payment (a trigger), so the payment
row is written before the status changes.
"""

from __future__ import annotations

from datetime import datetime

from core.db import db, utcnow
from core.payments.models import PAYMENT_METHODS, Payment
from core.plugins import call
from core.sessions.models import CoachingSession, PaymentStatus


class PaymentError(ValueError):
    """The payment cannot be recorded as asked; the message is for the user."""


def record_payment(
    session: CoachingSession,
    *,
    method: str,
    amount: int | None = None,
    paid_at: datetime | None = None,
    note: str | None = None,
    recorded_by_id: int | None = None,
    provider: str = "manual",
    provider_reference: str | None = None,
) -> Payment:
    """Record a payment for ``session`` and mark it paid (the caller commits)."""
    if method not in PAYMENT_METHODS:
        raise PaymentError(f"unknown payment method {method!r}")
    amount = session.price_amount if amount is None else amount
    if amount is None or amount < 0:
        raise PaymentError("a payment needs a non-negative amount")
    payment = Payment(
        session_id=session.id,
        amount=amount,
        currency=session.currency,
        method=method,
        paid_at=paid_at or utcnow(),
        note=note,
        recorded_by_id=recorded_by_id,
        provider=provider,
        provider_reference=provider_reference,
    )
    db.add(payment)
    db.flush()
    session.payment_status = PaymentStatus.PAID.value
    db.flush()
    call("session_paid", session=session, payment_id=payment.id)
    return payment
