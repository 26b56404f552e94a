"""The sessions list: every session of the site, filtered, a page at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, Subquery, func, or_, select
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import Optional, ValidationError

from core.accounts.access import admin_required
from core.accounts.models import Role, User
from core.admin.blueprint import bp, choices, paginate, session_urls, site_midnight
from core.admin.session_rows import (
    awaiting_confirmation,
    badge_labels,
    table_rows,
)
from core.admin.settings import strip
from core.db import db, utcnow
from core.sessions.models import CoachingSession
from core.validation import db_int, supported_date


class SessionFilters(FlaskForm):
    """The filter bar (a GET form: bookmarkable, no CSRF needed to read)."""

    class Meta:
        csrf = False

    client = StringField(_l("Client"), filters=[strip], render_kw={"type": "search"})
    # The three lists' choices are set per request (set_choices): the people of the site,
    # and the status labels the table translates anyway.
    coach = SelectField(_l("Coach"), default="")
    status = SelectField(_l("Status"), default="")
    payment = SelectField(_l("Payment"), default="")
    start = DateField(_l("From"), validators=[Optional(), supported_date])
    end = DateField(_l("To"), validators=[Optional(), supported_date])
    pending_confirmation = BooleanField(_l("Never confirmed to the client"))

    def validate_end(self, field: Any) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end date is before the start date."))

    def set_choices(self, labels: dict[str, Any]) -> None:
        """Coaches and administrators by name; statuses and payments from ``labels``
        (:func:`badge_labels`: translated once for the page, not again per option)."""
        staff = db.execute(
            select(User.id, User.first_name, User.last_name)
            .where(User.role.in_([Role.COACH.value, Role.ADMIN.value]))
            .order_by(User.first_name, User.last_name)
        ).all()
        self.coach.choices = choices(
            [("", _("Any coach")), *[(str(s.id), f"{s.first_name} {s.last_name}") for s in staff]]
        )
        self.status.choices = choices([("", _("Any status")), *labels["status"].items()])
        self.payment.choices = choices([("", _("Any payment")), *labels["payment"].items()])


def session_order(filters: SessionFilters) -> tuple[Any, ...]:
    """Latest first, unless a start date is set: then in calendar order from that day."""
    if filters.start.data:
        return CoachingSession.starts_at, CoachingSession.id
    return CoachingSession.starts_at.desc(), CoachingSession.id.desc()


def filtered_sessions(filters: SessionFilters) -> Select[Any]:
    """The ids of the sessions the filters select, in the list's order (narrow rows: the
    sort and the count read indexes, not whole sessions with their people joined)."""
    stmt = select(CoachingSession.id)
    if filters.coach.data and filters.coach.data.isdigit():
        stmt = stmt.where(CoachingSession.coach_id == int(filters.coach.data))
    if filters.client.data:
        like = f"%{filters.client.data.lower()}%"
        stmt = stmt.where(
            CoachingSession.client_id.in_(
                select(User.id).where(
                    User.role == Role.CLIENT.value,
                    or_(
                        func.lower(User.first_name + " " + User.last_name).like(like),
                        func.lower(User.email).like(like),
                    ),
                )
            )
        )
    if filters.status.data:
        stmt = stmt.where(CoachingSession.status == filters.status.data)
    if filters.payment.data:
        stmt = stmt.where(CoachingSession.payment_status == filters.payment.data)
    if filters.start.data:
        stmt = stmt.where(CoachingSession.starts_at >= site_midnight(filters.start.data))
    if filters.end.data:
        end = site_midnight(filters.end.data + timedelta(days=1))
        stmt = stmt.where(CoachingSession.starts_at < end)
    if filters.pending_confirmation.data:
        stmt = stmt.where(awaiting_confirmation(utcnow()))
    return stmt.order_by(*session_order(filters))


def with_people(ids: Subquery, order: tuple[Any, ...]) -> Select[Any]:
    """The table rows of one page of sessions (``ids``), in ``order``."""
    return table_rows().join(ids, CoachingSession.id == ids.c.id).order_by(*order)


@bp.route("/sessions")
@admin_required
def sessions() -> ResponseReturnValue:
    filters = SessionFilters(formdata=request.args)
    labels = badge_labels()
    filters.set_choices(labels)
    if not filters.validate():  # a filter that makes no sense is shown with why, and unused
        for field in filters:
            if field.errors:
                field.data = None
    order = session_order(filters)
    page = paginate(
        filtered_sessions(filters),
        request.args.get("page", 1, type=db_int),
        load=lambda ids: with_people(ids, order),
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/sessions.html",
        filters=filters,
        page=page,
        page_url=lambda n: url_for("admin.sessions", **args, page=n),
        session_url=session_urls(),
        labels=labels,
        filtered=bool(args),
        new_session_url=url_for("coach.new_session"),
    )
