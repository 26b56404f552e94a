"""Premium's own tables: the Checkout Sessions it opened, and the Stripe events it handled.

Created by Premium's own migration branch (``addons/premium/migrations``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import api


class CheckoutStatus(enum.StrEnum):
    OPEN = "open"  # the client may still pay on Stripe's page
    PROCESSING = "processing"  # completed with a delayed method: the money is not there yet
    COMPLETE = "complete"  # paid and recorded
    EXPIRED = "expired"  # nobody paid in time: a new Pay opens a new one
    FAILED = "failed"  # the delayed payment failed


class PremiumCheckout(api.Base):
    """A Stripe Checkout Session opened for one client and a set of their sessions."""

    __tablename__ = "premium_checkouts"
    __table_args__ = (UniqueConstraint("basket", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    #: Coachdesk session ids paid by this checkout, ascending.
    session_ids: Mapped[list[int]] = mapped_column(JSON)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[int]  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), default=CheckoutStatus.OPEN.value)
    payment_intent: Mapped[str | None] = mapped_column(String(255), index=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    #: sha256 of what is paid (client, sessions, amounts, currency): the same basket
    #: reuses its open checkout; ``attempt`` counts the checkouts opened for it.
    basket: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=api.utcnow)
    expires_at: Mapped[datetime | None]

    def metadata_dict(self) -> dict[str, Any]:
        return {
            "coachdesk_session_ids": ",".join(str(i) for i in self.session_ids),
            "coachdesk_client_id": str(self.client_id),
        }


class PremiumWebhookEvent(api.Base):
    """A Stripe event handled once: its id is unique, so a replay or a twin does nothing."""

    __tablename__ = "premium_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=api.utcnow)
