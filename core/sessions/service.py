"""Rules about a session's life that every screen shares.

Cancelling and the cancellation window; creating and updating a session with
validation, the schedule revision (what emails and reminders key on) and the
optimistic lock; status and payment-status changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from core.accounts.models import User
from core.db import utcnow
from core.plugins import call
from core.sessions.models import (
    OPEN_STATUSES,
    PAYMENT_STATUSES,
    SESSION_STATUSES,
    CoachingSession,
    PaymentStatus,
    SessionLink,
    SessionStatus,
)
from core.settings import get_option
from core.validation import (
    MAX_MINOR_UNITS,
    column_length,
    date_range_message,
    is_web_url,
    supported_instant,
)

#: Changing any of these tells the client something new: the schedule revision goes up.
SCHEDULE_FIELDS = ("starts_at", "location", "video_url")
MAX_DURATION = 1440
LINK_LABEL_MAX = column_length(SessionLink.label)
LINK_URL_MAX = column_length(SessionLink.url)


class SessionRuleError(ValueError):
    """The change breaks a rule; the message is for the user."""


class StaleSessionError(SessionRuleError):
    """The session changed since the form was opened (optimistic lock)."""


def stale_message() -> str:
    """What a refused concurrent edit tells the user."""
    return _(
        "Someone else changed this session while you were editing it. "
        "Your changes were not saved: reload to see the new version."
    )


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


# --------------------------------------------------------------------------
# Wall-clock time ↔ instants
# --------------------------------------------------------------------------


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock time in ``tz`` designates; refuses times a DST jump skips.

    In the autumn, a repeated hour resolves to its first occurrence (fold=0).
    """
    local = datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz)
    try:
        instant = local.astimezone(UTC)
    except OverflowError as exc:  # the first or last hours of the calendar
        raise SessionRuleError(date_range_message()) from exc
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise SessionRuleError(
            _("%(time)s does not exist on that day (the clocks change).", time=at.strftime("%H:%M"))
        )
    return instant


# --------------------------------------------------------------------------
# Creating and updating
# --------------------------------------------------------------------------


@dataclass
class SessionData:
    """What an editor submits for one session; validated by :func:`validate_session_data`."""

    coach_id: int
    client_id: int | None
    starts_at: datetime
    duration_minutes: int = 60
    title: str = ""
    location: str | None = None
    video_url: str | None = None
    price_amount: int | None = None
    currency: str = "EUR"
    status: str = SessionStatus.BOOKED.value
    notes: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)


def default_title(client: User | None) -> str:
    """The title used when the coach leaves it empty."""
    if client is None:
        return _("Open slot")
    return _("Session with %(name)s", name=client.full_name)


def validate_session_data(data: SessionData) -> dict[str, str]:
    """Field name → message for every rule ``data`` breaks (empty: valid)."""
    errors: dict[str, str] = {}
    if data.starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    if not 0 < data.duration_minutes <= MAX_DURATION:
        errors["duration_minutes"] = _("The duration must be between 1 and 1440 minutes.")
    elif not (
        supported_instant(data.starts_at)
        and supported_instant(data.starts_at + timedelta(minutes=data.duration_minutes))
    ):
        errors["day"] = " ".join(
            (_("A session must start and end within the calendar."), date_range_message())
        )
    if data.status not in SESSION_STATUSES:
        errors["status"] = _("Unknown status.")
    if data.client_id is None and data.status != SessionStatus.AVAILABLE:
        errors["client_id"] = _("Choose a client, or make the session an open slot (available).")
    if data.video_url and not is_web_url(data.video_url):
        errors["video_url"] = _("The video link must start with http:// or https://.")
    if data.price_amount is not None and data.price_amount < 0:
        errors["price"] = _("The price cannot be negative.")
    elif data.price_amount is not None and data.price_amount > MAX_MINOR_UNITS:
        errors["price"] = _("The price is too large.")
    if len(data.currency) != 3 or not data.currency.isalpha():
        errors["currency"] = _("Use a three-letter currency code such as EUR.")
    for label, url in data.links:
        if not label.strip() or not is_web_url(url):
            errors["links"] = _("Each link needs a label and an address starting with http(s)://.")
        elif len(label.strip()) > LINK_LABEL_MAX or len(url.strip()) > LINK_URL_MAX:
            errors["links"] = _(
                "A link label may have %(label)s characters at most, and its address %(url)s.",
                label=LINK_LABEL_MAX,
                url=LINK_URL_MAX,
            )
    return errors


