"""The admin dashboard: the site's day at a glance, what needs attention, and shortcuts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from core.accounts.access import admin_required
from core.accounts.models import Role, User
from core.admin.blueprint import bp, session_url, session_urls, site_midnight
from core.admin.session_rows import awaiting_confirmation, badge_labels, table_rows
from core.admin.setup import setup_completed
from core.db import db, utcnow
from core.i18n import money, site_timezone
from core.operations.health import WORKER_STALE_AFTER, last_heartbeat, outbox_figures
from core.paging import capped_count
from core.payments.models import Refund
from core.payments.queries import sessions_needing_attention
from core.sessions.models import CoachingSession, PaymentStatus, SessionStatus
from core.settings import get_option
from hooks import StatCard

#: Statuses of a session that does not take place (not counted, not billed).
NOT_HELD = (SessionStatus.CANCELLED.value, SessionStatus.AVAILABLE.value)
#: Today's sessions shown on the dashboard; a busier day links to the whole list, so that
#: the page stays the same size whatever the day holds.
TODAY_ROWS = 25
#: An alert's count stops here ("more than 100"): enough to act on, cheap to count.
ALERT_COUNT_CAP = 100


@dataclass(frozen=True)
class Alert:
    """Something the site owner should look at, with where to go to fix it."""

    kind: str  # "error", "warning" or "info" (a flash style)
    text: str
    url: str | None = None
    link_label: str | None = None


@dataclass(frozen=True)
class DayFigures:
    """What the dashboard counts for one day of the site's calendar."""

    day: date
    sessions: int
    pending_by_currency: dict[str, int]
    dead_emails: int
    pending_emails: int
    awaiting_confirmation: int
    refunded_by_currency: dict[str, int]
    worker_last_run: datetime | None = None
    now: datetime | None = None
    #: More sessions await confirmation than ``awaiting_confirmation`` (the count stopped).
    awaiting_capped: bool = False

    @property
    def worker_down(self) -> bool:
        """No worker pass recently: emails and reminders wait."""
        last, now = self.worker_last_run, self.now or utcnow()
        return last is None or now - last > WORKER_STALE_AFTER


_START, _END = bindparam("start"), bindparam("end")
_DAY = (CoachingSession.starts_at >= _START) & (CoachingSession.starts_at < _END)
_HELD = CoachingSession.status.not_in(NOT_HELD)
# Built once, run with the day's bounds: building a statement costs more than running it.
_SESSIONS_OF_DAY = select(func.count(CoachingSession.id)).where(_DAY, _HELD)
_PENDING_OF_DAY = (
    select(CoachingSession.currency, func.sum(CoachingSession.price_amount))
    .where(_DAY, _HELD, CoachingSession.payment_status == PaymentStatus.PENDING.value)
    .where(CoachingSession.price_amount > 0)
    .group_by(CoachingSession.currency)
    .order_by(CoachingSession.currency)
)
_REFUNDED_OF_DAY = (
    select(Refund.currency, func.sum(Refund.amount))
    .where(Refund.refunded_at >= _START, Refund.refunded_at < _END)
    .group_by(Refund.currency)
    .order_by(Refund.currency)
)


def day_figures(day: date, now: datetime) -> DayFigures:
    """Figures for ``day`` in the site's time zone: a handful of aggregate queries."""
    bounds = {"start": site_midnight(day), "end": site_midnight(day + timedelta(days=1))}
    sessions = db.scalar(_SESSIONS_OF_DAY, bounds) or 0
    pending_rows = db.execute(_PENDING_OF_DAY, bounds).all()
    outbox = outbox_figures(now)
    awaiting, awaiting_capped = capped_count(
        select(CoachingSession.id).where(awaiting_confirmation(now)), ALERT_COUNT_CAP
    )
    refunded_rows = db.execute(_REFUNDED_OF_DAY, bounds).all()
    return DayFigures(
        day=day,
        sessions=sessions,
        pending_by_currency={currency: int(total) for currency, total in pending_rows},
        dead_emails=outbox.dead,
        pending_emails=outbox.backlog,
        awaiting_confirmation=awaiting,
        awaiting_capped=awaiting_capped,
        refunded_by_currency={currency: int(total) for currency, total in refunded_rows},
        worker_last_run=last_heartbeat(),
        now=now,
    )


def _worker_text(figures: DayFigures) -> str:
    if figures.worker_last_run is None:
        return _("Never")
    now = figures.now or utcnow()
    return format_timedelta(figures.worker_last_run - now, add_direction=True)


