"""Rules about a session's life that every screen shares: cancelling and the cancellation window."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.accounts.models import User
from core.db import utcnow
from core.plugins import call
from core.sessions.models import OPEN_STATUSES, CoachingSession, PaymentStatus, SessionStatus
from core.settings import get_option


class SessionRuleError(ValueError):
    """The change breaks a rule; the message is for the user."""


def cancellation_deadline(session: CoachingSession) -> datetime:
    """Last instant at which the client may cancel on their own (an instant: DST-proof)."""
    hours = int(get_option("general.cancellation_window_hours"))
    return session.starts_at - timedelta(hours=hours)


def client_can_cancel(session: CoachingSession, now: datetime | None = None) -> bool:
    """Open, and now is strictly earlier than start minus the window (0 h: until the start)."""
    now = now or utcnow()
    return session.status in OPEN_STATUSES and now < cancellation_deadline(session)


def cancel_session(session: CoachingSession, actor: User, now: datetime | None = None) -> None:
    """Cancel: record who and when, cancel a pending payment, raise the ``session_cancelled`` event.

    The caller commits; emails raised by the event are in the same transaction.
    """
    if session.status not in OPEN_STATUSES:
        raise SessionRuleError("only a booked or confirmed session can be cancelled")
    session.status = SessionStatus.CANCELLED.value
    session.cancelled_at = now or utcnow()
    session.cancelled_by_id = actor.id
    if session.payment_status == PaymentStatus.PENDING:
        session.payment_status = PaymentStatus.CANCELLED.value
    call("session_cancelled", session=session, actor=actor)
