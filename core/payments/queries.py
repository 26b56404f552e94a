"""Read-side money queries shared by every page that shows amounts: net of refunds.

Each helper is one statement whatever the number of sessions, so pages that use
them keep a constant SQL count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, literal_column, select, union_all
from sqlalchemy.orm import joinedload

from core.db import db
from core.payments.models import Attention, Payment, Refund
from core.sessions.models import CoachingSession


def refunded_of_payment() -> Any:
    """Correlated scalar: what was refunded of the enclosing query's ``Payment`` row."""
    return (
        select(func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.payment_id == Payment.id)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class SessionRefund:
    """What was paid for and refunded of one session (minor units, one currency)."""

    paid: int
    refunded: int
    currency: str

    @property
    def full(self) -> bool:
        return self.refunded >= self.paid


def refunds_by_session(session_ids: Iterable[int]) -> dict[int, SessionRefund]:
    """Sessions among ``session_ids`` with a refund, and how much (one statement)."""
    ids = list(session_ids)
    if not ids:
        return {}
    rows = db.execute(
        select(
            Payment.session_id,
            Payment.currency,
            func.sum(Payment.amount),
            func.sum(refunded_of_payment()),
        )
        .where(Payment.session_id.in_(ids))
        .group_by(Payment.session_id, Payment.currency)
    ).all()
    return {
        sid: SessionRefund(int(paid or 0), int(refunded), currency)
        for sid, currency, paid, refunded in rows
        if refunded
    }


def net_money_by(
    bucket: Callable[[ColumnElement[Any]], ColumnElement[int]], *where: ColumnElement[bool]
) -> Select[tuple[int, Any]]:
    """Money received net of refunds, per ``bucket`` of its time (payments by when they
    were paid, refunds by when they were given back), for the payments ``where`` selects
    (conditions on ``Payment``): rows (bucket, amount).

    Each side is summed per bucket before the two are added, so the union holds a few
    rows, not one per payment (half the time on SQLite). Refunds are few: they are read
    from the refunds table, each one's payment checked by primary key (EXISTS).
    """
    by_first_column = literal_column("1")
    paid = (
        select(bucket(Payment.paid_at).label("bucket"), func.sum(Payment.amount).label("amount"))
        .where(*where)
        .group_by(by_first_column)
    )
    refunded = (
        select(bucket(Refund.refunded_at), literal_column("0") - func.sum(Refund.amount))
        .where(select(Payment.id).where(Payment.id == Refund.payment_id, *where).exists())
        .group_by(by_first_column)
    )
    moves = union_all(paid, refunded).subquery("money_moves")
    return select(moves.c.bucket, func.sum(moves.c.amount)).group_by(moves.c.bucket)


@dataclass(frozen=True)
class MoneyTotals:
    """Per currency: received (gross), refunded, and what stays (net)."""

    received: dict[str, int]
    refunded: dict[str, int]

    @property
    def net(self) -> dict[str, int]:
        return {c: a - self.refunded.get(c, 0) for c, a in self.received.items()}


def money_totals_query(*where: ColumnElement[bool]) -> Select[tuple[str, Any, Any]]:
    """The statement of :func:`money_totals`: one built once with bound parameters saves
    building it on every page."""
    return (
        select(Payment.currency, func.sum(Payment.amount), func.sum(refunded_of_payment()))
        .join(CoachingSession, CoachingSession.id == Payment.session_id)
        .where(*where)
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    )


def money_totals(*where: ColumnElement[bool]) -> MoneyTotals:
    """Received and refunded per currency for the sessions ``where`` selects (one statement)."""
    return totals_of(db.execute(money_totals_query(*where)).all())


def totals_of(rows: Iterable[Any]) -> MoneyTotals:
    """The :class:`MoneyTotals` of the rows of a :func:`money_totals_query`."""
    rows = list(rows)
    return MoneyTotals(
        {currency: int(received or 0) for currency, received, _r in rows},
        {currency: int(refunded or 0) for currency, _p, refunded in rows if refunded},
    )


def recently_refunded(
    client_id: int, limit: int = 10
) -> list[tuple[CoachingSession, SessionRefund]]:
    """The client's sessions with a refund, latest refund first (three statements)."""
    latest = func.max(Refund.refunded_at)
    ids = db.scalars(
        select(Payment.session_id)
        .join(Refund, Refund.payment_id == Payment.id)
        .join(CoachingSession, CoachingSession.id == Payment.session_id)
        .where(CoachingSession.client_id == client_id)
        .group_by(Payment.session_id)
        .order_by(latest.desc(), Payment.session_id.desc())
        .limit(limit)
    ).all()
    if not ids:
        return []
    found = {
        s.id: s
        for s in db.scalars(
            select(CoachingSession)
            .where(CoachingSession.id.in_(ids))
            .options(joinedload(CoachingSession.coach))
        )
    }
    refunds = refunds_by_session(ids)
    return [(found[sid], refunds[sid]) for sid in ids]


def attention_notice(code: str) -> str:
    """What staff must do about a payment flagged with ``code`` (``Payment.attention``)."""
    if code == Attention.ALREADY_PAID:
        return _("Paid online although it was already paid: refund one of the payments.")
    return _("Paid online after it was cancelled: refund or reinstate.")


def attention_notices(session_id: int) -> list[str]:
    """The notices a session's flagged payments call for (one statement)."""
    codes = db.scalars(
        select(Payment.attention)
        .where(Payment.session_id == session_id, Payment.attention.is_not(None))
        .distinct()
        .order_by(Payment.attention)
    )
    return [attention_notice(code) for code in codes if code]


def sessions_needing_attention(limit: int = 10) -> list[tuple[int, str, str]]:
    """(session id, title, notice) for the latest flagged payments, site-wide (one statement)."""
    rows = db.execute(
        select(CoachingSession.id, CoachingSession.title, Payment.attention)
        .join(Payment, Payment.session_id == CoachingSession.id)
        .where(Payment.attention.is_not(None))
        .order_by(Payment.id.desc())
        .limit(limit)
    ).all()
    return [(sid, title, attention_notice(code)) for sid, title, code in rows]


def refundable_payments(session_ids: Iterable[int]) -> dict[int, list[tuple[Payment, int]]]:
    """Payments of these sessions with what is left to refund of each (one statement)."""
    ids = list(session_ids)
    if not ids:
        return {}
    rows = db.execute(
        select(Payment, Payment.amount - refunded_of_payment())
        .where(Payment.session_id.in_(ids))
        .order_by(Payment.paid_at, Payment.id)
    ).all()
    found: dict[int, list[tuple[Payment, int]]] = {}
    for payment, left in rows:
        found.setdefault(payment.session_id, []).append((payment, int(left)))
    return found
