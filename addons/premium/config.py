"""Premium's site options and whether it is ready to take payments.

Options (``core.api.define_option``):

* ``premium.mode`` — ``"test"`` or ``"live"``: which set of Stripe keys is used;
* ``premium.license_key`` — the license key as pasted (checked offline, see ``license``);
* per mode, ``premium.<mode>.publishable_key`` (plain), ``premium.<mode>.secret_key`` and
  ``premium.<mode>.webhook_secret`` (stored encrypted: Fernet, with a key derived by
  HKDF-SHA256 from the app's ``SECRET_KEY``). Read them with :func:`stripe_keys`, write
  them with :func:`set_secret`; never log them or show them back (:func:`mask`).

Test configuration: ``PREMIUM_LICENSE_PUBLIC_KEY`` (PEM bytes) replaces the shipped vendor
key, ``PREMIUM_STRIPE_API_BASE`` sends every Stripe call (and the hosted payment page) to
a local stand-in.
"""

from __future__ import annotations

import base64
import functools
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import format_date

from addons.premium.i18n import _
from addons.premium.license import (
    LicenseCheck,
    LicenseProblem,
    check_license,
    normalise_site_url,
)
from core import api

log = logging.getLogger(__name__)

ADDON = "premium"
MODES = ("test", "live")
#: The options of each mode that are stored encrypted.
SECRET_NAMES = ("secret_key", "webhook_secret")
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
#: Where the add-on's blueprint (``premium``, prefix ``/premium``) receives Stripe's events.
WEBHOOK_PATH = "/premium/stripe/webhook"
#: The events to subscribe the webhook endpoint to in Stripe's dashboard.
WEBHOOK_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
)
_HKDF_INFO = b"coachdesk-premium-secrets"

MODE = "premium.mode"
LICENSE_KEY = "premium.license_key"

api.define_option(ADDON, MODE, "test")
api.define_option(ADDON, LICENSE_KEY, "")
for _mode in MODES:
    for _name in ("publishable_key", "secret_key", "webhook_secret"):
        api.define_option(ADDON, f"premium.{_mode}.{_name}", "")


def option_key(mode: str, name: str) -> str:
    """``premium.<mode>.<name>`` for ``name`` in publishable_key, secret_key, webhook_secret."""
    if mode not in MODES:
        raise ValueError(f"unknown Stripe mode {mode!r}")
    return f"premium.{mode}.{name}"


def current_mode() -> str:
    mode = api.get_option(MODE)
    return mode if mode in MODES else "test"


def mode_label(mode: str) -> str:
    return _("live") if mode == "live" else _("test")


