"""The core's email types, and the lookup of every type (core and active add-ons)."""

from __future__ import annotations

from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _

from core.plugins import collect
from hooks import EmailType

NEW_BOOKING = "new_booking"
BOOKING_CONFIRMATION = "booking_confirmation"
SESSION_UPDATE = "session_update"
NEW_DOCUMENTS = "new_documents"
CANCELLATION = "cancellation"
CANCELLATION_COACH = "cancellation_coach"
REMINDER = "reminder"
WELCOME = "welcome"
PASSWORD_RESET = "password_reset"  # noqa: S105 (an email type, not a password)
EMAIL_CHANGE_CONFIRM = "email_change_confirm"
EMAIL_CHANGE_NOTICE = "email_change_notice"


class UnknownEmailType(KeyError):
    """No core area nor active add-on declares this email type."""


def core_email_types() -> list[EmailType]:
    """Built when called, so that labels and subjects come in the current language."""
    return [
        EmailType(
            NEW_BOOKING,
            _("New booking"),
            "coach",
            _("New booking: {client_name}, {session_date}"),
            _("Tells the coach that a session was booked for them by someone else."),
        ),
        EmailType(
            BOOKING_CONFIRMATION,
            _("Booking confirmation"),
            "client",
            _("Your session on {session_date} is booked"),
            _("Sent by “Save and notify” or “Send confirmation” the first time."),
        ),
        EmailType(
            SESSION_UPDATE,
            _("Session update"),
            "client",
            _("Your session has changed: {session_date}"),
            _("Sent by “Save and notify” when the date, time, place or link changed."),
        ),
        EmailType(
            NEW_DOCUMENTS,
            _("New documents"),
            "client",
            _("New documents for your session on {session_date}"),
            _("Sent by “Save and notify” when only documents were added."),
        ),
        EmailType(
            CANCELLATION,
            _("Cancellation (client)"),
            "client",
            _("Your session on {session_date} is cancelled"),
            _("Sent automatically to the client when a session is cancelled."),
        ),
        EmailType(
            CANCELLATION_COACH,
            _("Cancellation (coach)"),
            "coach",
            _("Cancelled: {client_name}, {session_date}"),
            _("Sent to the coach when the client or an administrator cancels a session."),
        ),
        EmailType(
            REMINDER,
            _("Pre-session reminder"),
            "client",
            _("Reminder: your session on {session_date} at {session_time}"),
            _("Sent automatically before each session (see Reminders below)."),
        ),
        EmailType(
            WELCOME,
            _("Welcome / login details"),
            "user",
            _("Your {site_name} account"),
            _("A link to choose a password; the password itself is never sent."),
        ),
        EmailType(
            PASSWORD_RESET,
            _("Password reset"),
            "user",
            _("Reset your {site_name} password"),
            _("A link, valid for two hours, to choose a new password."),
        ),
        EmailType(
            EMAIL_CHANGE_CONFIRM,
            _("New email address: confirmation"),
            "user",
            _("Confirm your new email address for {site_name}"),
            _(
                "Sent to the new address when a sign-in email is changed; the change waits for "
                "it. Switched off, nobody can change a sign-in email."
            ),
        ),
        EmailType(
            EMAIL_CHANGE_NOTICE,
            _("New email address: notice to the old one"),
            "user",
            _("Your {site_name} sign-in email is being changed"),
            _("Sent to the current address at the same time, with a link to cancel the change."),
        ),
    ]


def all_email_types() -> dict[str, EmailType]:
    """Every email type of the core and the active add-ons, by key (first declaration wins).

    Cached per language for the app context (a request, or one worker pass).
    """
    cache: dict[str, dict[str, EmailType]] = g.setdefault("_email_types", {})
    language = str(get_locale() or "")
    if language not in cache:
        found: dict[str, EmailType] = {}
        for email_type in collect("email_types"):
            found.setdefault(email_type.key, email_type)
        cache[language] = found
    return cache[language]


def get_email_type(key: str) -> EmailType:
    try:
        return all_email_types()[key]
    except KeyError:
        raise UnknownEmailType(f"no email type {key!r} is registered") from None
