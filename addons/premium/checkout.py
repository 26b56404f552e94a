"""Paying sessions online: the Stripe provider, Pay / Pay all, and the return page.

A Pay click opens (or reuses) a Stripe Checkout Session for exactly the sessions
being paid and redirects there. Money is recorded by :func:`fulfil`, called by the
return page and by the webhook alike: it is keyed by the PaymentIntent id, so
whichever comes first records the payment and the other does nothing more.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from flask import abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from addons.premium import config, stripe_api
from addons.premium.blueprint import bp
from addons.premium.emails import queue_payment_emails
from addons.premium.i18n import _, render_template
from addons.premium.models import CheckoutStatus, PremiumCheckout
from core import api
from hooks import PaymentProvider, hookimpl

log = logging.getLogger(__name__)

PROVIDER = "stripe"
#: Stripe's page languages that Coachdesk also speaks.
STRIPE_LOCALES = {"en", "fr"}


class FulfilError(RuntimeError):
    """A paid Checkout Session that cannot be recorded (yet); the webhook answers 500."""


# --------------------------------------------------------------------------
# The provider and its buttons
# --------------------------------------------------------------------------


def can_pay_online(session: api.CoachingSession, client: api.User) -> bool:
    """An unpaid, priced, not cancelled session of this client."""
    return (
        session.client_id == client.id
        and session.payment_status == api.PaymentStatus.PENDING
        and bool(session.price_amount)
        and session.status not in (api.SessionStatus.CANCELLED, api.SessionStatus.AVAILABLE)
    )


class StripeProvider(PaymentProvider):
    key = PROVIDER
    #: Receipts print "<method> (<label>)": "Card (Stripe)".
    label = "Stripe"

    def is_ready(self) -> bool:
        return config.is_ready()

    def refund(self, payment_id: int, amount: int, actor_id: int | None) -> None:
        """A refund asked from the client's Finances tab (the core checked who and how much)."""
        from addons.premium.refunds import refund_through_stripe

        payment = api.db.get(api.Payment, payment_id)
        if payment is None:
            raise api.PaymentError(_("This payment no longer exists."))
        refund_through_stripe(payment, amount, actor_id)

    def payment_button(self, session: api.CoachingSession, client: api.User) -> Markup | None:
        if not can_pay_online(session, client):
            return None
        return Markup(  # noqa: S704 (our own template, autoescaped)
            render_template(
                "premium/pay_button.html",
                action=url_for("premium.pay", session_id=session.id),
                label=_(
                    "Pay %(amount)s",
                    amount=api.format_money(session.price_amount, session.currency),
                ),
                title=session.title,
            )
        )


@hookimpl
def payment_providers() -> list[type[PaymentProvider]]:
    return [StripeProvider]


def due_by_currency(client: api.User) -> dict[str, list[api.CoachingSession]]:
    """Everything the client can pay online now, per currency, oldest first."""
    S = api.CoachingSession
    sessions = db_scalars(
        select(S)
        .where(
            S.client_id == client.id,
            S.price_amount > 0,
            S.payment_status == api.PaymentStatus.PENDING.value,
            S.status.not_in((api.SessionStatus.CANCELLED.value, api.SessionStatus.AVAILABLE.value)),
        )
        .order_by(S.starts_at, S.id)
    )
    due: dict[str, list[api.CoachingSession]] = {}
    for session in sessions:
        due.setdefault(session.currency, []).append(session)
    return due


def db_scalars(query: Any) -> list[Any]:
    return list(api.db.scalars(query))


@hookimpl
def client_payment_actions(client: api.User) -> list[Markup]:
    """ "Pay all" in the Total due card of the Payments tab: one per currency with 2+ sessions."""
    if not config.is_ready():
        return []
    forms = []
    for currency, sessions in due_by_currency(client).items():
        if len(sessions) < 2:
            continue
        total = sum(s.price_amount or 0 for s in sessions)
        forms.append(
            Markup(  # noqa: S704 (our own template, autoescaped)
                render_template(
                    "premium/pay_all_button.html",
                    action=url_for("premium.pay_all", currency=currency),
                    label=_("Pay all: %(amount)s", amount=api.format_money(total, currency)),
                    count=len(sessions),
                )
            )
        )
    return forms