def _amounts_text(by_currency: dict[str, int]) -> str:
    if not by_currency:
        return money(0, get_option("general.currency"))
    return " + ".join(money(total, cur) for cur, total in by_currency.items())


def stat_cards(figures: DayFigures) -> list[StatCard]:
    return [
        StatCard("sessions-today", _("Sessions today"), str(figures.sessions)),
        StatCard(
            "pending-today",
            _("Pending today"),
            _amounts_text(figures.pending_by_currency),
            hint=_("Price of today's sessions not yet paid"),
        ),
        StatCard(
            "refunded-today",
            _("Refunded today"),
            _amounts_text(figures.refunded_by_currency),
            hint=_("Money given back today"),
        ),
        StatCard(
            "dead-emails",
            _("Undelivered emails"),
            str(figures.dead_emails),
            hint=_("Gave up after every retry"),
        ),
        StatCard(
            "pending-emails",
            _("Emails waiting"),
            str(figures.pending_emails),
            hint=_("In the outbox"),
        ),
        StatCard(
            "worker-last-run",
            _("Worker last run"),
            _worker_text(figures),
            hint=_("Sends emails and reminders"),
        ),
    ]


def alerts(figures: DayFigures, coach_count: int) -> list[Alert]:
    """What needs the site owner today, most urgent first."""
    found: list[Alert] = [
        Alert("warning", f"{title}: {notice}", session_url(sid), _("Open the session"))
        for sid, title, notice in sessions_needing_attention()
    ]
    if figures.dead_emails:
        found.append(
            Alert(
                "error",
                ngettext(
                    "%(num)d email could not be delivered.",
                    "%(num)d emails could not be delivered.",
                    figures.dead_emails,
                ),
                url_for("emails.outbox"),
                _("See them"),
            )
        )
    if figures.worker_down:
        text = (
            _("No worker has run yet: emails and reminders are not being sent.")
            if figures.worker_last_run is None
            else _(
                "The worker last ran %(when)s: emails and reminders are not being sent.",
                when=_worker_text(figures),
            )
        )
        found.append(Alert("error", text))
    if figures.pending_by_currency:
        found.append(
            Alert(
                "warning",
                _(
                    "%(amount)s is pending for today's sessions.",
                    amount=_amounts_text(figures.pending_by_currency),
                ),
                url_for(
                    "admin.sessions",
                    payment=PaymentStatus.PENDING.value,
                    start=figures.day.isoformat(),
                    end=figures.day.isoformat(),
                ),
                _("Review payments"),
            )
        )
    if figures.awaiting_confirmation:
        found.append(
            Alert(
                "info",
                _(
                    "More than %(num)d upcoming sessions were never confirmed to their clients.",
                    num=figures.awaiting_confirmation,
                )
                if figures.awaiting_capped
                else ngettext(
                    "%(num)d upcoming session was never confirmed to its client.",
                    "%(num)d upcoming sessions were never confirmed to their clients.",
                    figures.awaiting_confirmation,
                ),
                url_for("admin.sessions", pending_confirmation="1"),
                _("Review"),
            )
        )
    if not coach_count:
        found.append(Alert("info", _("No coach yet."), url_for("admin.user_new"), _("Add a coach")))
    return found


@bp.route("/")
@admin_required
def dashboard() -> ResponseReturnValue:
    if not setup_completed():
        return redirect(url_for("admin.setup"))
    now = utcnow()
    figures = day_figures(now.astimezone(site_timezone()).date(), now)
    start = site_midnight(figures.day)
    todays = db.execute(
        table_rows()
        .where(CoachingSession.starts_at >= start)
        .where(CoachingSession.starts_at < site_midnight(figures.day + timedelta(days=1)))
        .order_by(CoachingSession.starts_at, CoachingSession.id)
        .limit(TODAY_ROWS + 1)
    ).all()
    coach_count = db.scalar(select(func.count(User.id)).where(User.role == Role.COACH.value)) or 0
    return render_template(
        "admin/dashboard.html",
        figures=figures,
        cards=stat_cards(figures),
        alerts=alerts(figures, coach_count),
        sessions=todays[:TODAY_ROWS],
        more_today=len(todays) > TODAY_ROWS,
        session_url=session_urls(),
        labels=badge_labels(),
        new_session_url=url_for("coach.new_session"),
        add_client_url=url_for("coach.add_client"),
    )
