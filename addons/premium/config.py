"""TEMP stub of Premium's settings module (the settings/license branch replaces it at merge).

Same interface as the real one: ``stripe_keys``, ``is_ready``, ``problems``,
``license_check``, ``checkout_origin`` and the site options below. Secrets are read
as stored here; the real module stores them encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from addons.premium.license import LicenseCheck, check_license
from core import api
from hooks import Capability, hookimpl

MODES = ("test", "live")

api.define_option("premium", "premium.mode", "test")
api.define_option("premium", "premium.license_key", "")
for _mode in MODES:
    for _field in ("publishable_key", "secret_key", "webhook_secret"):
        api.define_option("premium", f"premium.{_mode}.{_field}", "")


@dataclass(frozen=True)
class StripeKeys:
    mode: str
    publishable_key: str
    secret_key: str
    webhook_secret: str


def stripe_keys() -> StripeKeys:
    """The keys of the current mode (test or live)."""
    mode = api.get_option("premium.mode")
    mode = mode if mode in MODES else "test"
    return StripeKeys(
        mode=mode,
        publishable_key=api.get_option(f"premium.{mode}.publishable_key") or "",
        secret_key=api.get_option(f"premium.{mode}.secret_key") or "",
        webhook_secret=api.get_option(f"premium.{mode}.webhook_secret") or "",
    )


def license_check() -> LicenseCheck:
    public_key = current_app.config.get("PREMIUM_LICENSE_PUBLIC_KEY")
    return check_license(
        api.get_option("premium.license_key"),
        site_url=current_app.config["BASE_URL"],
        public_key=public_key.encode() if isinstance(public_key, str) else public_key,
    )


def problems() -> list[str]:
    """What keeps online payments off, for the site owner."""
    found = []
    if not license_check().ok:
        found.append("The Premium license is missing or not valid.")
    keys = stripe_keys()
    if not keys.secret_key:
        found.append("The Stripe secret key is not set.")
    if not keys.webhook_secret:
        found.append("The Stripe webhook signing secret is not set.")
    return found


def is_ready() -> bool:
    """License valid and keys set: the Pay buttons show."""
    return not problems()


def checkout_origin() -> str:
    """Where Checkout pages live (the stand-in's origin in tests)."""
    base = current_app.config.get("PREMIUM_STRIPE_API_BASE")
    if base:
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}"
    return "https://checkout.stripe.com"


@hookimpl
def capabilities() -> list[Capability]:
    """TEMP: the settings branch declares this capability."""
    return [Capability("premium_refunds", "Refund online payments", coach_default=False)]


@hookimpl
def content_security_policy() -> dict[str, list[str]]:
    """TEMP: the settings branch declares this (the Pay form is redirected to Checkout)."""
    return {"form-action": [checkout_origin()]}
