"""The outbox: every email is a row here first, written in the transaction that caused it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class EmailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a worker (or for its next retry)
    SENT = "sent"
    DEAD = "dead"  # gave up after the maximum number of attempts


EMAIL_STATUSES = tuple(s.value for s in EmailStatus)


class OutboxEmail(Base):
    """One message to one recipient; doubles as the email log of sessions and accounts."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        CheckConstraint(f"status IN {EMAIL_STATUSES!r}", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_outbox_emails_due", "status", "next_attempt_at"),
        # The email log: newest first, optionally by status or type (core/emails/log.py).
        Index("ix_outbox_emails_created", "created_at", "id"),
        Index("ix_outbox_emails_status_created", "status", "created_at", "id"),
        Index("ix_outbox_emails_type_created", "email_type", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_type: Mapped[str] = mapped_column(String(60))
    #: Same logical email (type, object, revision) can be queued only once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(200))
    from_address: Mapped[str] = mapped_column(String(300))
    reply_to: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    #: [{"filename", "content_type", "data" (base64)}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("coaching_sessions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=EmailStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Lease: a worker owns the row until then; after it, another worker may take it.
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    @property
    def display_status(self) -> str:
        """What logs show: sent, dead, failed (waiting for a retry after an error) or pending."""
        if self.status == EmailStatus.PENDING and self.last_error:
            return "failed"
        return self.status
