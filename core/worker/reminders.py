"""Pre-session reminders: exactly one per session and schedule revision.

A session is due when it is open, has a client, starts within the configured delay
and its ``reminded_revision`` is not its current ``schedule_revision`` (moving a
session bumps the revision, so a moved session is reminded again). The reminder row
and ``reminded_revision`` are written in one transaction, on rows claimed with
``FOR UPDATE SKIP LOCKED`` (PostgreSQL) or under SQLite's single-writer lock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from core.accounts.models import User
from core.db import db, get_database, utcnow
from core.emails import InvalidAddress, queue_email
from core.emails.models import OutboxEmail
from core.emails.types import REMINDER
from core.sessions.models import OPEN_STATUSES, CoachingSession
from core.settings import get_option

log = logging.getLogger(__name__)

BATCH_SIZE = 200


def reminder_delay() -> timedelta:
    return timedelta(hours=int(get_option("emails.reminder_delay_hours")))


def _mark_reminded(session: CoachingSession) -> None:
    """A plain UPDATE: reminding is not an edit, so the optimistic-lock version stays."""
    table = CoachingSession.__table__
    db.execute(
        update(table)
        .where(table.c.id == session.id)
        .values(reminded_revision=session.schedule_revision)
    )


def queue_reminder(session: CoachingSession) -> OutboxEmail | None:
    """Queue the reminder of the session's current revision and mark that revision reminded.

    A client whose address cannot receive mail is logged and skipped (marked too),
    so that one bad address never blocks the sweep.
    """
    client = db.get(User, session.client_id) if session.client_id else None
    row = None
    if client is not None:
        try:
            row = queue_email(
                REMINDER,
                to=client,
                context={},
                session=session,
                dedupe_key=f"{REMINDER}:{session.id}:{session.schedule_revision}",
            )
        except InvalidAddress as exc:
            log.error("reminder of session %s not queued: %s", session.id, exc)
    _mark_reminded(session)
    return row


def _claim_due(now: datetime, limit: int) -> list[CoachingSession]:
    due = (
        select(CoachingSession.id)
        .where(
            CoachingSession.status.in_(OPEN_STATUSES),
            CoachingSession.client_id.is_not(None),
            CoachingSession.starts_at > now,
            CoachingSession.starts_at <= now + reminder_delay(),
            or_(
                CoachingSession.reminded_revision.is_(None),
                CoachingSession.reminded_revision != CoachingSession.schedule_revision,
            ),
        )
        .order_by(CoachingSession.starts_at, CoachingSession.id)
        .limit(limit)
    )
    if get_database().dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.scalars(due))
    if not ids:
        return []
    sessions = list(db.scalars(select(CoachingSession).where(CoachingSession.id.in_(ids))))
    people = {s.coach_id for s in sessions} | {s.client_id for s in sessions if s.client_id}
    db.scalars(select(User).where(User.id.in_(people))).all()  # into the identity map
    return sessions


def sweep(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Queue every due reminder; returns how many were queued. Commits per batch."""
    if not get_option("emails.reminders_enabled"):
        return 0
    queued = 0
    while True:
        sessions = _claim_due(now or utcnow(), batch_size)
        if not sessions:
            db.commit()
            return queued
        for session in sessions:
            queued += queue_reminder(session) is not None
        db.commit()
