"""Recording money against sessions: the only way a session becomes 'paid' or 'refunded'.

The database refuses a paid session without a payment (a trigger), so the payment
row is written before the status changes.

Provider callbacks (webhooks) arrive more than once and sometimes at the same time:
online payments and refunds are idempotent by (provider, reference), and a unique
constraint settles races (the loser's savepoint is rolled back, the winner's rows are
returned). Money a provider really received is never refused for the session's sake:
a session cancelled or paid meanwhile gets the payment anyway, flagged for staff in
``Payment.attention``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.db import db, utcnow
from core.i18n import money
from core.payments.models import PAYMENT_METHODS, Attention, Payment, Refund
from core.plugins import call
from core.sessions.models import CoachingSession, PaymentStatus, SessionStatus

if TYPE_CHECKING:
    from core.accounts.models import User


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
        raise PaymentError(_("Unknown payment method “%(method)s”.", method=method))
    amount = session.price_amount if amount is None else amount
    if amount is None or amount < 0:
        raise PaymentError(_("A payment needs an amount of zero or more."))
    # The session's pending changes go first: the payment names the session's coach, and
    # the database checks it against the stored row (fk_payments_session_coach).
    db.flush()
    payment = Payment(
        session_id=session.id,
        coach_id=session.coach_id,
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


# --------------------------------------------------------------------------
# Online payments
# --------------------------------------------------------------------------


def _is_cancelled(session: CoachingSession) -> bool:
    """Nothing is owed any more: the session or its payment was cancelled, or refunded."""
    return session.status == SessionStatus.CANCELLED or session.payment_status in (
        PaymentStatus.CANCELLED,
        PaymentStatus.REFUNDED,
    )


def ensure_payable(sessions: Sequence[CoachingSession]) -> tuple[int, str]:
    """What a checkout for ``sessions`` must charge: (total in minor units, currency).

    Refuses (:class:`PaymentError`) a session already paid, cancelled, without a
    client or without a price, and sessions priced in different currencies.
    """
    if not sessions:
        raise PaymentError(_("Choose at least one session to pay."))
    for session in sessions:
        if session.payment_status == PaymentStatus.PAID:
            raise PaymentError(_("“%(title)s” is already paid.", title=session.title))
        if _is_cancelled(session):
            raise PaymentError(
                _("“%(title)s” was cancelled: there is nothing to pay.", title=session.title)
            )
        if session.client_id is None:
            raise PaymentError(_("“%(title)s” has no client.", title=session.title))
        if not session.price_amount:
            raise PaymentError(_("“%(title)s” has no price.", title=session.title))
    currencies = {s.currency for s in sessions}
    if len(currencies) > 1:
        raise PaymentError(
            _("These sessions are priced in different currencies: pay them separately.")
        )
    return sum(s.price_amount or 0 for s in sessions), currencies.pop()


def _payments_for(provider: str, reference: str) -> list[Payment]:
    return list(
        db.scalars(
            select(Payment)
            .where(Payment.provider == provider, Payment.provider_reference == reference)
            .order_by(Payment.id)
        )
    )


def _lock_sessions(sessions: Sequence[CoachingSession]) -> None:
    """Reload the sessions' current state, locked (PostgreSQL) in id order against deadlocks."""
    db.scalars(
        select(CoachingSession)
        .where(CoachingSession.id.in_([s.id for s in sessions]))
        .order_by(CoachingSession.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def record_online_payment(
    sessions: Sequence[CoachingSession],
    *,
    provider: str,
    reference: str,
    amount: int,
    currency: str,
    method: str = "card",
    paid_at: datetime | None = None,
) -> list[Payment]:
    """Record money ``provider`` received for ``sessions``: one payment row per session.

    Idempotent by (provider, reference): a second call returns the first call's rows
    and does nothing else. ``amount`` must be the sum of the sessions' prices, in
    their ``currency``. A session cancelled meanwhile keeps its status and its payment
    is flagged ``session_cancelled``; a session already paid gets a second payment
    flagged ``already_paid``. ``session_paid`` is raised only for sessions that
    became paid here. The caller commits.
    """
    existing = _payments_for(provider, reference)
    if existing:
        return existing
    if not sessions or len({s.id for s in sessions}) != len(sessions):
        raise PaymentError(_("A payment must name each session once."))
    if method not in PAYMENT_METHODS:
        raise PaymentError(_("Unknown payment method “%(method)s”.", method=method))
    if any(s.currency != currency.upper() for s in sessions):
        raise PaymentError(_("The payment's currency is not the sessions' currency."))
    expected = sum(s.price_amount or 0 for s in sessions)
    if amount != expected:
        raise PaymentError(
            _(
                "The payment's amount does not match the sessions' prices (%(amount)s).",
                amount=money(expected, sessions[0].currency),
            )
        )
    paid_at = paid_at or utcnow()
    newly_paid: list[tuple[CoachingSession, Payment]] = []
    try:
        with db.begin_nested():
            _lock_sessions(sessions)
            payments = []
            for session in sessions:
                attention = None
                if _is_cancelled(session):
                    attention = Attention.SESSION_CANCELLED.value
                elif session.payment_status == PaymentStatus.PAID:
                    attention = Attention.ALREADY_PAID.value
                payment = Payment(
                    session_id=session.id,
                    coach_id=session.coach_id,
                    amount=session.price_amount or 0,
                    currency=session.currency,
                    method=method,
                    paid_at=paid_at,
                    provider=provider,
                    provider_reference=reference,
                    attention=attention,
                )
                payments.append(payment)
                if attention is None:
                    newly_paid.append((session, payment))
            db.add_all(payments)
            db.flush()
            for session, _payment in newly_paid:
                session.payment_status = PaymentStatus.PAID.value
            db.flush()
    except IntegrityError:
        # Another process recorded the same provider payment first: theirs stands.
        existing = _payments_for(provider, reference)
        if not existing:
            raise
        return existing
    for session, payment in newly_paid:
        call("session_paid", session=session, payment_id=payment.id)
    return payments


def reinstate_payments(session: CoachingSession) -> None:
    """A cancelled session is reopened: a payment that arrived after the cancellation counts again.

    Marks the session paid (raising ``session_paid``) and clears the flag. The caller commits.
    """
    flagged = db.scalars(
        select(Payment)
        .where(
            Payment.session_id == session.id,
            Payment.attention == Attention.SESSION_CANCELLED.value,
        )
        .order_by(Payment.id)
    ).all()
    if not flagged:
        return
    for payment in flagged:
        payment.attention = None
    session.payment_status = PaymentStatus.PAID.value
    db.flush()
    call("session_paid", session=session, payment_id=flagged[-1].id)


# --------------------------------------------------------------------------
# Refunds
# --------------------------------------------------------------------------


def _refunded_total(payment_ids: Sequence[int]) -> int:
    return int(
        db.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id.in_(payment_ids)
            )
        )
        or 0
    )