def bundle_due(bundle: api.Bundle, client: api.User) -> list[api.CoachingSession]:
    """The bundle's sessions this client can pay online now."""
    if bundle.client_id != client.id:
        return []
    return [s for s in api.bundle_unpaid_sessions(bundle) if can_pay_online(s, client)]


@hookimpl
def bundle_payment_buttons(bundle: api.Bundle, client: api.User) -> list[Markup]:
    """One Pay button for everything left to pay on a bundle: one Stripe payment."""
    if not config.is_ready():
        return []
    sessions = bundle_due(bundle, client)
    if not sessions:
        return []
    total = sum(s.price_amount or 0 for s in sessions)
    return [
        Markup(  # noqa: S704 (our own template, autoescaped)
            render_template(
                "premium/pay_button.html",
                action=url_for("premium.pay_bundle", bundle_id=bundle.id),
                label=_(
                    "Pay the program: %(amount)s",
                    amount=api.format_money(total, sessions[0].currency),
                ),
                title=bundle.title,
            )
        )
    ]


# --------------------------------------------------------------------------
# Pay
# --------------------------------------------------------------------------


def payments_tab_url() -> str:
    return url_for("clientarea.tab", key="payments")


def _origin() -> str:
    base = urlsplit(current_app.config["BASE_URL"])
    return f"{base.scheme}://{base.netloc}"


def basket_of(client: api.User, sessions: Sequence[api.CoachingSession], currency: str) -> str:
    """What is being paid, as a digest: the same sessions at the same prices give the same."""
    lines = ",".join(f"{s.id}:{s.price_amount}" for s in sorted(sessions, key=lambda s: s.id))
    return hashlib.sha256(f"{client.id}|{lines}|{currency}".encode()).hexdigest()


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _line_item(session: api.CoachingSession) -> dict[str, Any]:
    day = format_date(
        api.local_datetime(session.starts_at).date(), "medium", locale=str(get_locale() or "en")
    )
    return {
        "quantity": 1,
        "price_data": {
            "currency": session.currency.lower(),
            "unit_amount": session.price_amount,
            "product_data": {"name": f"{session.title} – {day}"[:250]},
        },
    }


def checkout_params(
    client: api.User, sessions: Sequence[api.CoachingSession], metadata: dict[str, str]
) -> dict[str, Any]:
    origin = _origin()
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [_line_item(s) for s in sessions],
        "customer_email": client.email,
        "client_reference_id": str(client.id),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": origin
        + url_for("premium.checkout_return")
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": origin + payments_tab_url(),
    }
    locale = str(get_locale() or "")
    if locale in STRIPE_LOCALES:
        params["locale"] = locale
    return params


def reusable_checkout(basket: str) -> PremiumCheckout | None:
    """The open checkout for this basket if Stripe still takes payments on it."""
    row = api.db.scalar(
        select(PremiumCheckout)
        .where(PremiumCheckout.basket == basket, PremiumCheckout.status == CheckoutStatus.OPEN)
        .order_by(PremiumCheckout.attempt.desc())
        .limit(1)
    )
    if row is None:
        return None
    if row.expires_at is not None and row.expires_at <= api.utcnow():
        row.status = CheckoutStatus.EXPIRED.value  # Stripe expired it by now
        return None
    return row


