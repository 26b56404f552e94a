"""Read-side queries about one client's sessions, shared by the client area and the coach pages.

Every list loads what its cards show (coach, links, documents) eagerly, so a page
issues the same number of SQL statements whether the client has 5 sessions or 2,000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import joinedload, selectinload

from core.db import UTCDateTime, db
from core.payments.queries import money_totals
from core.sessions.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    CoachingSession,
    PaymentStatus,
    SessionStatus,
)

S = CoachingSession


def card_options() -> list[Any]:
    """Loader options for a session card: coach, links and documents, in three statements."""
    return [joinedload(S.coach), selectinload(S.links), selectinload(S.documents)]


def upcoming_clause(now: datetime) -> ColumnElement[bool]:
    """Starts now or later and still open (booked or confirmed)."""
    return and_(S.starts_at >= now, S.status.in_(OPEN_STATUSES))


def past_clause(now: datetime) -> ColumnElement[bool]:
    """Completed, cancelled or no-show, or started before now (an open slot is never past)."""
    return and_(
        S.status != SessionStatus.AVAILABLE.value,
        or_(S.status.in_(CLOSED_STATUSES), S.starts_at < now),
    )


def unpaid_clause() -> ColumnElement[bool]:
    """Billed and not collected: a price, payment pending, and not cancelled."""
    return and_(
        S.price_amount.is_not(None),
        S.payment_status == PaymentStatus.PENDING.value,
        S.status.not_in((SessionStatus.CANCELLED.value, SessionStatus.AVAILABLE.value)),
    )


@dataclass
class Page:
    """One page of a list, with what pagination needs."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paginate(query: Select[Any], page: int, per_page: int) -> Page:
    """Run ``query`` for one page (clamped to the last one): a count, then the rows."""
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    rows = db.scalars(query.offset((page - 1) * per_page).limit(per_page)).unique()
    return Page(list(rows), page, per_page, total)


def upcoming_sessions(client_id: int, now: datetime, page: int = 1, per_page: int = 20) -> Page:
    """The client's upcoming sessions, soonest first, ready for cards."""
    query = (
        select(S)
        .where(S.client_id == client_id, upcoming_clause(now))
        .order_by(S.starts_at, S.id)
        .options(*card_options())
    )
    return paginate(query, page, per_page)


def cancelled_ahead(client_id: int, now: datetime, limit: int = 10) -> list[S]:
    """Sessions that were still ahead when cancelled (so the client sees why they vanished)."""
    query = (
        select(S)
        .where(
            S.client_id == client_id,
            S.status == SessionStatus.CANCELLED.value,
            S.starts_at >= now,
        )
        .order_by(S.starts_at, S.id)
        .options(joinedload(S.coach))
        .limit(limit)
    )
    return list(db.scalars(query))


def past_sessions(client_id: int, now: datetime, page: int = 1, per_page: int = 20) -> Page:
    """The client's past sessions, newest first (completed, cancelled, no-show or started)."""
    query = (
        select(S)
        .where(S.client_id == client_id, past_clause(now))
        .order_by(S.starts_at.desc(), S.id.desc())
        .options(joinedload(S.coach))
    )
    return paginate(query, page, per_page)


def unpaid_sessions(client_id: int, page: int = 1, per_page: int = 20) -> Page:
    """Sessions the client still owes, oldest first."""
    query = (
        select(S)
        .where(S.client_id == client_id, unpaid_clause())
        .order_by(S.starts_at, S.id)
        .options(joinedload(S.coach))
    )
    return paginate(query, page, per_page)


def amount_due(client_id: int) -> dict[str, int]:
    """What the client owes in total, per currency (minor units), in one statement."""
    rows = db.execute(
        select(S.currency, func.sum(S.price_amount))
        .where(S.client_id == client_id, unpaid_clause())
        .group_by(S.currency)
        .order_by(S.currency)
    ).all()
    return {currency: int(total or 0) for currency, total in rows}


@dataclass
class ClientStats:
    """Figures about one client's sessions."""

    total: int = 0
    completed: int = 0
    upcoming: int = 0
    cancelled: int = 0
    unpaid: int = 0
    minutes_completed: int = 0
    next_start: datetime | None = None
    next_title: str | None = None
    spent: dict[str, int] = field(default_factory=dict)


def client_stats(client_id: int, now: datetime) -> ClientStats:
    """Counts, time spent, next session and money paid, in two aggregate statements."""
    completed = S.status == SessionStatus.COMPLETED.value
    upcoming = upcoming_clause(now)
    next_title = (
        select(S.title)
        .where(S.client_id == client_id, upcoming)
        .order_by(S.starts_at, S.id)
        .limit(1)
        .scalar_subquery()
    )
    row = db.execute(
        select(
            func.count().filter(S.status != SessionStatus.CANCELLED.value),
            func.count().filter(completed),
            func.count().filter(upcoming),
            func.count().filter(S.status == SessionStatus.CANCELLED.value),
            func.count().filter(unpaid_clause()),
            func.coalesce(func.sum(case((completed, S.duration_minutes), else_=0)), 0),
            type_coerce(func.min(case((upcoming, S.starts_at))), UTCDateTime()),
            next_title,
        ).where(S.client_id == client_id, S.status != SessionStatus.AVAILABLE.value)
    ).one()
    stats = ClientStats(*row[:6], next_start=row[6], next_title=row[7])
    # Money actually received for the client's sessions, net of refunds.
    stats.spent = {c: a for c, a in money_totals(S.client_id == client_id).net.items() if a}
    return stats
