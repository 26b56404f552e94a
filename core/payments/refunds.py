"""Refunding a payment from the client's Finances tab: ``POST /payments/<id>/refund``.

One form for every payment: taken by hand, the refund is recorded; taken online, the
payment's provider gives the money back first (``PaymentProvider.refund``). Who may:
staff who reach the session and have the ``refund_payments`` capability.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts.access import staff_required
from core.accounts.permissions import capability_required
from core.db import db
from core.i18n import money, parse_amount
from core.payments.models import Payment
from core.payments.service import PaymentError, refund_payment, refundable_amount
from core.payments.views import bp
from core.sessions.access import get_session_or_404


def _back(fallback: str) -> str:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


@bp.route("/payments/<int:payment_id>/refund", methods=["POST"])
@staff_required
@capability_required("view_sessions", "refund_payments")
def refund(payment_id: int) -> ResponseReturnValue:
    payment = db.get(Payment, payment_id)
    if payment is None:
        abort(404)
    session = get_session_or_404(current_user, payment.session_id)
    back = _back(url_for("coach.edit_session", session_id=session.id))
    left = refundable_amount(payment)
    amount = parse_amount(request.form.get("amount"), payment.currency)
    if amount is None:
        flash(
            _(
                "Enter the amount to refund, for example %(amount)s.",
                amount=money(left, payment.currency),
            ),
            "error",
        )
    elif request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the refund: money goes back to the client."), "error")
    else:
        try:
            refund_payment(payment, amount, current_user)
            db.commit()
        except PaymentError as exc:
            db.rollback()
            flash(str(exc), "error")
        else:
            flash(_("%(amount)s refunded.", amount=money(amount, payment.currency)), "success")
    return redirect(back)
