"""Which add-ons the site owner switched on, and the last failure each one reported."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class AddonState(Base):
    __tablename__ = "addon_states"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    #: What its migrations created, recorded at activation, so that ``coachdesk addons
    #: purge`` can remove its data even after the add-on itself was uninstalled.
    #: (Deferred: the host reads states on every request and needs neither.)
    tables: Mapped[list[str] | None] = mapped_column(JSON, deferred=True)
    revisions: Mapped[list[str] | None] = mapped_column(JSON, deferred=True)
