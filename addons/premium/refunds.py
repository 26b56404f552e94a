"""Refunding Stripe payments from Coachdesk: the session editor's "Online payment" section,
the client profile's "Online payments" tab, and ``POST /premium/refund/<payment_id>``.

The refund is made at Stripe first, then recorded at once with Stripe's refund id as
reference, so the page shows it straight away and the ``charge.refunded`` webhook that
follows finds it already recorded (idempotent by that id).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from addons.premium import stripe_api
from addons.premium.blueprint import bp
from addons.premium.checkout import PROVIDER
from addons.premium.i18n import _, render_template
from core import api
from hooks import Tab, hookimpl

CAPABILITY = "premium_refunds"
#: Digits before the decimal point beyond which a typed amount is refused unread.
MAX_DIGITS = 12


def can_refund(viewer: api.User) -> bool:
    """Administrators, and coaches granted ``premium_refunds`` (for their own sessions)."""
    if viewer.role == api.Role.ADMIN:
        return True
    try:
        return api.has_capability(viewer, CAPABILITY)
    except KeyError:  # the capability is not declared (yet): coaches cannot
        return False


def stripe_payments(*where: Any) -> list[tuple[api.Payment, api.CoachingSession, int]]:
    """Stripe payments matching ``where``, with their session and the amount refunded so far."""
    refunded = (
        select(func.coalesce(func.sum(api.Refund.amount), 0))
        .where(api.Refund.payment_id == api.Payment.id)
        .scalar_subquery()
    )
    rows = api.db.execute(
        select(api.Payment, api.CoachingSession, refunded)
        .join(api.CoachingSession, api.CoachingSession.id == api.Payment.session_id)
        .where(api.Payment.provider == PROVIDER, *where)
        .order_by(api.Payment.paid_at.desc(), api.Payment.id.desc())
    ).all()
    return [(payment, session, int(done)) for payment, session, done in rows]


def to_major(amount: int, currency: str) -> str:
    """4500, EUR → "45.00" (the value of an amount field)."""
    digits = get_currency_precision(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def to_minor(text: str, currency: str) -> int | None:
    """ "45", "45.5", "45,50" → minor units; None when it is not an amount."""
    digits = get_currency_precision(currency)
    try:
        value = Decimal(
            (text or "").strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
        )
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value.adjusted() > MAX_DIGITS:
        return None  # "Infinity", "NaN", "1e309": no amount anybody refunds
    try:
        minor = value.scaleb(digits)
    except ArithmeticError:  # "1e-999999999": beyond what decimals can scale
        return None
    if minor <= 0 or minor != minor.to_integral_value():
        return None
    return int(minor)


def _render_payments(rows: list[tuple[api.Payment, api.CoachingSession, int]], back: str) -> str:
    return render_template(
        "premium/payments_section.html",
        rows=rows,
        can_refund=can_refund(current_user),
        back=back,
        to_major=to_major,
    )


@hookimpl
def session_editor_sections(session: api.CoachingSession | None, viewer: api.User) -> list[Tab]:
    if session is None:
        return []
    rows = stripe_payments(api.Payment.session_id == session.id)
    if not rows:
        return []
    back = url_for("coach.edit_session", session_id=session.id)
    return [
        Tab(
            "premium-online-payment",
            _("Online payment"),
            lambda: _render_payments(rows, back),
            order=50,
        )
    ]


@hookimpl
def client_profile_tabs(client: api.User, viewer: api.User) -> list[Tab]:
    def render() -> str:
        scope = [api.CoachingSession.client_id == client.id]
        if viewer.role != api.Role.ADMIN:
            scope.append(api.CoachingSession.coach_id == viewer.id)
        back = url_for("coach.profile", client_id=client.id, tab="online-payments")
        return _render_payments(stripe_payments(*scope), back)

    return [Tab("online-payments", _("Online payments"), render, order=45)]


def _safe_back(value: str | None, fallback: str) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return fallback


@bp.route("/refund/<int:payment_id>", methods=["POST"])
@api.staff_required
def refund(payment_id: int) -> ResponseReturnValue:
    payment = api.db.get(api.Payment, payment_id)
    if payment is None or payment.provider != PROVIDER:
        abort(404)
    session = api.get_session_or_404(current_user, payment.session_id)  # the coach's own only
    if not can_refund(current_user):
        abort(403)
    back = _safe_back(
        request.form.get("next"), url_for("coach.edit_session", session_id=session.id)
    )
    left = api.refundable_amount(payment)
    amount = to_minor(request.form.get("amount", ""), payment.currency)
    if amount is None:
        flash(
            _(
                "Enter the amount to refund, for example %(example)s.",
                example=to_major(left, payment.currency),
            ),
            "error",
        )
        return redirect(back)
    if amount > left:
        flash(
            _(
                "At most %(amount)s can still be refunded.",
                amount=api.format_money(left, payment.currency),
            ),
            "error",
        )
        return redirect(back)
    if request.form.get("confirm") != "yes":
        return render_template(
            "premium/refund_confirm.html",
            payment=payment,
            session=session,
            amount=amount,
            amount_field=to_major(amount, payment.currency),
            left=left,
            back=back,
        )
    refunded_so_far = payment.amount - left
    try:
        done = stripe_api.create_refund(
            payment_intent=payment.provider_reference or "",
            amount=amount,
            idempotency_key=f"refund-{payment.id}-{refunded_so_far}-{amount}",
            metadata={
                "coachdesk_payment_id": str(payment.id),
                "coachdesk_session_id": str(session.id),
                "coachdesk_user_id": str(current_user.id),
            },
        )
    except stripe_api.StripeProblem as exc:
        api.db.rollback()
        flash(exc.message, "error")
        return redirect(back)
    try:
        api.record_refund(
            payment,
            amount=int(done["amount"]),
            provider=PROVIDER,
            provider_reference=done["id"],
            actor_id=current_user.id,
        )
        api.db.commit()
    except api.PaymentError as exc:
        # Stripe refunded; Coachdesk could not record it (a manual refund meanwhile?).
        api.db.rollback()
        flash(str(exc), "error")
        return redirect(back)
    flash(
        _(
            "%(amount)s refunded through Stripe.",
            amount=api.format_money(int(done["amount"]), payment.currency),
        ),
        "success",
    )
    return redirect(back)
