"""Account emails: login details for a new client, and password resets. Passwords are never sent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from core.accounts.models import PasswordResetRequest, User
from core.accounts.service import find_by_email
from core.accounts.tokens import (
    EMAIL_MAX_AGES,
    RESET_MAX_AGE,
    SET_PASSWORD_MAX_AGE,
    make_email_token,
    make_password_token,
)
from core.db import db, get_database, utcnow
from core.emails.models import OutboxEmail
from core.emails.outbox import InvalidAddress, queue_email
from core.emails.render import external_url
from core.emails.types import EMAIL_CHANGE_CONFIRM, EMAIL_CHANGE_NOTICE, PASSWORD_RESET, WELCOME


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


def _change_context(
    user: User, requested_by: User, purpose: str, endpoint: str
) -> dict[str, object]:
    """What both email-change emails say: the addresses, who asked (None: the user), a link."""
    return {
        "new_email": user.pending_email,
        "current_email": user.email,
        "requested_by": None if requested_by.id == user.id else requested_by.sender_name,
        "action_url": external_url(endpoint, token=make_email_token(user, purpose)),
        "valid_hours": EMAIL_MAX_AGES[purpose] // 3600,
        "valid_days": EMAIL_MAX_AGES[purpose] // 86400,
    }


def send_email_confirmation(user: User, requested_by: User) -> OutboxEmail | None:
    """To the pending address: the link that makes it the sign-in email. The caller commits."""
    return queue_email(
        EMAIL_CHANGE_CONFIRM,
        to=user,
        to_address=user.pending_email,
        context=_change_context(user, requested_by, "confirm", "accounts.confirm_email"),
    )


def send_email_change_notice(user: User, requested_by: User) -> OutboxEmail | None:
    """To the current address: a change was asked for, and the link to cancel it."""
    return queue_email(
        EMAIL_CHANGE_NOTICE,
        to=user,
        context=_change_context(user, requested_by, "cancel", "accounts.cancel_email_change"),
    )


log = logging.getLogger(__name__)
#: Reset requests handled per transaction by one worker pass.
RESET_BATCH = 100


def send_requested_resets(now: datetime | None = None) -> int:
    """Answer the "forgot password" forms: a reset email to each active account whose address
    was typed, nothing for the others. Returns how many emails were queued; commits.

    Requests are claimed like outbox rows (``SKIP LOCKED`` on PostgreSQL); one older than
    a reset link's life is dropped: whoever asked has given up.
    """
    cutoff = (now or utcnow()) - timedelta(seconds=RESET_MAX_AGE)
    queued = 0
    while True:
        claim = select(PasswordResetRequest).order_by(PasswordResetRequest.id).limit(RESET_BATCH)
        if get_database().dialect == "postgresql":
            claim = claim.with_for_update(skip_locked=True)
        batch = list(db.scalars(claim))
        if not batch:
            db.commit()
            return queued
        for asked in batch:
            user = find_by_email(asked.email)
            if asked.requested_at >= cutoff and user is not None and user.is_active:
                try:
                    queued += send_password_reset(user) is not None
                except InvalidAddress as exc:
                    log.error("password reset for user %s not queued: %s", user.id, exc)
        db.execute(
            delete(PasswordResetRequest).where(
                PasswordResetRequest.id.in_([asked.id for asked in batch])
            )
        )
        db.commit()