def open_checkout(client: api.User, sessions: list[api.CoachingSession]) -> ResponseReturnValue:
    """Redirect to a Checkout page for exactly ``sessions`` (reused if one is open)."""
    back = payments_tab_url()
    if not config.is_ready():
        flash(_("Online payment is not available at the moment."), "error")
        return redirect(back)
    try:
        amount, currency = api.ensure_payable(sessions)
    except api.PaymentError as exc:
        flash(str(exc), "error")
        return redirect(back)
    sessions = sorted(sessions, key=lambda s: s.id)
    basket = basket_of(client, sessions, currency)
    existing = reusable_checkout(basket)
    if existing is not None and existing.url:
        api.db.commit()
        return redirect(existing.url, 303)
    if _processing(sessions):
        flash(_("A payment for these sessions is already being processed by your bank."), "error")
        return redirect(back)
    last = api.db.scalar(
        select(func.max(PremiumCheckout.attempt)).where(PremiumCheckout.basket == basket)
    )
    # A new attempt only once the previous checkout of this basket is over (expired, failed).
    attempt = 0 if last is None else last + 1
    metadata = {
        "coachdesk_session_ids": ",".join(str(s.id) for s in sessions),
        "coachdesk_client_id": str(client.id),
    }
    key = "coachdesk-checkout-" + hashlib.sha256(f"{basket}|{attempt}".encode()).hexdigest()
    try:
        created = stripe_api.create_checkout_session(
            checkout_params(client, sessions, metadata), idempotency_key=key
        )
    except stripe_api.StripeProblem as exc:
        api.db.rollback()
        flash(
            _("Stripe could not open the payment page: %(message)s", message=exc.message), "error"
        )
        return redirect(back)
    row = PremiumCheckout(
        stripe_session_id=created["id"],
        session_ids=[s.id for s in sessions],
        client_id=client.id,
        amount=amount,
        currency=currency,
        status=CheckoutStatus.OPEN.value,
        url=created.get("url"),
        basket=basket,
        attempt=attempt,
        expires_at=_timestamp(created.get("expires_at")),
    )
    try:
        with api.db.begin_nested():
            api.db.add(row)
        api.db.commit()
    except IntegrityError:
        # A twin request (double click) stored the same Checkout Session first.
        api.db.rollback()
    return redirect(created["url"], 303)


def _processing(sessions: Sequence[api.CoachingSession]) -> bool:
    """A delayed payment (bank debit) for one of these sessions has not settled yet."""
    ids = {s.id for s in sessions}
    rows = api.db.scalars(
        select(PremiumCheckout).where(
            PremiumCheckout.client_id == sessions[0].client_id,
            PremiumCheckout.status == CheckoutStatus.PROCESSING,
        )
    )
    return any(ids & set(row.session_ids) for row in rows)


@bp.route("/pay/<int:session_id>", methods=["POST"])
@api.client_required
def pay(session_id: int) -> ResponseReturnValue:
    session = api.get_session_or_404(current_user, session_id)
    if session.client_id != current_user.id:
        abort(404)
    return open_checkout(current_user, [session])


@bp.route("/pay-bundle/<int:bundle_id>", methods=["POST"])
@api.client_required
def pay_bundle(bundle_id: int) -> ResponseReturnValue:
    """Pay what is left of a bundle in one checkout (its sessions then show as paid)."""
    bundle = api.get_bundle_or_404(current_user, bundle_id)
    return open_checkout(current_user, bundle_due(bundle, current_user))


@bp.route("/pay-all", methods=["POST"])
@api.client_required
def pay_all() -> ResponseReturnValue:
    currency = (request.args.get("currency") or request.form.get("currency") or "").upper()
    sessions = due_by_currency(current_user).get(currency, [])
    return open_checkout(current_user, sessions)


# --------------------------------------------------------------------------
# Recording a paid checkout (return page and webhook)
# --------------------------------------------------------------------------


def _intent_id(checkout: dict[str, Any]) -> str | None:
    intent = checkout.get("payment_intent")
    if isinstance(intent, dict):
        return intent.get("id")
    return intent


def checkout_row(stripe_session_id: str) -> PremiumCheckout | None:
    return api.db.scalar(
        select(PremiumCheckout).where(PremiumCheckout.stripe_session_id == stripe_session_id)
    )


