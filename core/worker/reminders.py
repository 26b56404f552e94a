"""Pre-session reminders: exactly one per session and schedule revision.

A session is due when it is open, has a client, starts within the configured delay
and its ``reminded_revision`` is not its current ``schedule_revision`` (moving a
session bumps the revision, so a moved session is reminded again). The reminder row
and ``reminded_revision`` are written in one transaction, on rows claimed with
``FOR UPDATE SKIP LOCKED`` (PostgreSQL) or under SQLite's single-writer lock.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from core.accounts.models import User
from core.db import db, get_database, utcnow
from core.emails.models import OutboxEmail
from core.emails.outbox import EmailRequest, InvalidAddress, queue_email, queue_emails
from core.emails.types import REMINDER
from core.sessions.models import OPEN_STATUSES, CoachingSession
from core.settings import get_option
from hooks import OutgoingEmail

log = logging.getLogger(__name__)

BATCH_SIZE = 200
SQLITE_BATCH_SIZE = 50
SQLITE_PAUSE_SECONDS = 0.02


def reminder_delay() -> timedelta:
    return timedelta(hours=int(get_option("emails.reminder_delay_hours")))


def reminder_key(session: CoachingSession) -> str:
    """One reminder per session and schedule revision."""
    return f"{REMINDER}:{session.id}:{session.schedule_revision}"


def _not_queued(session: CoachingSession, error: InvalidAddress) -> None:
    """Log a client whose address cannot receive mail: the sweep goes on without them."""
    log.error("reminder of session %s not queued: %s", session.id, error)


def queue_reminder(session: CoachingSession) -> OutboxEmail | None:
    """Queue the reminder of one session's current revision (the caller marks it reminded)."""
    client = db.get(User, session.client_id) if session.client_id else None
    if client is None:
        return None
    try:
        return queue_email(
            REMINDER, to=client, context={}, session=session, dedupe_key=reminder_key(session)
        )
    except InvalidAddress as exc:
        _not_queued(session, exc)
        return None


def remind(sessions: list[CoachingSession]) -> int:
    """Queue the reminders of claimed sessions and mark their current revision reminded.

    The batch is queued at once (:func:`queue_emails`: one dedupe query, one INSERT);
    a client whose address cannot receive mail is logged and skipped, so that one bad
    address never blocks the sweep. One plain UPDATE marks the batch: reminding is not
    an edit, so the optimistic-lock version stays. The rows are locked (or SQLite's
    writer lock is held) until commit, so the revision cannot change in between.
    """
    requests: list[EmailRequest] = []
    for session in sessions:
        client = db.get(User, session.client_id) if session.client_id else None  # loaded
        if client is not None:
            requests.append(EmailRequest(client, session=session, dedupe_key=reminder_key(session)))
    results = queue_emails(REMINDER, requests) if requests else []
    for request, result in zip(requests, results, strict=True):
        if isinstance(result, InvalidAddress) and request.session is not None:
            _not_queued(request.session, result)
    table = CoachingSession.__table__
    db.execute(
        update(table)
        .where(table.c.id.in_([s.id for s in sessions]))
        .values(reminded_revision=table.c.schedule_revision)
    )
    return sum(isinstance(result, OutgoingEmail) for result in results)


def _claim_due(
    now: datetime, limit: int, since: datetime | None = None
) -> tuple[list[CoachingSession], list[User]]:
    """Lock (PostgreSQL) and load up to ``limit`` due sessions, earliest first, with their
    documents, links and people; none starting before ``since``."""
    due = (
        select(CoachingSession.id)
        .where(
            CoachingSession.status.in_(OPEN_STATUSES),
            CoachingSession.client_id.is_not(None),
            CoachingSession.starts_at > now,
            CoachingSession.starts_at >= (since or now),
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
        return [], []
    sessions = list(
        db.scalars(
            select(CoachingSession)
            .where(CoachingSession.id.in_(ids))
            .order_by(CoachingSession.starts_at, CoachingSession.id)
            .options(selectinload(CoachingSession.documents), selectinload(CoachingSession.links))
        )
    )
    people = {s.coach_id for s in sessions} | {s.client_id for s in sessions if s.client_id}
    # Held by the caller for the batch: the identity map keeps objects only while referenced.
    return sessions, list(db.scalars(select(User).where(User.id.in_(people))))


def sweep(now: datetime | None = None, batch_size: int | None = None) -> int:
    """Queue every due reminder; returns how many were queued. Commits per batch.

    Each batch starts where the previous one ended (its latest start), so that it does
    not walk again past the sessions reminded before it; one the sweep has passed is
    taken by the next sweep. On SQLite every transaction holds the single write lock,
    and SQLite's busy wait polls too rarely to catch a gap between two back-to-back
    batches: batches are smaller there, with a short pause between them so that web
    requests get in.
    """
    if not get_option("emails.reminders_enabled"):
        return 0
    sqlite = get_database().dialect == "sqlite"
    batch_size = batch_size or (SQLITE_BATCH_SIZE if sqlite else BATCH_SIZE)
    queued = 0
    since: datetime | None = None
    while True:
        sessions, _people = _claim_due(now or utcnow(), batch_size, since)
        if not sessions:
            db.commit()
            return queued
        since = max(s.starts_at for s in sessions)
        queued += remind(sessions)
        db.commit()
        if sqlite and len(sessions) == batch_size:
            time.sleep(SQLITE_PAUSE_SECONDS)
