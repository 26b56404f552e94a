"""Premium's part of a client's data export and erasure (the ``personal_data_*`` hooks).

Checkouts are money facts (what was paid, when, under which Stripe reference): erasure
keeps them, as accounting law requires, and drops what could lead back to the person,
the Checkout link (Stripe's page showed their email). Stripe keeps its own copy: the
site owner erases the customer there too (Stripe Dashboard → Customers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from addons.premium.models import PremiumCheckout
from core import api
from hooks import hookimpl


def _checkouts(client: api.User) -> list[PremiumCheckout]:
    query = select(PremiumCheckout).where(PremiumCheckout.client_id == client.id)
    return list(api.db.scalars(query.order_by(PremiumCheckout.id)))


@hookimpl
def personal_data_export(client: api.User) -> dict[str, Any] | None:
    checkouts = _checkouts(client)
    if not checkouts:
        return None
    return {
        "checkouts": [
            {
                "session_ids": c.session_ids,
                "amount": c.amount,
                "currency": c.currency,
                "status": c.status,
                "created_at": c.created_at.isoformat(),
                "stripe_checkout_session": c.stripe_session_id,
                "stripe_payment_intent": c.payment_intent,
            }
            for c in checkouts
        ]
    }


@hookimpl
def personal_data_erase(client: api.User) -> str | None:
    result = api.db.execute(
        update(PremiumCheckout).where(PremiumCheckout.client_id == client.id).values(url=None)
    )
    count = result.rowcount  # type: ignore[attr-defined]
    if not count:
        return None
    return f"{count} Stripe checkouts kept (accounting), their links dropped"