def _session_ids(checkout: dict[str, Any], row: PremiumCheckout | None) -> list[int]:
    if row is not None:
        return list(row.session_ids)
    raw = (checkout.get("metadata") or {}).get("coachdesk_session_ids") or ""
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        return []


def is_ours(checkout: dict[str, Any]) -> bool:
    """A Checkout Session Coachdesk opened (Stripe accounts may serve other shops too)."""
    return checkout_row(checkout["id"]) is not None or bool(
        (checkout.get("metadata") or {}).get("coachdesk_session_ids")
    )


def fulfil(checkout: dict[str, Any]) -> list[api.Payment]:
    """Record a paid Checkout Session once: payments, checkout row, the two emails.

    Idempotent by the PaymentIntent id (the core's ``record_online_payment``) and by the
    emails' dedupe keys. The caller commits. Raises :class:`FulfilError` when it cannot.
    """
    intent = _intent_id(checkout)
    if not intent:
        raise FulfilError(f"checkout {checkout['id']} has no PaymentIntent")
    row = checkout_row(checkout["id"])
    ids = _session_ids(checkout, row)
    S = api.CoachingSession
    sessions = db_scalars(select(S).where(S.id.in_(ids)).order_by(S.id)) if ids else []
    if not sessions or len(sessions) != len(ids):
        raise FulfilError(f"checkout {checkout['id']}: sessions {ids} are not all there")
    try:
        payments = api.record_online_payment(
            sessions,
            provider=PROVIDER,
            reference=intent,
            amount=int(checkout["amount_total"]),
            currency=str(checkout["currency"]).upper(),
        )
    except api.PaymentError as exc:
        raise FulfilError(f"checkout {checkout['id']}: {exc}") from exc
    if row is not None:
        row.status = CheckoutStatus.COMPLETE.value
        row.payment_intent = intent
    queue_payment_emails(sessions, payments, intent)
    return payments


def mark(checkout: dict[str, Any], status: CheckoutStatus) -> None:
    """Follow a checkout's state without recording money (processing, failed, expired)."""
    row = checkout_row(checkout["id"])
    if row is None or row.status == CheckoutStatus.COMPLETE:
        return
    row.status = status.value
    if _intent_id(checkout):
        row.payment_intent = _intent_id(checkout)


@bp.route("/return")
@api.client_required
def checkout_return() -> ResponseReturnValue:
    """Where Stripe sends the client back: ask Stripe, never the query string, what happened."""
    row = checkout_row(request.args.get("session_id", ""))
    if row is None or row.client_id != current_user.id:
        abort(404)
    state = "error"
    try:
        checkout = stripe_api.retrieve_checkout_session(row.stripe_session_id)
    except stripe_api.StripeProblem as exc:
        log.warning("return page: cannot read checkout %s: %s", row.stripe_session_id, exc.message)
        checkout = None
    if checkout is not None:
        if checkout.get("payment_status") in ("paid", "no_payment_required"):
            try:
                fulfil(checkout)
                api.db.commit()
                state = "paid"
            except FulfilError:
                api.db.rollback()
                log.exception("return page: paid checkout %s not recorded", row.stripe_session_id)
                state = "error"
        elif checkout.get("status") == "complete":
            mark(checkout, CheckoutStatus.PROCESSING)
            api.db.commit()
            state = "processing"
        elif checkout.get("status") == "expired":
            mark(checkout, CheckoutStatus.EXPIRED)
            api.db.commit()
            state = "expired"
        else:
            state = "open"
    S = api.CoachingSession
    sessions = db_scalars(select(S).where(S.id.in_(row.session_ids)).order_by(S.starts_at))
    return render_template(
        "premium/return.html",
        state=state,
        row=row,
        sessions=sessions,
        total=api.format_money(row.amount, row.currency),
        title=_("Payment received") if state == "paid" else _("Your payment"),
    )
