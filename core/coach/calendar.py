"""The coach calendar: month and week views, server-rendered, prev/next by URL.

On a phone the same markup reads as an agenda (days as a list, CSS only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import case, func, literal, select

from core.accounts.access import staff_required
from core.accounts.models import Role, User
from core.accounts.permissions import capability_required, has_capability
from core.coach.blueprint import slug_route
from core.coach.home import open_session_redirect
from core.coach.queries import (
    add_months,
    coach_scope,
    day_start,
    days_between,
    local_today,
    month_start,
    viewer_zone,
)
from core.db import db, utcnow
from core.sessions.models import CoachingSession
from core.validation import DateOutOfRange, parse_day

VIEWS = ("month", "week")
#: Sessions listed in a month cell before "+ n more" (which opens that week).
MONTH_CELL_LIMIT = 4
#: Sessions listed in a day of the week view (one every half hour, all day long); an
#: administrator's busier days link to Admin → Sessions for the rest.
WEEK_CELL_LIMIT = 48


@dataclass(frozen=True)
class Entry:
    """One session as the calendar shows it (plain values: no ORM object per row)."""

    id: int
    local_start: datetime
    duration_minutes: int
    status: str
    title: str
    client_name: str | None


@dataclass(frozen=True)
class Day:
    """The sessions a calendar day shows, and how many it has in all."""

    entries: list[Entry]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.entries)


@slug_route("calendar")
@staff_required
@capability_required("view_sessions")
def calendar() -> ResponseReturnValue:
    opened = open_session_redirect()
    if opened is not None:
        return opened
    tz = viewer_zone()
    today = local_today(tz, utcnow())
    view = request.args.get("view", "month")
    view = view if view in VIEWS else "month"
    try:
        anchor = parse_day(request.args.get("date")) or today
    except DateOutOfRange as exc:
        flash(str(exc), "warning")
        anchor = today
    if view == "month":
        first = month_start(anchor)
        start = first - timedelta(days=first.weekday())
        last = add_months(first, 1)
        end = last + timedelta(days=(7 - last.weekday()) % 7)
        prev_date, next_date = add_months(first, -1), add_months(first, 1)
    else:
        start = anchor - timedelta(days=anchor.weekday())
        end = start + timedelta(days=7)
        first = start
        prev_date, next_date = start - timedelta(days=7), end
    limit = MONTH_CELL_LIMIT if view == "month" else WEEK_CELL_LIMIT
    by_day = entries_by_day(start, end, limit)
    days = days_between(start, end)
    return render_template(
        "coach/calendar.html",
        view=view,
        anchor=anchor,
        first=first,
        today=today,
        weeks=[days[i : i + 7] for i in range(0, len(days), 7)],
        days=days,
        by_day=by_day,
        is_admin=current_user.role == Role.ADMIN,
        prev_url=url_for("coach.calendar", view=view, date=prev_date.isoformat()),
        next_url=url_for("coach.calendar", view=view, date=next_date.isoformat()),
        today_url=url_for("coach.calendar", view=view),
        can_edit=has_capability(current_user, "edit_sessions"),
        here=request.full_path.rstrip("?"),
    )


def _day_index(starts_at: Any, bounds: list[datetime], first: int, end: int) -> Any:
    """SQL: the index of the day in ``first``..``end - 1`` where ``starts_at`` falls (day ``i``
    runs from ``bounds[i]`` to ``bounds[i + 1]``), as nested CASEs that halve the days at
    each step: six comparisons a session for a month view, not twenty."""
    if end - first == 1:
        return literal(first)
    middle = (first + end) // 2
    return case(
        (starts_at < bounds[middle], _day_index(starts_at, bounds, first, middle)),
        else_=_day_index(starts_at, bounds, middle, end),
    )


def entries_by_day(start: date, end: date, limit: int) -> dict[date, Day]:
    """Sessions of the viewer's scope between two local days, grouped by local day (one query).

    Only the first ``limit`` of each day are read, with the day's count: the database
    numbers them, so an administrator's month (thousands of sessions) reads a few hundred.
    Days are told apart by their UTC bounds (nested CASEs), right across a DST change.
    """
    tz = viewer_zone()
    days = days_between(start, end)
    bounds = [day_start(day, tz) for day in [*days, end]]
    S = CoachingSession
    day_index = _day_index(S.starts_at, bounds, 0, len(days))
    dated = (
        select(S.id, S.starts_at, S.duration_minutes, S.status, S.title, S.client_id)
        .add_columns(day_index.label("day"))
        .where(coach_scope(current_user), S.starts_at >= bounds[0], S.starts_at < bounds[-1])
        .subquery()
    )
    ranked = select(
        dated,
        func.row_number()
        .over(partition_by=dated.c.day, order_by=(dated.c.starts_at, dated.c.id))
        .label("rank"),
        func.count().over(partition_by=dated.c.day).label("total"),
    ).subquery()
    rows = db.execute(
        select(ranked, User.first_name, User.last_name)
        .outerjoin(User, User.id == ranked.c.client_id)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.starts_at, ranked.c.id)
    )
    grouped: dict[date, Day] = {}
    for row in rows:
        name = f"{row.first_name} {row.last_name}".strip() if row.first_name is not None else None
        entry = Entry(
            row.id, row.starts_at.astimezone(tz), row.duration_minutes, row.status, row.title, name
        )
        day = grouped.setdefault(days[row.day], Day([], row.total))
        day.entries.append(entry)
    return grouped
