"""Rules of bundles: creating one with all its sessions at once, adding and removing
sessions, its status, and paying it as a whole.

Every function stages its changes in the caller's transaction; the caller commits,
or rolls back and removes the files listed in ``written``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session, selectinload

from core.accounts.models import User
from core.db import db, utcnow
from core.payments.service import PaymentError, record_payment
from core.programs.documents import attach_copies, entry_of
from core.programs.models import Bundle, BundleStatus
from core.programs.pricing import spread_price
from core.programs.schedule import Slot, busy_intervals, clashing_slots
from core.sessions.models import CoachingSession, PaymentStatus, SessionStatus
from core.sessions.service import SessionData, SessionRuleError, create_session

#: True while a bundle's sessions are being booked: their "new booking" emails are held back.
_booking_quietly: ContextVar[bool] = ContextVar("programs_booking_quietly", default=False)


class BundleError(ValueError):
    """The change breaks a rule of bundles; the message is for the user."""


@dataclass
class Offer:
    """What a bundle is: step 1 of the wizard, validated."""

    coach_id: int
    client_id: int
    title: str
    planned_count: int
    total_price: int  # minor units
    currency: str
    duration_minutes: int = 60
    location: str | None = None
    video_url: str | None = None
    template_id: int | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def booking_quietly() -> Iterator[None]:
    """Book without telling anyone: nothing is emailed when a bundle is created or changed."""
    token = _booking_quietly.set(True)
    try:
        yield
    finally:
        _booking_quietly.reset(token)


def is_booking_quietly() -> bool:
    return _booking_quietly.get()


def session_title(bundle_title: str, number: int, planned: int) -> str:
    return f"{bundle_title} ({number}/{planned})"[:200]


def clash_message(slots: list[Slot], indexes: list[int]) -> str:
    days = ", ".join(format_date(slots[i].starts_at, "medium") for i in indexes)
    return _(
        "These dates overlap another session of the coach (or of this bundle): %(days)s.",
        days=days,
    )


def check_clashes(coach_id: int, slots: list[Slot], duration: int, *, exclude: list[int]) -> None:
    """Refuse slots that overlap the coach's other sessions or each other."""
    if not slots:
        return
    start = min(s.starts_at for s in slots)
    end = max(s.starts_at for s in slots)
    busy = busy_intervals(coach_id, start, end + timedelta(minutes=duration), exclude_ids=exclude)
    clashing = clashing_slots(slots, duration, busy)
    if clashing:
        raise BundleError(clash_message(slots, clashing))


def _session_data(
    bundle: Bundle, starts_at: datetime, number: int, price: int | None
) -> SessionData:
    return SessionData(
        coach_id=bundle.coach_id,
        client_id=bundle.client_id,
        starts_at=starts_at,
        duration_minutes=bundle.duration_minutes,
        title=session_title(bundle.title, number, bundle.planned_count),
        location=bundle.location,
        video_url=bundle.video_url,
        price_amount=price,
        currency=bundle.currency,
    )


def _book(
    bundle: Bundle,
    data: SessionData,
    client: User,
    actor: User,
    documents: list[dict[str, Any]],
    written: list[Path],
) -> CoachingSession:
    try:
        with booking_quietly():
            session = create_session(data, client, actor)
    except SessionRuleError as exc:
        raise BundleError(str(exc)) from exc
    session.bundle_id = bundle.id
    attach_copies(session, documents, actor.id, written)
    return session


def create_bundle(
    offer: Offer, slots: list[Slot], client: User, actor: User, written: list[Path]
) -> Bundle:
    """The bundle and one session per slot, sharing its place, link and documents.

    The total price is spread over the sessions to the cent. Nothing is emailed. Files
    copied for the sessions are appended to ``written``; on any exception the caller
    rolls back and removes them, so a failure leaves nothing behind.
    """
    if len(slots) != offer.planned_count:
        raise BundleError(
            _("Schedule all %(num)s sessions before creating the bundle.", num=offer.planned_count)
        )
    check_clashes(offer.coach_id, slots, offer.duration_minutes, exclude=[])
    bundle = Bundle(
        client_id=client.id,
        coach_id=offer.coach_id,
        template_id=offer.template_id,
        title=offer.title,
        planned_count=offer.planned_count,
        total_price=offer.total_price,
        currency=offer.currency,
        status=BundleStatus.ACTIVE.value,
        duration_minutes=offer.duration_minutes,
        location=offer.location,
        video_url=offer.video_url,
        created_by_id=actor.id,
    )
    db.add(bundle)
    db.flush()
    prices: list[int | None] = (
        list(spread_price(offer.total_price, len(slots)))
        if offer.total_price
        else [None] * len(slots)
    )
    ordered = sorted(slots, key=lambda s: s.starts_at)
    for number, (slot, price) in enumerate(zip(ordered, prices, strict=True), start=1):
        data = _session_data(bundle, slot.starts_at, number, price)
        _book(bundle, data, client, actor, offer.documents, written)
    db.flush()
    return bundle


