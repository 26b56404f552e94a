"""Email logs: a session's emails, and a client's timeline (account and session emails merged)."""

from __future__ import annotations

from sqlalchemy import or_, select

from core.db import db
from core.emails.models import OutboxEmail
from core.sessions.models import CoachingSession


def session_email_log(session_id: int) -> list[OutboxEmail]:
    """Every email about one session, to anyone, newest first."""
    return list(
        db.scalars(
            select(OutboxEmail)
            .where(OutboxEmail.session_id == session_id)
            .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
        )
    )


def client_timeline(client_id: int) -> list[OutboxEmail]:
    """Emails to the client plus every email about the client's sessions, newest first."""
    their_sessions = select(CoachingSession.id).where(CoachingSession.client_id == client_id)
    return list(
        db.scalars(
            select(OutboxEmail)
            .where(
                or_(OutboxEmail.user_id == client_id, OutboxEmail.session_id.in_(their_sessions))
            )
            .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
        )
    )
