"""Money received for sessions, and the receipts issued for it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    TRANSFER = "transfer"
    CHEQUE = "cheque"
    CARD = "card"
    OTHER = "other"


PAYMENT_METHODS = tuple(m.value for m in PaymentMethod)


class Attention(enum.StrEnum):
    """Why staff must look at a payment: money came in for a session that no longer wanted it."""

    SESSION_CANCELLED = "session_cancelled"
    ALREADY_PAID = "already_paid"


#: The rows of the partial index the dashboard's "needs attention" query reads.
FLAGGED = "attention IS NOT NULL"


class Payment(Base):
    """A payment received for a session: recorded by hand, or by a payment provider."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint(f"method IN {PAYMENT_METHODS!r}", name="method"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        # One provider payment may cover several sessions: one row per session.
        UniqueConstraint("provider", "provider_reference", "session_id"),
        # The session's coach, copied so that a coach's revenue is one range of an index
        # (Statistics), kept in step by the database: a change of the session's coach
        # cascades here, and a payment naming another coach is refused (migration 0012).
        ForeignKeyConstraint(
            ["session_id", "coach_id"],
            ["coaching_sessions.id", "coaching_sessions.coach_id"],
            name="fk_payments_session_coach",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        Index("ix_payments_coach_currency_paid", "coach_id", "currency", "paid_at", "amount"),
        # A client's money (profile, client area) sums the payments of their sessions.
        Index("ix_payments_session_currency_paid", "session_id", "currency", "paid_at", "amount"),
        # The few flagged payments, latest first (the admin dashboard's alerts).
        Index(
            "ix_payments_attention",
            "id",
            sqlite_where=text(FLAGGED),
            postgresql_where=text(FLAGGED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_sessions.id", ondelete="CASCADE"), index=True
    )
    #: The session's coach (see ``fk_payments_session_coach``): give the session's own.
    coach_id: Mapped[int]
    amount: Mapped[int]  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(10))
    paid_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    #: "manual" for a payment entered by staff, else the payment provider's key.
    provider: Mapped[str] = mapped_column(String(40), default="manual")
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: An :class:`Attention` code when the money arrived for a session that did not want it.
    attention: Mapped[str | None] = mapped_column(String(20))

    refunds: Mapped[list[Refund]] = relationship(
        back_populates="payment", order_by="Refund.id", lazy="raise_on_sql"
    )

    @property
    def refunded_amount(self) -> int:
        """Minor units given back so far (``refunds`` must be loaded)."""
        return sum(r.amount for r in self.refunds)


class Refund(Base):
    """Money given back for a payment, in part or in full: by hand, or by a payment provider.

    Rows are never edited: a receipt prints them as they are (see ``core.payments.receipts``).
    """

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        UniqueConstraint("provider", "provider_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int]  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    #: "manual" for a refund entered by staff, else the payment provider's key.
    provider: Mapped[str] = mapped_column(String(40), default="manual")
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    refunded_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="refunds", lazy="raise_on_sql")


class Receipt(Base):
    """A numbered receipt. Its content is frozen at issue so that it always renders the same."""

    __tablename__ = "receipts"
    __table_args__ = (CheckConstraint("number > 0", name="number_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Sequential per site, never reused (rows are never deleted).
    number: Mapped[int] = mapped_column(unique=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("coaching_sessions.id", ondelete="SET NULL"), unique=True
    )
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Business, client, session and payment details as printed.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
