"""Figures of the coach home Statistics tab: a few aggregate queries, whatever the data size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import ColumnElement, Select, bindparam, case, func, select

from core.accounts.access import clients_reachable_by_role
from core.accounts.models import User
from core.charts import Series, bar_chart
from core.coach.queries import (
    VIEWER,
    add_months,
    day_start,
    local_today,
    month_start,
    payment_scope_in_form,
    scope_form,
    scope_in_form,
    viewer_zone,
)
from core.db import UTCDateTime, db
from core.i18n import money
from core.payments.models import Payment
from core.payments.queries import net_money_by
from core.sessions.models import CoachingSession, SessionStatus
from core.sessions.queries import NOW, upcoming_clause
from core.settings import get_option

MONTHS = 12


@dataclass(frozen=True)
class MonthRevenue:
    """One bar of the revenue chart."""

    month: date
    label: str
    amount: int  # minor units


@dataclass(frozen=True)
class MonthFigures:
    total: int
    completed: int
    cancelled: int


def month_figures(viewer: User, today: date, tz: ZoneInfo) -> MonthFigures:
    """Sessions this (local) month: all, completed, cancelled, in one query."""
    start = day_start(month_start(today), tz)
    end = day_start(add_months(today, 1), tz)
    params = {"viewer_id": viewer.id, "start": start, "end": end}
    row = db.execute(_month_query(scope_form(viewer)), params).one()
    return MonthFigures(*(int(v or 0) for v in row))


@cache
def _month_query(form: str) -> Select[Any]:
    """:func:`month_figures`' statement, built once per form of scope."""
    s, status = CoachingSession, CoachingSession.status
    return select(
        func.count(),
        func.count(case((status == SessionStatus.COMPLETED.value, 1))),
        func.count(case((status == SessionStatus.CANCELLED.value, 1))),
    ).where(
        scope_in_form(form, VIEWER),
        s.starts_at >= bindparam("start", type_=UTCDateTime()),
        s.starts_at < bindparam("end", type_=UTCDateTime()),
        status != SessionStatus.AVAILABLE.value,
    )


@dataclass(frozen=True)
class Revenue:
    """Money received net of refunds: all time, and per local month for the last 12."""

    total: int
    months: list[MonthRevenue]


def revenue(viewer: User, today: date, tz: ZoneInfo, currency: str) -> Revenue:
    """All-time and monthly revenue in one scan of the money moves (one query), once per
    request: the summary card and the chart both show it.

    A refund counts in the month it was given back, as on a bank statement.
    """
    key = (viewer.id, today, tz.key, currency)
    computed: dict[tuple[object, ...], Revenue] = g.setdefault("_coach_revenue", {})
    if key not in computed:
        months = [add_months(today, -i) for i in range(MONTHS - 1, -1, -1)]
        bounds = [day_start(m, tz) for m in [*months, add_months(today, 1)]]
        params = {f"bound_{i}": bound for i, bound in enumerate(bounds)}
        params |= {"viewer_id": viewer.id, "currency": currency}
        sums = dict(db.execute(_revenue_query(scope_form(viewer)), params).all())
        computed[key] = Revenue(
            sum(int(amount or 0) for amount in sums.values()),
            [
                MonthRevenue(m, format_date(m, "MMM yy"), int(sums.get(index, 0) or 0))
                for index, m in enumerate(months, start=1)
            ],
        )
    return computed[key]


@cache
def _revenue_query(form: str) -> Select[tuple[int, Any]]:
    """:func:`revenue`'s statement, built once per form of scope: its 13 month bounds, the
    viewer and the currency are parameters (``bound_0`` … ``bound_12``)."""
    bounds = [bindparam(f"bound_{i}", type_=UTCDateTime()) for i in range(MONTHS + 1)]

    # Each payment's bucket: 0 before the first month, 1-12 the months, 13 after. One
    # CASE a row, not one per month: 3 times less work for the database.
    def bucket(at: ColumnElement[Any]) -> ColumnElement[int]:
        return case(*((at < bound, i) for i, bound in enumerate(bounds)), else_=len(bounds))

    scope = (payment_scope_in_form(form, VIEWER), Payment.currency == bindparam("currency"))
    return net_money_by(bucket, *scope)


def revenue_by_month(viewer: User, today: date, tz: ZoneInfo, currency: str) -> list[MonthRevenue]:
    """The bars of the revenue chart: the last 12 local months (see :func:`revenue`)."""
    return revenue(viewer, today, tz, currency).months


def revenue_chart(months: list[MonthRevenue], currency: str) -> Markup:
    """The bar chart of the monthly revenue, in money of the viewer's language.

    The three drawings repeat the same axis and bar values: each is formatted once.
    """
    formatted: dict[int, str] = {}

    def value_format(amount: float) -> str:
        minor = round(amount)
        if minor not in formatted:
            formatted[minor] = money(minor, currency)
        return formatted[minor]

    return bar_chart(
        _("Monthly revenue"),
        [Series(_("Revenue"), [m.amount for m in months])],
        x_labels=[m.label for m in months],
        value_format=value_format,
        empty_text=_("No payment recorded in the last 12 months yet."),
    )


@dataclass(frozen=True)
class Summary:
    clients: int
    sessions: int
    upcoming: int
    revenue: int
    currency: str


def summary(viewer: User, now: datetime) -> Summary:
    """Totals for the summary cards: clients, sessions, upcoming sessions, revenue."""
    currency = str(get_option("general.currency"))
    params = {"viewer_id": viewer.id, "now": now}
    clients = db.scalar(_clients_count_query(str(viewer.role)), params)
    sessions, upcoming_count = db.execute(_sessions_count_query(scope_form(viewer)), params).one()
    tz = viewer_zone()
    total = revenue(viewer, local_today(tz, now), tz, currency).total
    return Summary(int(clients or 0), int(sessions or 0), int(upcoming_count or 0), total, currency)


@cache
def _clients_count_query(role: str) -> Select[tuple[int]]:
    """How many clients staff of ``role`` reach (:func:`clients_reachable_by_role`)."""
    return select(func.count()).select_from(User).where(clients_reachable_by_role(role, VIEWER))


@cache
def _sessions_count_query(form: str) -> Select[tuple[int, int]]:
    """All sessions (open slots aside) and the upcoming ones, in a viewer's scope."""
    s = CoachingSession
    upcoming = case((upcoming_clause(NOW), 1))
    return select(func.count(), func.count(upcoming)).where(
        scope_in_form(form, VIEWER), s.status != SessionStatus.AVAILABLE.value
    )
