"""Physical's own tables, created by its own migration branch (``addons/physical/migrations``).

Values are integers in thousandths of their kind's canonical unit (``units.SCALE``).
A client has at most one entry per day: the entry of a day is completed or corrected
rather than doubled, so charts and "change since the previous entry" have one value
per date.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import api


class PhysicalMeasure(api.Base):
    """A measure (built-in or custom): its kind, its place in the list, whether it shows."""

    __tablename__ = "physical_measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    #: Custom measures only: built-in ones are labelled in the reader's language.
    label: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)
    shown: Mapped[bool] = mapped_column(default=True)
    builtin: Mapped[bool] = mapped_column(default=False)


class PhysicalEntry(api.Base):
    """One day's measurements of one client."""

    __tablename__ = "physical_entries"
    __table_args__ = (UniqueConstraint("client_id", "measured_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    measured_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=api.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=api.utcnow)


class PhysicalValue(api.Base):
    """The value of one measure in one entry."""

    __tablename__ = "physical_values"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("physical_entries.id", ondelete="CASCADE"), primary_key=True
    )
    measure_id: Mapped[int] = mapped_column(
        ForeignKey("physical_measures.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    value: Mapped[int] = mapped_column(BigInteger)


class PhysicalTarget(api.Base):
    """A client's target for one measure, set by their coach (one per measure)."""

    __tablename__ = "physical_targets"
    __table_args__ = (UniqueConstraint("client_id", "measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("physical_measures.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(BigInteger)
    #: The latest value when the target was set: tells whether it is a goal up or down.
    start: Mapped[int | None] = mapped_column(BigInteger)
    due_on: Mapped[date | None]
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(default=api.utcnow)


class PhysicalPreference(api.Base):
    """A client's own choice of units (else the site's default)."""

    __tablename__ = "physical_preferences"

    client_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    units: Mapped[str] = mapped_column(String(10))