def uncovered_amount(bundle: Bundle) -> int:
    """What the bundle's price is not yet spread over: the total minus its live sessions' prices."""
    covered = db.scalar(
        select(func.coalesce(func.sum(CoachingSession.price_amount), 0)).where(
            CoachingSession.bundle_id == bundle.id,
            CoachingSession.status != SessionStatus.CANCELLED.value,
        )
    )
    return max(0, bundle.total_price - int(covered or 0))


def add_session(
    bundle: Bundle, slot: Slot, price: int | None, actor: User, written: list[Path]
) -> CoachingSession:
    """One more session for the bundle, like its others (place, link, the first one's PDFs).

    The bundle's total stays as agreed. Nothing is emailed.
    """
    check_clashes(bundle.coach_id, [slot], bundle.duration_minutes, exclude=[])
    siblings = list(
        db.scalars(
            select(CoachingSession)
            .where(CoachingSession.bundle_id == bundle.id)
            .order_by(CoachingSession.starts_at, CoachingSession.id)
            .options(selectinload(CoachingSession.documents))
        )
    )
    client = db.get(User, bundle.client_id)
    assert client is not None  # bundles.client_id is RESTRICT
    data = _session_data(bundle, slot.starts_at, len(siblings) + 1, price)
    documents = [entry_of(d) for d in siblings[0].documents] if siblings else []
    session = _book(bundle, data, client, actor, documents, written)
    db.flush()
    return session


def remove_session(bundle: Bundle, session: CoachingSession) -> None:
    """Take a session out of the bundle; it stays booked, as a session of its own."""
    if session.bundle_id != bundle.id:
        raise BundleError(_("This session is not part of the bundle."))
    session.bundle_id = None
    db.flush()


def set_status(bundle: Bundle, status: str) -> None:
    """Staff pause or resume a bundle; "completed" comes from its sessions."""
    if status not in (BundleStatus.ACTIVE, BundleStatus.PAUSED):
        raise BundleError(_("A bundle is either active or paused; it completes by itself."))
    bundle.status = status
    bundle.completed_at = None


def payable_sessions(bundle: Bundle, *, lock: bool = False) -> list[CoachingSession]:
    """The bundle's sessions with a price still to collect (not cancelled), by date."""
    query = (
        select(CoachingSession)
        .where(
            CoachingSession.bundle_id == bundle.id,
            CoachingSession.price_amount > 0,
            CoachingSession.payment_status == PaymentStatus.PENDING.value,
            CoachingSession.status.not_in(
                (SessionStatus.CANCELLED.value, SessionStatus.AVAILABLE.value)
            ),
        )
        .order_by(CoachingSession.starts_at, CoachingSession.id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(db.scalars(query))


def pay_bundle(bundle: Bundle, *, method: str, paid_at: datetime, actor: User) -> int:
    """Record the bundle paid by hand: one payment per unpaid session, in this transaction.

    Returns how many sessions were paid; 0 when nothing was left to pay (a second click).
    """
    sessions = payable_sessions(bundle, lock=True)
    for session in sessions:
        try:
            record_payment(
                session,
                method=method,
                paid_at=paid_at,
                amount=session.price_amount,
                recorded_by_id=actor.id,
                note=_("Bundle “%(title)s”", title=bundle.title),
            )
        except PaymentError as exc:
            raise BundleError(str(exc)) from exc
    return len(sessions)


# --------------------------------------------------------------------------
# Completed by itself: follows its sessions' statuses, whoever changes them
# --------------------------------------------------------------------------


def _touched_bundles(session: Session) -> set[int]:
    """Bundles whose sessions were added, moved in or out, or changed status in this flush."""
    touched: set[int] = set()
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, CoachingSession):
            continue
        state = inspect(obj)
        moved = state.attrs.bundle_id.history
        if obj in session.new or moved.has_changes() or state.attrs.status.history.has_changes():
            touched.update(b for b in (obj.bundle_id, *moved.deleted) if b is not None)
    return touched


def refresh_status(session: Session, bundle_id: int) -> None:
    """Completed once its planned number of sessions is completed; active again if one reopens.

    Reads the sessions as they are in memory (pending changes included), without flushing.
    """
    bundle = session.get(Bundle, bundle_id)
    if bundle is None:
        return
    members = {
        s
        for s in session.scalars(
            select(CoachingSession).where(CoachingSession.bundle_id == bundle_id)
        )
        if s.bundle_id == bundle_id
    }
    members.update(
        o
        for o in (*session.new, *session.dirty)
        if isinstance(o, CoachingSession) and o.bundle_id == bundle_id
    )
    done = sum(1 for s in members if s.status == SessionStatus.COMPLETED)
    if done >= bundle.planned_count and bundle.status != BundleStatus.COMPLETED:
        bundle.status = BundleStatus.COMPLETED.value
        bundle.completed_at = utcnow()
    elif done < bundle.planned_count and bundle.status == BundleStatus.COMPLETED:
        bundle.status = BundleStatus.ACTIVE.value
        bundle.completed_at = None


@event.listens_for(Session, "before_flush")
def _follow_sessions(session: Session, _context: Any, _instances: Any) -> None:
    touched = _touched_bundles(session)
    if touched:
        with session.no_autoflush:
            for bundle_id in sorted(touched):
                refresh_status(session, bundle_id)