# -- secrets at rest ------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _fernet_for(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet() -> Fernet:
    return _fernet_for(str(current_app.config["SECRET_KEY"]))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str | None:
    """The secret, or None when it cannot be read (``SECRET_KEY`` changed, or garbage)."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError):
        return None


def set_secret(key: str, value: str) -> None:
    """Stage an encrypted secret option (``""`` clears it); the caller commits."""
    api.set_option(key, encrypt(value) if value else "")


def get_secret(key: str) -> str:
    """A decrypted secret option; ``""`` when unset or unreadable (logged without the value)."""
    stored = api.get_option(key)
    if not stored:
        return ""
    value = decrypt(str(stored))
    if value is None:
        log.warning("premium: the stored %s cannot be decrypted (SECRET_KEY changed?)", key)
        return ""
    return value


def secret_unreadable(key: str) -> bool:
    stored = api.get_option(key)
    return bool(stored) and decrypt(str(stored)) is None


def mask(secret: str) -> str:
    """How a stored secret is shown: its last four characters only."""
    return f"•••• {secret[-4:]}" if secret else ""


# -- keys -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StripeKeys:
    mode: str
    publishable_key: str
    secret_key: str
    webhook_secret: str

    def __repr__(self) -> str:  # never print secrets in a traceback or a log
        return (
            f"StripeKeys(mode={self.mode!r}, publishable_key={self.publishable_key!r}, "
            f"secret_key={mask(self.secret_key)!r}, webhook_secret={mask(self.webhook_secret)!r})"
        )


def stripe_keys(mode: str | None = None) -> StripeKeys:
    """The decrypted keys of ``mode`` (default: the current mode); ``""`` for unset ones."""
    mode = mode or current_mode()
    return StripeKeys(
        mode=mode,
        publishable_key=str(api.get_option(option_key(mode, "publishable_key")) or ""),
        secret_key=get_secret(option_key(mode, "secret_key")),
        webhook_secret=get_secret(option_key(mode, "webhook_secret")),
    )


# -- license and readiness ------------------------------------------------------------------


def check_key(key: str | None) -> LicenseCheck:
    """Whether ``key`` unlocks Premium on this site (offline; never raises for any key)."""
    return check_license(
        key,
        site_url=current_app.config["BASE_URL"],
        public_key=current_app.config.get("PREMIUM_LICENSE_PUBLIC_KEY"),
    )


def license_check() -> LicenseCheck:
    """The stored license key, checked."""
    return check_key(api.get_option(LICENSE_KEY))


def site_origin() -> str:
    """This site as a license names it (scheme://host[:port])."""
    try:
        return normalise_site_url(current_app.config["BASE_URL"])
    except ValueError:
        return str(current_app.config["BASE_URL"])


def license_message(check: LicenseCheck) -> str:
    """One sentence saying what is wrong with the license (or that it is fine)."""
    problem, found = check.problem, check.license
    if problem is None and found is not None:
        return _(
            "License active for %(licensee)s until %(date)s.",
            licensee=found.licensee,
            date=format_date(found.expires, "long"),
        )
    if problem == LicenseProblem.EXPIRED and found is not None:
        return _(
            "The license expired on %(date)s: renew it to take payments again.",
            date=format_date(found.expires, "long"),
        )
    if problem == LicenseProblem.WRONG_SITE and found is not None:
        return _(
            "This license was issued for %(licensed)s, but this site is %(site)s.",
            licensed=found.site,
            site=site_origin(),
        )
    if problem == LicenseProblem.TAMPERED:
        return _(
            "This license key has been altered and its signature does not match: "
            "paste it again exactly as you received it."
        )
    if problem == LicenseProblem.MALFORMED:
        return _(
            "This is not a Premium license key: copy the whole key, which starts with CDPREM1."
        )
    return _("No license key: enter your Premium license key to take payments.")


def _secret_problem(mode: str, name: str) -> str | None:
    """Why the secret ``name`` of ``mode`` cannot be used, or None when it can."""
    key = option_key(mode, name)
    if get_secret(key):
        return None
    texts = {
        ("secret_key", False): _("The Stripe secret key for %(mode)s mode is missing."),
        ("secret_key", True): _(
            "The Stripe secret key for %(mode)s mode can no longer be read (the site's "
            "SECRET_KEY changed): enter it again."
        ),
        ("webhook_secret", False): _("The webhook signing secret for %(mode)s mode is missing."),
        ("webhook_secret", True): _(
            "The webhook signing secret for %(mode)s mode can no longer be read (the site's "
            "SECRET_KEY changed): enter it again."
        ),
    }
    return texts[name, secret_unreadable(key)] % {"mode": mode_label(mode)}


def problems() -> list[str]:
    """Why Premium cannot take payments yet, most important first (empty: ready)."""
    found: list[str] = []
    check = license_check()
    if not check.ok:
        found.append(license_message(check))
    mode = current_mode()
    found.extend(p for name in SECRET_NAMES if (p := _secret_problem(mode, name)))
    return found


def is_ready() -> bool:
    """License valid, and a secret key and a webhook secret for the current mode."""
    if not license_check().ok:
        return False
    keys = stripe_keys()
    return bool(keys.secret_key and keys.webhook_secret)


def webhook_url() -> str:
    """The URL to paste into Stripe's dashboard as the webhook endpoint."""
    return str(current_app.config["BASE_URL"]).rstrip("/") + WEBHOOK_PATH


def checkout_origin() -> str:
    """The origin of Stripe's hosted payment page (the stand-in's, when tests set one)."""
    base = current_app.config.get("PREMIUM_STRIPE_API_BASE")
    if not base:
        return STRIPE_CHECKOUT_ORIGIN
    parts = urlsplit(str(base))
    return f"{parts.scheme}://{parts.netloc}"