def refundable_amount(payment: Payment) -> int:
    """What is left to refund of ``payment`` (minor units)."""
    return payment.amount - _refunded_total([payment.id])


def _refund_by_reference(provider: str, reference: str) -> Refund | None:
    return db.scalar(
        select(Refund).where(Refund.provider == provider, Refund.provider_reference == reference)
    )


def record_refund(
    payment: Payment,
    *,
    amount: int,
    provider: str = "manual",
    provider_reference: str | None = None,
    note: str | None = None,
    actor_id: int | None = None,
    refunded_at: datetime | None = None,
) -> Refund:
    """Give back ``amount`` of ``payment``; idempotent by (provider, provider_reference).

    Once every payment of the session is fully refunded the session becomes
    'refunded'; a partial refund leaves it 'paid'. A fully refunded payment needs no
    staff attention any more. Raises ``payment_refunded``. The caller commits.
    """
    if amount <= 0:
        raise PaymentError(_("A refund needs an amount greater than zero."))
    session = db.scalars(
        select(CoachingSession).where(CoachingSession.id == payment.session_id).with_for_update()
    ).one()  # locked (PostgreSQL): two refunds of one session never both pass the check below
    if provider_reference is not None:  # looked up under the lock: a concurrent twin has committed
        existing = _refund_by_reference(provider, provider_reference)
        if existing is not None:
            return existing
    left = refundable_amount(payment)
    if amount > left:
        raise PaymentError(
            _("At most %(amount)s can still be refunded.", amount=money(left, payment.currency))
        )
    refund = Refund(
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        provider=provider,
        provider_reference=provider_reference,
        note=note,
        recorded_by_id=actor_id,
        refunded_at=refunded_at or utcnow(),
    )
    try:
        with db.begin_nested():
            db.add(refund)
            db.flush()
    except IntegrityError:
        # The provider told another process about the same refund first: theirs stands.
        if provider_reference is None:
            raise
        existing = _refund_by_reference(provider, provider_reference)
        if existing is None:
            raise
        return existing
    if amount == left:
        payment.attention = None
        if _session_fully_refunded(session.id):
            session.payment_status = PaymentStatus.REFUNDED.value
    db.flush()
    call("payment_refunded", session=session, payment_id=payment.id, refund_id=refund.id)
    return refund


def refund_session(session: CoachingSession, *, actor_id: int | None = None) -> list[Refund]:
    """Refund by hand what is left of every payment of ``session``. The caller commits."""
    payments = db.scalars(
        select(Payment).where(Payment.session_id == session.id).order_by(Payment.id)
    ).all()
    return [
        record_refund(payment, amount=left, actor_id=actor_id)
        for payment in payments
        if (left := refundable_amount(payment)) > 0
    ]


def _session_fully_refunded(session_id: int) -> bool:
    paid, refunded = db.execute(
        select(
            func.coalesce(func.sum(Payment.amount), 0),
            select(func.coalesce(func.sum(Refund.amount), 0))
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Payment.session_id == session_id)
            .scalar_subquery(),
        ).where(Payment.session_id == session_id)
    ).one()
    return int(refunded) >= int(paid)


def refund_payment(payment: Payment, amount: int, actor: User) -> None:
    """Give back ``amount`` of ``payment``: recorded as is for a payment taken by hand,
    made at the provider first for an online one (its ``PaymentProvider.refund``).

    Raises :class:`PaymentError` with a message for the user. The caller commits.
    """
    if amount <= 0 or amount > refundable_amount(payment):
        raise PaymentError(
            _(
                "At most %(amount)s can still be refunded.",
                amount=money(refundable_amount(payment), payment.currency),
            )
        )
    if payment.provider == "manual":
        record_refund(payment, amount=amount, actor_id=actor.id)
        return
    from core.plugins import collect

    providers = {cls.key: cls for cls in collect("payment_providers")}
    provider = providers.get(payment.provider)
    if provider is None:
        raise PaymentError(
            _(
                "This payment was made through %(provider)s, which is not active now: "
                "activate its add-on to refund it.",
                provider=payment.provider,
            )
        )
    try:
        provider().refund(payment.id, amount, actor.id)
    except NotImplementedError:
        raise PaymentError(
            _(
                "%(provider)s cannot refund from Coachdesk: refund the client there, "
                "then mark the session refunded.",
                provider=provider.label or provider.key,
            )
        ) from None
