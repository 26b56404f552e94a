"""Coaching sessions, with their links and PDF documents."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts.models import User
from core.db import Base, utcnow


class SessionStatus(enum.StrEnum):
    """Where a session stands; only ``available`` has no client."""

    AVAILABLE = "available"  # an open slot, no client yet
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class PaymentStatus(enum.StrEnum):
    """Whether a session's price was collected; ``paid`` always has a payment row."""

    PENDING = "pending"  # billed, not collected
    PAID = "paid"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


SESSION_STATUSES = tuple(s.value for s in SessionStatus)
PAYMENT_STATUSES = tuple(s.value for s in PaymentStatus)
#: Statuses of a session that still lies ahead when its start is in the future.
OPEN_STATUSES = (SessionStatus.BOOKED.value, SessionStatus.CONFIRMED.value)
#: Statuses that put a session in the past whatever its date.
CLOSED_STATUSES = (
    SessionStatus.COMPLETED.value,
    SessionStatus.CANCELLED.value,
    SessionStatus.NO_SHOW.value,
)
#: The rows of the partial index the "never confirmed" queries read.
UNCONFIRMED = "confirmation_sent_at IS NULL"


class CoachingSession(Base):
    """One appointment between a coach and a client (or an open slot, without a client)."""

    __tablename__ = "coaching_sessions"
    __table_args__ = (
        CheckConstraint(f"status IN {SESSION_STATUSES!r}", name="status"),
        CheckConstraint(f"payment_status IN {PAYMENT_STATUSES!r}", name="payment_status"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 1440", name="duration"),
        CheckConstraint("price_amount IS NULL OR price_amount >= 0", name="price_non_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("client_id IS NOT NULL OR status = 'available'", name="client_unless_open"),
        CheckConstraint("client_role = 'client'", name="client_role"),
        # The client must be a user whose role is 'client'.
        ForeignKeyConstraint(
            ["client_id", "client_role"], ["users.id", "users.role"], ondelete="RESTRICT"
        ),
        # With the status: counts of open sessions (coach home) read the index alone.
        Index("ix_coaching_sessions_coach_start_status", "coach_id", "starts_at", "status"),
        # With the id: a client's sessions latest first, read from the index alone (PostgreSQL).
        Index("ix_coaching_sessions_client_start", "client_id", "starts_at", "id"),
        # What a client owes, oldest first (Payments tab, amount due): both conditions and
        # the order, so SQLite without statistics does not take the payment index instead.
        Index(
            "ix_coaching_sessions_client_payment_start",
            "client_id",
            "payment_status",
            "starts_at",
            "id",
        ),
        # A client's sessions of some statuses (upcoming, cancelled ahead, the cards), for
        # the same reason: not every client's sessions of that status (migration 0011).
        Index("ix_coaching_sessions_client_status_start", "client_id", "status", "starts_at", "id"),
        Index("ix_coaching_sessions_start_status", "starts_at", "status"),
        # What payments' (session_id, coach_id) refers to: the database carries a change of
        # coach over to the session's payments (migration 0012).
        Index("uq_coaching_sessions_id_coach", "id", "coach_id", unique=True),
        # Which clients a coach reaches: one index probe per client (access.py).
        Index("ix_coaching_sessions_coach_client", "coach_id", "client_id"),
        # The admin list filtered by status or payment, latest first, read in index order.
        Index("ix_coaching_sessions_status_start", "status", "starts_at", "id"),
        Index("ix_coaching_sessions_payment_start", "payment_status", "starts_at", "id"),
        # Sessions never confirmed to their client (admin.session_rows.awaiting_confirmation):
        # only those rows, so the dashboard's count reads a small index, not the table.
        Index(
            "ix_coaching_sessions_unconfirmed",
            "status",
            "starts_at",
            sqlite_where=text(UNCONFIRMED),
            postgresql_where=text(UNCONFIRMED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    client_id: Mapped[int | None] = mapped_column()
    client_role: Mapped[str] = mapped_column(String(10), default="client")
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    location: Mapped[str | None] = mapped_column(String(255))
    video_url: Mapped[str | None] = mapped_column(String(500))
    #: Private to the coach; never shown to the client nor put in an email.
    notes: Mapped[str | None] = mapped_column(Text)
    price_amount: Mapped[int | None] = mapped_column()  # minor units (cents); None: no price
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    status: Mapped[str] = mapped_column(String(12), default=SessionStatus.BOOKED.value)
    payment_status: Mapped[str] = mapped_column(String(10), default=PaymentStatus.PENDING.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None]
    #: Optimistic lock: a save based on an older version is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Bumped whenever the date, time, location or video link changes (emails, reminders).
    schedule_revision: Mapped[int] = mapped_column(Integer, default=1)
    #: Revision whose pre-session reminder was queued (None: none yet).
    reminded_revision: Mapped[int | None] = mapped_column()
    #: When the booking confirmation first went out (None: client never notified).
    confirmation_sent_at: Mapped[datetime | None]
    #: What the client was last told (start, location, link, document ids): drives "notify".
    notified_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The bundle (a pack sold as one, ``core.programs``) this session is part of, if any.
    bundle_id: Mapped[int | None] = mapped_column(
        ForeignKey("bundles.id", ondelete="SET NULL"), index=True
    )

    coach: Mapped[User] = relationship(foreign_keys=[coach_id], lazy="raise_on_sql")
    client: Mapped[User | None] = relationship(
        foreign_keys=[client_id],
        primaryjoin="CoachingSession.client_id == User.id",
        lazy="raise_on_sql",
    )
    links: Mapped[list[SessionLink]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        order_by="SessionLink.position",
        lazy="raise_on_sql",
    )
    documents: Mapped[list[SessionDocument]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        order_by="SessionDocument.id",
        lazy="raise_on_sql",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def ends_at(self) -> datetime:
        """Start plus duration; the last representable instant for a session stored before
        dates were checked that would end beyond the calendar (pages still show it)."""
        try:
            return self.starts_at + timedelta(minutes=self.duration_minutes)
        except OverflowError:
            return datetime.max.replace(tzinfo=UTC)

    def is_upcoming(self, now: datetime) -> bool:
        """Starts now or later and is neither finished nor cancelled."""
        return self.starts_at >= now and self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<CoachingSession {self.id} {self.starts_at:%Y-%m-%d %H:%M}Z {self.status}>"


class SessionLink(Base):
    """A labelled URL the coach attaches to a session."""

    __tablename__ = "session_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_sessions.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)

    session: Mapped[CoachingSession] = relationship(back_populates="links")


class SessionDocument(Base):
    """A PDF attached to a session. The file lives in the instance storage, never the web root."""

    __tablename__ = "session_documents"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_sessions.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))  # as shown and downloaded
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)  # random, on disk
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    session: Mapped[CoachingSession] = relationship(back_populates="documents")
