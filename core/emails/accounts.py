"""Account emails: login details for a new client, and password resets. Passwords are never sent."""

from __future__ import annotations

from core.accounts.models import User
from core.accounts.tokens import RESET_MAX_AGE, SET_PASSWORD_MAX_AGE, make_password_token
from core.emails.models import OutboxEmail
from core.emails.outbox import queue_email
from core.emails.render import external_url
from core.emails.types import PASSWORD_RESET, WELCOME


def _password_link(user: User, purpose: str) -> str:
    token = make_password_token(user, purpose)
    return external_url("accounts.set_password_from_link", token=token)


def send_login_details(user: User) -> OutboxEmail | None:
    """Welcome email with a link to choose a password (valid a week). The caller commits."""
    return queue_email(
        WELCOME,
        to=user,
        context={
            "set_password_url": _password_link(user, "welcome"),
            "login_url": external_url("accounts.login"),
            "valid_days": SET_PASSWORD_MAX_AGE // 86400,
        },
    )


def send_password_reset(user: User) -> OutboxEmail | None:
    """Email with a link to choose a new password (valid two hours). The caller commits."""
    return queue_email(
        PASSWORD_RESET,
        to=user,
        context={
            "set_password_url": _password_link(user, "reset"),
            "valid_hours": RESET_MAX_AGE // 3600,
        },
    )
