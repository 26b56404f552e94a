"""What the admin's session tables and counts share: status labels and "never confirmed"."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from core.accounts.models import User
from core.db import utcnow
from core.sessions.models import CoachingSession, PaymentStatus, SessionStatus

STATUS_LABELS = {
    SessionStatus.AVAILABLE.value: _l("Available"),
    SessionStatus.BOOKED.value: _l("Booked"),
    SessionStatus.CONFIRMED.value: _l("Confirmed"),
    SessionStatus.COMPLETED.value: _l("Completed"),
    SessionStatus.CANCELLED.value: _l("Cancelled"),
    SessionStatus.NO_SHOW.value: _l("No-show"),
}
PAYMENT_LABELS = {
    PaymentStatus.PENDING.value: _l("Pending"),
    PaymentStatus.PAID.value: _l("Paid"),
    PaymentStatus.REFUNDED.value: _l("Refunded"),
    PaymentStatus.CANCELLED.value: _l("Cancelled"),
}


def badge_labels() -> dict[str, Any]:
    """Status labels translated once for a whole table, and "now" (for "not confirmed")."""
    return {
        "status": {k: str(v) for k, v in STATUS_LABELS.items()},
        "payment": {k: str(v) for k, v in PAYMENT_LABELS.items()},
        "now": utcnow(),
    }


def awaiting_confirmation(now: datetime) -> Any:
    """SQL condition: booked ahead of ``now`` and the client was never sent a confirmation."""
    return (
        CoachingSession.confirmation_sent_at.is_(None)
        & CoachingSession.status.in_([SessionStatus.BOOKED.value, SessionStatus.CONFIRMED.value])
        & (CoachingSession.starts_at > now)
    )


@cache
def table_rows() -> Select[Any]:
    """What ``session_table()`` shows of each session, as plain rows: its columns and the
    coach's and the client's names (``client_name`` None for an open slot). Rows cost a
    fraction of a session and two users loaded as objects, for a table that only reads.

    Built once per process: a statement holds no data (callers add their conditions to a
    copy), and building this one (aliases, concatenations) cost a millisecond a page."""
    coach, client = aliased(User), aliased(User)
    session = CoachingSession
    return (
        select(
            session.id,
            session.title,
            session.starts_at,
            session.status,
            session.payment_status,
            session.price_amount,
            session.currency,
            session.confirmation_sent_at,
            _full_name(coach).label("coach_name"),
            _full_name(client).label("client_name"),
        )
        .join(coach, coach.id == session.coach_id)
        .outerjoin(client, client.id == session.client_id)
    )


def _full_name(person: Any) -> Any:
    """SQL for ``User.full_name`` (names are stored trimmed)."""
    return func.trim(person.first_name + " " + person.last_name)
