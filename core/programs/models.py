"""Program templates (site-wide), their default documents, bundles and wizard drafts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts.models import User
from core.db import Base, utcnow

#: How many sessions one bundle (or template) may plan: a year of weekly sessions and then some.
MAX_SESSIONS = 60


class BundleStatus(enum.StrEnum):
    """Active and paused are chosen by staff; completed follows the sessions."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


BUNDLE_STATUSES = tuple(s.value for s in BundleStatus)


class ProgramTemplate(Base):
    """An offer every coach of the site can sell: what a new bundle starts from."""

    __tablename__ = "program_templates"
    __table_args__ = (
        CheckConstraint(f"planned_count > 0 AND planned_count <= {MAX_SESSIONS}", name="count"),
        CheckConstraint("total_price >= 0", name="price_non_negative"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 1440", name="duration"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    planned_count: Mapped[int] = mapped_column(Integer)
    total_price: Mapped[int] = mapped_column(Integer)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    location: Mapped[str | None] = mapped_column(String(255))
    video_url: Mapped[str | None] = mapped_column(String(500))
    #: Archived templates are kept (bundles name them) but no longer offered.
    archived_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    documents: Mapped[list[TemplateDocument]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="TemplateDocument.id",
        lazy="raise_on_sql",
    )


class TemplateDocument(Base):
    """A default PDF of a template, copied onto each session of the bundles made from it."""

    __tablename__ = "program_template_documents"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("program_templates.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    template: Mapped[ProgramTemplate] = relationship(back_populates="documents")


class Bundle(Base):
    """A pack of sessions sold to one client by one coach, for one total price.

    The total is the bundle's own: it was spread over the sessions when they were
    made, and a session's price edited later leaves it as agreed.
    """

    __tablename__ = "bundles"
    __table_args__ = (
        CheckConstraint(f"status IN {BUNDLE_STATUSES!r}", name="status"),
        CheckConstraint(f"planned_count > 0 AND planned_count <= {MAX_SESSIONS}", name="count"),
        CheckConstraint("total_price >= 0", name="price_non_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        Index("ix_bundles_coach_status", "coach_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_templates.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    planned_count: Mapped[int] = mapped_column(Integer)
    total_price: Mapped[int] = mapped_column(Integer)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default=BundleStatus.ACTIVE.value)
    #: What sessions added later inherit (the wizard's common duration, place and link).
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    location: Mapped[str | None] = mapped_column(String(255))
    video_url: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]
    #: When "Send confirmations" last queued something for this bundle.
    confirmations_sent_at: Mapped[datetime | None]

    client: Mapped[User] = relationship(foreign_keys=[client_id], lazy="raise_on_sql")
    coach: Mapped[User] = relationship(foreign_keys=[coach_id], lazy="raise_on_sql")


class BundleDraft(Base):
    """The new-bundle wizard's state between its steps, so that going back keeps everything.

    ``data`` holds the offer, the documents already stored for it and the scheduled
    slots (see ``core.programs.wizard``). Drafts left behind are swept after a week.
    """

    __tablename__ = "bundle_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