def _apply(session: CoachingSession, data: SessionData, client: User | None) -> None:
    session.coach_id = data.coach_id
    session.client_id = data.client_id
    session.starts_at = data.starts_at
    session.duration_minutes = data.duration_minutes
    session.title = data.title.strip() or default_title(client)
    session.location = (data.location or "").strip() or None
    session.video_url = (data.video_url or "").strip() or None
    session.price_amount = data.price_amount
    session.currency = data.currency.upper()
    session.notes = (data.notes or "").strip() or None
    wanted = [(label.strip(), url.strip()) for label, url in data.links]
    if [(link.label, link.url) for link in session.links] != wanted:
        session.links = [
            SessionLink(label=label, url=url, position=i) for i, (label, url) in enumerate(wanted)
        ]


def create_session(data: SessionData, client: User | None, actor: User) -> CoachingSession:
    """Add a new session (flushed) and raise ``session_created``. The caller commits.

    ``client`` is the user ``data.client_id`` names, already checked reachable by the caller.
    """
    errors = validate_session_data(data)
    if errors:
        raise SessionRuleError(" ".join(errors.values()))
    from core.db import db

    session = CoachingSession(created_by_id=actor.id, status=data.status, links=[])
    _apply(session, data, client)
    if data.status == SessionStatus.CANCELLED:
        session.cancelled_at, session.cancelled_by_id = utcnow(), actor.id
    db.add(session)
    db.flush()
    call("session_created", session=session, actor=actor)
    return session


def update_session(
    session: CoachingSession,
    data: SessionData,
    client: User | None,
    actor: User,
    *,
    expected_version: int,
) -> bool:
    """Apply an edit; return whether the schedule (start, place, video link) changed.

    Refuses with :class:`StaleSessionError` when ``expected_version`` (the version the
    form was built from) is not the current one, so nobody overwrites a newer edit.
    The status goes through :func:`change_status` (cancelling raises its event).
    ``session.links`` must be loaded. The caller commits.
    """
    if session.version != expected_version:
        raise StaleSessionError(stale_message())
    errors = validate_session_data(data)
    if errors:
        raise SessionRuleError(" ".join(errors.values()))
    before = tuple(getattr(session, name) for name in SCHEDULE_FIELDS)
    _apply(session, data, client)
    moved = before != tuple(getattr(session, name) for name in SCHEDULE_FIELDS)
    if moved:
        session.schedule_revision += 1
    change_status(session, data.status, actor)
    return moved


def change_status(session: CoachingSession, status: str, actor: User) -> None:
    """Set the status. Cancelling an open session goes through :func:`cancel_session`.

    Reopening a cancelled session clears the cancellation and a payment cancelled with it.
    The caller commits.
    """
    if status not in SESSION_STATUSES:
        raise SessionRuleError(_("Unknown status."))
    if status == session.status:
        return
    if status != SessionStatus.AVAILABLE and session.client_id is None:
        raise SessionRuleError(_("An open slot needs a client before it can change status."))
    if status == SessionStatus.CANCELLED:
        if session.status in OPEN_STATUSES:
            cancel_session(session, actor)
            return
        session.cancelled_at, session.cancelled_by_id = utcnow(), actor.id
    elif session.status == SessionStatus.CANCELLED:
        from core.payments.service import reinstate_payments

        session.cancelled_at = session.cancelled_by_id = None
        if session.payment_status == PaymentStatus.CANCELLED:
            session.payment_status = PaymentStatus.PENDING.value
        reinstate_payments(session)
    session.status = status


def set_payment_status(
    session: CoachingSession,
    status: str,
    actor: User,
    *,
    method: str | None = None,
    paid_at: datetime | None = None,
) -> None:
    """Mark a session's payment by hand. "paid" records a payment (method and date required).

    "refunded" records a refund of what is left of each payment, so that manual and
    online refunds are one model. The caller commits.
    """
    from core.payments.service import PaymentError, record_payment, refund_session

    if status not in PAYMENT_STATUSES:
        raise SessionRuleError(_("Unknown payment status."))
    if status == session.payment_status:
        return
    if status == PaymentStatus.PAID:
        if not method:
            raise SessionRuleError(_("Say how the session was paid."))
        try:
            record_payment(
                session,
                method=method,
                paid_at=paid_at or utcnow(),
                amount=session.price_amount or 0,
                recorded_by_id=actor.id,
            )
        except PaymentError as exc:
            raise SessionRuleError(str(exc)) from exc
        return
    if status == PaymentStatus.REFUNDED:
        refund_session(session, actor_id=actor.id)
    session.payment_status = status
