"""Site options of Settings → Emails, and the small readers every email module shares."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from email.utils import formataddr, parseaddr
from typing import Any

from flask import current_app

from core.settings import define, get_option, set_option
from hooks import EmailType

define("emails.sender_name", "")  # empty: the site name
define("emails.sender_address", "")  # empty: the address of the MAIL_FROM configuration
define("emails.logo_url", "")  # an absolute URL, or the uploaded logo's URL
define("emails.signature", "")
#: Per email type: {"<key>": {"enabled": bool, "subject": str}}; absent: the type's defaults.
define("emails.types", {})
define("emails.max_attempts", 8)
define("emails.reminders_enabled", True)
define("emails.reminder_delay_hours", 24)
define("emails.cron_token", "")  # empty: derived from the secret key until regenerated

MAX_ATTEMPTS_RANGE = (1, 30)
REMINDER_DELAY_RANGE = (1, 168)


def type_settings(key: str) -> dict[str, Any]:
    return dict((get_option("emails.types") or {}).get(key) or {})


def type_enabled(email_type: EmailType) -> bool:
    return bool(type_settings(email_type.key).get("enabled", email_type.default_enabled))


def custom_subject(email_type: EmailType) -> str:
    return str(type_settings(email_type.key).get("subject") or "").strip()


def sender() -> str:
    """``Name <address>`` every email is sent from."""
    default_name, default_address = parseaddr(current_app.config["MAIL_FROM"])
    name = get_option("emails.sender_name") or get_option("general.site_name") or default_name
    address = get_option("emails.sender_address") or default_address
    # One line whatever was stored (settings refuse line breaks; older rows may hold some).
    return formataddr((" ".join(str(name).split())[:100], address))


def cron_token() -> str:
    """The cron URL's secret: a stored random value, else one derived from the secret key."""
    stored = get_option("emails.cron_token")
    if stored:
        return str(stored)
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"coachdesk.cron", hashlib.sha256).hexdigest()[:40]


def regenerate_cron_token() -> str:
    """Replace the cron secret (the old URL stops working); the caller commits."""
    token = secrets.token_urlsafe(30)
    set_option("emails.cron_token", token)
    return token
