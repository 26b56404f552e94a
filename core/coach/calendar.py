"""The coach calendar: month and week views, server-rendered, prev/next by URL.

On a phone the same markup reads as an agenda (days as a list, CSS only).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from core.accounts.access import staff_required
from core.accounts.models import User
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


@dataclass(frozen=True)
class Entry:
    """One session as the calendar shows it (plain values: no ORM object per row)."""

    id: int
    local_start: datetime
    duration_minutes: int
    status: str
    title: str
    client_name: str | None


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
    by_day = entries_by_day(start, end)
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
        limit=MONTH_CELL_LIMIT if view == "month" else None,
        prev_url=url_for("coach.calendar", view=view, date=prev_date.isoformat()),
        next_url=url_for("coach.calendar", view=view, date=next_date.isoformat()),
        today_url=url_for("coach.calendar", view=view),
        can_edit=has_capability(current_user, "edit_sessions"),
        here=request.full_path.rstrip("?"),
    )


def entries_by_day(start: date, end: date) -> dict[date, list[Entry]]:
    """Sessions of the viewer's scope between two local days, grouped by local day (one query)."""
    tz = viewer_zone()
    rows = db.execute(
        select(
            CoachingSession.id,
            CoachingSession.starts_at,
            CoachingSession.duration_minutes,
            CoachingSession.status,
            CoachingSession.title,
            User.first_name,
            User.last_name,
        )
        .outerjoin(User, User.id == CoachingSession.client_id)
        .where(
            coach_scope(current_user),
            CoachingSession.starts_at >= day_start(start, tz),
            CoachingSession.starts_at < day_start(end, tz),
        )
        .order_by(CoachingSession.starts_at, CoachingSession.id)
    )
    grouped: dict[date, list[Entry]] = defaultdict(list)
    for sid, starts_at, minutes, status, title, first, last in rows:
        local = starts_at.astimezone(tz)
        name = f"{first} {last}".strip() if first is not None else None
        grouped[local.date()].append(Entry(sid, local, minutes, status, title, name))
    return grouped
