"""The coach calendar: month and week views, server-rendered, prev/next by URL.

On a phone the same markup reads as an agenda (days as a list, CSS only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from flask import flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import bindparam, case, func, literal, select

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
    here = request.full_path.rstrip("?")
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
        here=here,
        new_session_url=day_url("coach.new_session", date=DAY, next=here),
        week_url=day_url("coach.calendar", view="week", date=DAY),
    )


#: Stands in for the day in the values of :func:`day_url`.
DAY = date(1901, 2, 3).isoformat()


def day_url(endpoint: str, **values: Any) -> Callable[[date], str]:
    """``lambda day: url_for(endpoint, **values)`` with the value :data:`DAY` replaced by
    the day, and ``url_for`` run once: a month shows 42 days, and a route build costs more
    than the rest of a day's links. The marker day is built in and each day put in its
    place (an ISO date needs no quoting); should it not come out once and as is, every
    call goes through ``url_for``.
    """

    def build(day: date) -> str:
        return url_for(
            endpoint, **{k: day.isoformat() if v == DAY else v for k, v in values.items()}
        )

    head, found, tail = url_for(endpoint, **values).partition(DAY)
    if not found or DAY in tail:
        return build
    return lambda day: f"{head}{day.isoformat()}{tail}"


@cache
def _day_index(days: int) -> Any:
    """SQL: the index of the day in ``0``..``days - 1`` where a session starts, day ``i``
    running from the parameter ``day_<i>`` to ``day_<i + 1>`` (UTC instants, given by
    :func:`_day_bounds`). Nested CASEs halve the days at each step: six comparisons a
    session for a month view, not forty-two. Built once per process and number of days:
    building it cost 1.7 ms a month page."""

    def index(first: int, end: int) -> Any:
        if end - first == 1:
            return literal(first)
        middle = (first + end) // 2
        bound = bindparam(f"day_{middle}", type_=CoachingSession.starts_at.type)
        return case(
            (CoachingSession.starts_at < bound, index(first, middle)),
            else_=index(middle, end),
        )

    return index(0, days)


def _day_bounds(bounds: list[datetime]) -> dict[str, datetime]:
    """The parameters of :func:`_day_index` for these day bounds (the first and the last
    bound of the range are none: the range is filtered apart)."""
    return {f"day_{i}": bounds[i] for i in range(1, len(bounds) - 1)}


def entries_by_day(start: date, end: date, limit: int) -> dict[date, Day]:
    """Sessions of the viewer's scope between two local days, grouped by local day (one query).

    Only the first ``limit`` of each day are read, with the day's count: the database
    numbers them, so an administrator's month (thousands of sessions) reads a few hundred.
    The numbering reads only the sessions' start and id (an index holds them): the other
    columns are read for the sessions shown. Days are told apart by their UTC bounds
    (nested CASEs), right across a DST change.
    """
    tz = viewer_zone()
    days = days_between(start, end)
    bounds = [day_start(day, tz) for day in [*days, end]]
    S = CoachingSession
    dated = (
        select(S.id, S.starts_at, _day_index(len(days)).label("day"))
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
        select(
            ranked.c.id,
            ranked.c.starts_at,
            ranked.c.day,
            ranked.c.total,
            S.duration_minutes,
            S.status,
            S.title,
            User.first_name,
            User.last_name,
        )
        .join(S, S.id == ranked.c.id)
        .outerjoin(User, User.id == S.client_id)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.starts_at, ranked.c.id),
        _day_bounds(bounds),
    )
    grouped: dict[date, Day] = {}
    # Rows unpacked as tuples: a row's attributes cost a lookup each (a month reads 168 rows).
    for sid, starts_at, index, total, minutes, status, title, first_name, last_name in rows:
        name = f"{first_name} {last_name}".strip() if first_name is not None else None
        entry = Entry(sid, starts_at.astimezone(tz), minutes, status, title, name)
        day = grouped.get(days[index])
        if day is None:
            day = grouped[days[index]] = Day([], total)
        day.entries.append(entry)
    return grouped
