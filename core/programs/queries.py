"""Read-side queries of programs: bundles in a viewer's scope and their figures, in fixed SQL.

A list of bundles costs two statements (the bundles, then one aggregate over all
their sessions) whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select, type_coerce
from sqlalchemy.orm import joinedload

from core.accounts.models import User
from core.db import UTCDateTime, db
from core.programs.access import bundles_visible_to
from core.programs.models import Bundle, BundleStatus, ProgramTemplate
from core.sessions.models import OPEN_STATUSES, CoachingSession, PaymentStatus, SessionStatus
from core.sessions.queries import card_sessions

S = CoachingSession
#: Bundles still running first, then the finished ones; newest first within each.
STATUS_ORDER = case(
    (Bundle.status == BundleStatus.ACTIVE.value, 0),
    (Bundle.status == BundleStatus.PAUSED.value, 1),
    else_=2,
)


@dataclass(frozen=True)
class Progress:
    """A bundle's figures: sessions done over planned, and its money (minor units)."""

    planned: int
    completed: int = 0
    scheduled: int = 0  # sessions not cancelled
    upcoming: int = 0
    billed: int = 0  # prices of the sessions not cancelled
    paid: int = 0
    due: int = 0
    next_start: datetime | None = None

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.completed / self.planned)) if self.planned else 0

    @property
    def payment(self) -> str:
        """``paid``, ``partly_paid``, ``pending`` or ``free`` (nothing billed)."""
        if not self.billed:
            return "free"
        if not self.due:
            return "paid"
        return "partly_paid" if self.paid else "pending"


def bundles_query(viewer: User) -> Select[tuple[Bundle]]:
    """Bundles in the viewer's scope with their client and coach, running ones first."""
    return (
        select(Bundle)
        .where(bundles_visible_to(viewer))
        .options(joinedload(Bundle.client), joinedload(Bundle.coach))
        .order_by(STATUS_ORDER, Bundle.created_at.desc(), Bundle.id.desc())
    )


def client_bundles(viewer: User, client_id: int) -> list[Bundle]:
    return list(db.scalars(bundles_query(viewer).where(Bundle.client_id == client_id)))


def progress_of(bundles: Sequence[Bundle], now: datetime) -> dict[int, Progress]:
    """Every bundle's :class:`Progress`, in one aggregate statement."""
    if not bundles:
        return {}
    live = S.status != SessionStatus.CANCELLED.value
    priced = and_(live, S.price_amount.is_not(None))
    upcoming = and_(S.starts_at >= now, S.status.in_(OPEN_STATUSES))

    def money(*conditions: Any) -> Any:
        return func.coalesce(func.sum(case((and_(priced, *conditions), S.price_amount))), 0)

    rows = db.execute(
        select(
            S.bundle_id,
            func.count().filter(S.status == SessionStatus.COMPLETED.value),
            func.count().filter(live),
            func.count().filter(upcoming),
            money(),
            money(S.payment_status == PaymentStatus.PAID.value),
            money(S.payment_status == PaymentStatus.PENDING.value),
            type_coerce(func.min(case((upcoming, S.starts_at))), UTCDateTime()),
        )
        .where(S.bundle_id.in_([b.id for b in bundles]))
        .group_by(S.bundle_id)
    ).all()
    found = {row[0]: row[1:] for row in rows}
    return {
        b.id: Progress(b.planned_count, *(int(v) for v in found[b.id][:6]), found[b.id][6])
        if b.id in found
        else Progress(b.planned_count)
        for b in bundles
    }


def bundle_sessions(bundle_id: int, *, cards: bool = False) -> list[CoachingSession]:
    """The bundle's sessions in date order (with what a card shows when ``cards``)."""
    query = select(S).where(S.bundle_id == bundle_id).order_by(S.starts_at, S.id)
    return card_sessions(query) if cards else list(db.scalars(query))


def sessions_by_bundle(bundle_ids: Sequence[int]) -> dict[int, list[CoachingSession]]:
    """Each bundle's sessions in date order, ready for cards (a fixed number of statements)."""
    found: dict[int, list[CoachingSession]] = {bundle_id: [] for bundle_id in bundle_ids}
    if bundle_ids:
        query = select(S).where(S.bundle_id.in_(list(bundle_ids))).order_by(S.starts_at, S.id)
        for session in card_sessions(query):
            found[session.bundle_id].append(session)  # type: ignore[index]
    return found


def bundles_of_sessions(sessions: Iterable[CoachingSession]) -> dict[int, Bundle]:
    """Session id → its bundle, for the sessions of a list that belong to one (one statement)."""
    linked = {s.id: s.bundle_id for s in sessions if s.bundle_id is not None}
    if not linked:
        return {}
    bundles = {b.id: b for b in db.scalars(select(Bundle).where(Bundle.id.in_(linked.values())))}
    return {sid: bundles[bid] for sid, bid in linked.items() if bid in bundles}


def offered_templates() -> list[ProgramTemplate]:
    """Templates a new bundle may start from (not archived), by title."""
    return list(
        db.scalars(
            select(ProgramTemplate)
            .where(ProgramTemplate.archived_at.is_(None))
            .order_by(ProgramTemplate.title, ProgramTemplate.id)
        )
    )
