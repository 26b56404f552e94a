"""TEMP stub of Premium's Stripe client module (the settings/license branch replaces it).

Real calls through the official library's ``StripeClient``; in tests
``app.config["PREMIUM_STRIPE_API_BASE"]`` points it at the local stand-in.
"""

from __future__ import annotations

from typing import Any

import stripe
from flask import current_app

from addons.premium import config

stripe.enable_telemetry = False


class StripeProblem(Exception):
    """A Stripe call failed; ``message`` is for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidWebhook(StripeProblem):
    """A webhook whose signature is missing, wrong or stale."""


def _client() -> stripe.StripeClient:
    keys = config.stripe_keys()
    if not keys.secret_key:
        raise StripeProblem("The Stripe secret key is not set.")
    base = current_app.config.get("PREMIUM_STRIPE_API_BASE")
    options: dict[str, Any] = {"max_network_retries": 2}
    if base:
        options["base_addresses"] = {"api": base}
        options["max_network_retries"] = 0
    return stripe.StripeClient(keys.secret_key, **options)


def _call(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return fn(*args, **kwargs).to_dict()
    except stripe.StripeError as exc:
        message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
        raise StripeProblem(message) from exc


def check_connection() -> dict[str, Any]:
    return _call(_client().v1.accounts.retrieve_current)


def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    return _call(
        _client().v1.checkout.sessions.create,
        params=params,
        options={"idempotency_key": idempotency_key},
    )


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    return _call(
        _client().v1.checkout.sessions.retrieve,
        session_id,
        params={"expand": ["payment_intent"]},
    )


def expire_checkout_session(session_id: str) -> dict[str, Any]:
    return _call(_client().v1.checkout.sessions.expire, session_id)


def create_refund(
    *, payment_intent: str, amount: int, idempotency_key: str, metadata: dict[str, str]
) -> dict[str, Any]:
    return _call(
        _client().v1.refunds.create,
        params={"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
        options={"idempotency_key": idempotency_key},
    )


def construct_event(payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """The verified event as a dict; :class:`InvalidWebhook` if the signature does not hold."""
    secret = config.stripe_keys().webhook_secret
    if not secret or not signature_header:
        raise InvalidWebhook("Missing signature or webhook secret.")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidWebhook(str(exc)) from exc
    return event.to_dict()
