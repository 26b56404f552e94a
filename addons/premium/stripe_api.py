"""Every call Premium makes to Stripe, through the official library's ``StripeClient``.

Functions take and return plain dicts (a ``StripeObject`` is not a dict: ``.to_dict()``).
A failure of Stripe (refused key, invalid parameter, network) raises :class:`StripeProblem`
carrying Stripe's own message; a webhook that does not verify raises
:class:`InvalidWebhook`. Keys come from the current mode (``config.stripe_keys``).

``PREMIUM_STRIPE_API_BASE`` (tests) sends the calls to a local stand-in, without retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from flask import current_app

from addons.premium.config import StripeKeys, mode_label, stripe_keys
from addons.premium.i18n import _

# The library would otherwise write ~/.config/stripe/telemetry_id and report timings.
stripe.enable_telemetry = False

PRODUCTION_RETRIES = 2


class StripeProblem(Exception):
    """A Stripe call failed; ``message`` is Stripe's own explanation, fit to show an admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidWebhook(Exception):
    """A webhook request whose signature is missing, wrong or stale, or whose body is not JSON."""


def client(keys: StripeKeys | None = None) -> stripe.StripeClient:
    """A client for the current mode's secret key; StripeProblem when there is none."""
    keys = keys or stripe_keys()
    if not keys.secret_key:
        raise StripeProblem(
            _("No Stripe secret key is set for %(mode)s mode.", mode=mode_label(keys.mode))
        )
    base = current_app.config.get("PREMIUM_STRIPE_API_BASE")
    if base:
        return stripe.StripeClient(
            keys.secret_key, base_addresses={"api": str(base)}, max_network_retries=0
        )
    return stripe.StripeClient(keys.secret_key, max_network_retries=PRODUCTION_RETRIES)


@contextmanager
def _stripe_errors() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        raise StripeProblem(exc.user_message or str(exc)) from exc


def check_connection() -> str:
    """Ask Stripe for the account's balance with the current key; say so when it works."""
    keys = stripe_keys()
    with _stripe_errors():
        client(keys).v1.balance.retrieve()
    return _("Connected to Stripe in %(mode)s mode.", mode=mode_label(keys.mode))


def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    with _stripe_errors():
        session = client().v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},
        )
    return session.to_dict()


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    """The session with its PaymentIntent expanded (None until the client has paid)."""
    with _stripe_errors():
        session = client().v1.checkout.sessions.retrieve(
            session_id, params={"expand": ["payment_intent"]}
        )
    return session.to_dict()


def expire_checkout_session(session_id: str) -> dict[str, Any]:
    with _stripe_errors():
        session = client().v1.checkout.sessions.expire(session_id)
    return session.to_dict()


def create_refund(
    *, payment_intent: str, amount: int, idempotency_key: str, metadata: dict[str, str]
) -> dict[str, Any]:
    with _stripe_errors():
        refund = client().v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    return refund.to_dict()


def construct_event(payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """The verified event of a webhook request, as a plain dict.

    ``payload`` must be the raw request body. Raises InvalidWebhook when no webhook secret
    is set for the current mode, or the signature is missing, wrong or older than Stripe's
    tolerance (300 s), or the body is not JSON.
    """
    secret = stripe_keys().webhook_secret
    if not secret:
        raise InvalidWebhook("no webhook signing secret is set for the current mode")
    if not signature_header:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"signature does not verify: {exc.user_message}") from None
    except (ValueError, AttributeError, TypeError) as exc:  # not UTF-8, JSON, or an object
        raise InvalidWebhook(f"body is not a JSON event: {exc}") from None
    return event.to_dict()
