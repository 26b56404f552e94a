"""Email logs: a session's emails, a client's timeline, and the site's searchable log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from flask import abort
from sqlalchemy import Select, and_, bindparam, func, or_, select, true
from sqlalchemy.orm import aliased

from core.accounts.access import reachable_clients_clause
from core.accounts.models import Role, User
from core.accounts.permissions import has_capability
from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.paging import capped_count
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


@cache
def _client_timeline_query() -> Select[tuple[OutboxEmail]]:
    """Built once (every client profile shows it), the client's id given as ``client_id``."""
    client = bindparam("client_id")
    their_sessions = select(CoachingSession.id).where(CoachingSession.client_id == client)
    return (
        select(OutboxEmail)
        .where(or_(OutboxEmail.user_id == client, OutboxEmail.session_id.in_(their_sessions)))
        .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
    )


def client_timeline(client_id: int) -> list[OutboxEmail]:
    """Emails to the client plus every email about the client's sessions, newest first."""
    return list(db.scalars(_client_timeline_query(), {"client_id": client_id}))


#: Rows on one page of the email log.
LOG_PAGE_ROWS = 50
#: The log's status filter: the stored statuses plus "failed" (waiting after an error).
LOG_STATUSES = ("pending", "failed", "sent", "dead")


@dataclass(frozen=True)
class LogFilters:
    """What the log page was asked for (query string), already checked."""

    q: str = ""
    email_type: str = ""
    status: str = ""
    client_id: int | None = None
    session_id: int | None = None


@dataclass(frozen=True)
class LogRow:
    email: OutboxEmail
    client_name: str | None
    session_start: datetime | None


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    page: int
    pages: int
    total: int
    capped: bool


def visible_emails(viewer: User) -> Any:
    """SQL condition on ``OutboxEmail``: all for admins; for a coach, emails to the clients
    they reach, minus those about sessions outside their scope (or about any session,
    without ``view_sessions``)."""
    if viewer.role == Role.ADMIN:
        return true()
    from core.coach.queries import coach_scope

    clients = select(User.id).where(reachable_clients_clause(viewer))
    if not has_capability(viewer, "view_sessions"):  # session emails tell about sessions
        return and_(OutboxEmail.user_id.in_(clients), OutboxEmail.session_id.is_(None))
    their_sessions = select(CoachingSession.id).where(coach_scope(viewer))
    return and_(
        OutboxEmail.user_id.in_(clients),
        or_(OutboxEmail.session_id.is_(None), OutboxEmail.session_id.in_(their_sessions)),
    )


def _filtered(viewer: User, filters: LogFilters) -> Select[Any]:
    """The log's rows (email, client name, session start) for ``filters``, unordered."""
    client = aliased(User)
    query = (
        select(OutboxEmail, client.first_name, client.last_name, CoachingSession.starts_at)
        .outerjoin(client, client.id == OutboxEmail.user_id)
        .outerjoin(CoachingSession, CoachingSession.id == OutboxEmail.session_id)
        .where(visible_emails(viewer))
    )
    if filters.q:
        pattern = "%" + filters.q.lower().replace("\\", "\\\\").replace("%", r"\%") + "%"
        full_name = func.lower(client.first_name + " " + client.last_name)
        query = query.where(
            or_(
                func.lower(OutboxEmail.to_address).like(pattern, escape="\\"),
                full_name.like(pattern, escape="\\"),
            )
        )
    if filters.email_type:
        query = query.where(OutboxEmail.email_type == filters.email_type)
    if filters.status == "failed":
        query = query.where(OutboxEmail.status == "pending", OutboxEmail.last_error.is_not(None))
    elif filters.status == "pending":
        query = query.where(OutboxEmail.status == "pending", OutboxEmail.last_error.is_(None))
    elif filters.status:
        query = query.where(OutboxEmail.status == filters.status)
    if filters.client_id is not None:
        query = query.where(OutboxEmail.user_id == filters.client_id)
    if filters.session_id is not None:
        query = query.where(OutboxEmail.session_id == filters.session_id)
    return query


def email_log_page(viewer: User, filters: LogFilters, page: int) -> LogPage:
    """One page of the log, newest first, in two queries whatever the page size: the rows
    (with client and session joined) and a count that stops at :data:`COUNT_CAP`."""
    query = _filtered(viewer, filters)
    total, capped = capped_count(query.with_only_columns(OutboxEmail.id))
    pages = max(1, -(-total // LOG_PAGE_ROWS))
    page = min(max(page, 1), pages)
    result = db.execute(
        query.order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
        .offset((page - 1) * LOG_PAGE_ROWS)
        .limit(LOG_PAGE_ROWS)
    )
    rows = [
        LogRow(email, f"{first} {last}" if first is not None else None, start)
        for email, first, last, start in result
    ]
    return LogPage(rows, page, pages, total, capped)


def visible_email_or_404(viewer: User, email_id: int) -> OutboxEmail:
    """One email of the viewer's log; 404 for any other (never tells it exists)."""
    email = db.scalar(select(OutboxEmail).where(OutboxEmail.id == email_id, visible_emails(viewer)))
    if email is None:
        abort(404)
    return email


def resend(original: OutboxEmail) -> OutboxEmail:
    """A copy of ``original`` queued as a new email (same content, new Message-ID); the
    caller commits."""
    copy = OutboxEmail(
        email_type=original.email_type,
        to_address=original.to_address,
        to_name=original.to_name,
        from_address=original.from_address,
        reply_to=original.reply_to,
        subject=original.subject,
        body_text=original.body_text,
        body_html=original.body_html,
        attachments=list(original.attachments or []),
        session_id=original.session_id,
        user_id=original.user_id,
        next_attempt_at=utcnow(),
    )
    db.add(copy)
    db.flush()
    return copy
