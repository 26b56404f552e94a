"""Coach home: today's and upcoming sessions as cards, and the Statistics tab."""

from __future__ import annotations

from datetime import timedelta

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts.access import staff_required
from core.accounts.models import Role
from core.accounts.permissions import capability_required, has_capability
from core.coach import stats
from core.coach.blueprint import slug_route
from core.coach.queries import (
    day_start,
    local_today,
    page_arg,
    paginate,
    sessions_query,
    viewer_zone,
)
from core.db import utcnow
from core.plugins import collect
from core.sessions.models import OPEN_STATUSES, CoachingSession, SessionStatus
from core.settings import get_option
from core.validation import db_int

#: Cards per page in each list (today's, then the upcoming ones): a card is the costliest
#: markup of the workspace (two small forms each), and a busy admin has hundreds a day.
PER_PAGE = 10
HOME_TABS = ("upcoming", "statistics")


def open_session_redirect() -> ResponseReturnValue | None:
    """``?open_session=<id>`` on a coach page opens that session's editor, then comes back."""
    session_id = request.args.get("open_session", type=db_int)
    if session_id is None:
        return None
    back_to = request.full_path.replace(f"open_session={session_id}", "").rstrip("?&")
    return redirect(url_for("coach.edit_session", session_id=session_id, next=back_to))


@slug_route("coach_home")
@staff_required
@capability_required("view_sessions")
def home() -> ResponseReturnValue:
    opened = open_session_redirect()
    if opened is not None:
        return opened
    tab = request.args.get("tab", "upcoming")
    if tab not in HOME_TABS:
        tab = "upcoming"
    tabs = [
        {"key": "upcoming", "label": _("Upcoming sessions")},
        {"key": "statistics", "label": _("Statistics")},
    ]
    context = {"tabs": tabs, "tab": tab, "can_edit": has_capability(current_user, "edit_sessions")}
    if tab == "statistics":
        context.update(statistics_context())
    else:
        context.update(upcoming_context())
    return render_template("coach/home.html", **context)


def upcoming_context() -> dict[str, object]:
    """Today's sessions (all of them, even finished), then the open ones from tomorrow on;
    each list paginated on its own (``today_page``, ``page``)."""
    tz = viewer_zone()
    now = utcnow()
    today = local_today(tz, now)
    start, tomorrow = day_start(today, tz), day_start(today + timedelta(days=1), tz)
    base = sessions_query(current_user).order_by(CoachingSession.starts_at, CoachingSession.id)
    todays = paginate(
        base.where(CoachingSession.starts_at >= start, CoachingSession.starts_at < tomorrow),
        page_arg("today_page"),
        PER_PAGE,
    )
    later = paginate(
        base.where(
            CoachingSession.starts_at >= tomorrow,
            CoachingSession.status.in_([*OPEN_STATUSES, SessionStatus.AVAILABLE.value]),
        ),
        page_arg(),
        PER_PAGE,
    )
    show_coach = current_user.role == Role.ADMIN
    return {"today": today, "todays": todays, "later": later, "now": now, "show_coach": show_coach}


def statistics_context() -> dict[str, object]:
    tz = viewer_zone()
    now = utcnow()
    today = local_today(tz, now)
    currency = str(get_option("general.currency"))
    cards = sorted(collect("coach_statistics_cards", viewer=current_user), key=lambda c: c.order)
    revenue = stats.revenue_by_month(current_user, today, tz, currency)
    return {
        "figures": stats.month_figures(current_user, today, tz),
        "revenue_chart": stats.revenue_chart(revenue, currency),
        "cards": cards,
        "today": today,
    }
