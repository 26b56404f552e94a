"""Changing a sign-in email: the new address must confirm, and the current one is told.

Until the link sent to the new address is opened, sign-in and password resets use
the current address, so whoever types a new address (the user, a coach, an
administrator, another coach of a shared client) cannot take the account over by
pointing it at a mailbox they own. Confirming also asks for the account's password
unless that browser is signed in as the user: a coach who redirects a client's email
to their own mailbox still cannot confirm it. The current address gets a notice with
a link that cancels the change.
"""

from __future__ import annotations

import logging

from flask_babel import gettext as _

from core.accounts.audit import audit
from core.accounts.models import User, new_token
from core.accounts.service import AccountError, find_by_email

log = logging.getLogger(__name__)


def _taken(user: User, address: str) -> bool:
    other = find_by_email(address)
    return other is not None and other.id != user.id


def request_email_change(user: User, new_email: str, *, by: User) -> bool:
    """Ask for ``user``'s sign-in email to become ``new_email``; whether a change now waits.

    The same address in other letter case is saved at once (same mailbox). Otherwise
    the address becomes ``pending_email``, a confirmation goes to it and a notice to
    the current address. Raises :class:`AccountError` (message for the person) when
    another account uses the address or the confirmation cannot be sent. The caller
    commits (or rolls back on the error).
    """
    from core.emails import InvalidAddress
    from core.emails.accounts import send_email_change_notice, send_email_confirmation

    new_email = new_email.strip()
    if new_email.lower() == user.email.lower():
        user.email = new_email
        return False
    if _taken(user, new_email):
        raise AccountError(_("Another account already uses this email address."))
    user.pending_email = new_email
    if send_email_confirmation(user, by) is None:
        raise AccountError(
            _(
                "The email that confirms a new address is switched off (Settings → Emails), "
                "so the email address cannot be changed."
            )
        )
    try:
        send_email_change_notice(user, by)
    except InvalidAddress as exc:  # the current address was mistyped: nobody to tell
        log.warning("email change notice for user %s not queued: %s", user.id, exc)
    audit("email change asked: user %s, by user %s", user.id, by.id)
    return True


def confirm_email_change(user: User) -> bool:
    """Make the pending address the sign-in email; False (nothing changed) when another
    account took it meanwhile. Earlier password links, sent to the old address, stop
    working. The caller commits."""
    new_email = user.pending_email
    if not new_email or _taken(user, new_email):
        return False
    user.email = new_email
    user.pending_email = None
    user.session_token = new_token()
    audit("email changed: user %s", user.id)
    return True


def cancel_email_change(user: User) -> None:
    """Drop the pending address (its links stop working). The caller commits."""
    if user.pending_email:
        audit("email change cancelled: user %s", user.id)
    user.pending_email = None
