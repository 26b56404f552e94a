"""The audit log: who did what to whose data, and when. Rows outlive the erasure they record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, db, utcnow


class AuditEntry(Base):
    """One recorded action on personal data. ``subject_id`` is a plain id, not a foreign key,
    and ``actor_label`` a copy of the name, so that the entry survives whatever happens to
    either person."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200))
    #: What was done: ``export``, ``erasure_requested``, ``erasure``.
    action: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column()
    detail: Mapped[str] = mapped_column(Text, default="")


def record(
    action: str, actor_id: int | None, actor_label: str, subject_id: int, detail: str
) -> None:
    """Add an entry in the current transaction (the caller commits)."""
    db.add(
        AuditEntry(
            action=action,
            actor_id=actor_id,
            actor_label=actor_label,
            subject_id=subject_id,
            detail=detail,
        )
    )
