"""My clients: the clients the viewer reaches, searchable, sortable, paginated; Add client."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from wtforms.fields.choices import SelectChoice

from core.accounts.access import staff_required
from core.accounts.models import CoachClient, Role, User
from core.accounts.permissions import capability_required, has_capability
from core.accounts.service import AccountError, create_user
from core.accounts.views import landing_url
from core.coach.blueprint import slug_route
from core.coach.forms import AddClientForm
from core.coach.queries import (
    clients_query,
    coach_scope,
    page_arg,
    paginate,
    scope_form,
    scope_in_form,
)
from core.db import db, utcnow
from core.sessions.models import CoachingSession
from core.sessions.queries import upcoming_clause

PER_PAGE = 25
#: The sorts on the client's own columns: the page is chosen before its session columns are
#: read (for 25 clients, not for every client the viewer reaches).
ORDERS: dict[str, list[Any]] = {
    "name": [User.last_name, User.first_name, User.id],
    "-name": [User.last_name.desc(), User.first_name.desc(), User.id.desc()],
    "recent": [User.created_at.desc(), User.id.desc()],
}
SORTS: dict[str, Any] = {
    "name": _l("Name (A–Z)"),
    "-name": _l("Name (Z–A)"),
    "next": _l("Next session"),
    "recent": _l("Recently added"),
}


def next_start(client_id: Any, form: str, me: Any, now: Any) -> Select[tuple[Any]]:
    """When the client's next open session in the scope of a viewer of ``form`` whose id is
    ``me`` (:func:`scope_in_form`) starts. ``client_id``: an id, ``User.id`` in a subquery
    per client, or a bound parameter; ``now``: an instant or a bound parameter."""
    return select(func.min(CoachingSession.starts_at)).where(
        CoachingSession.client_id == client_id,
        scope_in_form(form, me, by_client=True),
        upcoming_clause(now),
    )


def _next_session_column() -> Any:
    viewer = scope_form(current_user), current_user.id
    return next_start(User.id, *viewer, utcnow()).correlate(User).scalar_subquery()


def _session_count_column() -> Any:
    return (
        select(func.count())
        .where(CoachingSession.client_id == User.id, coach_scope(current_user))
        .correlate(User)
        .scalar_subquery()
    )


def with_session_columns(clients: list[User], sees_sessions: bool) -> list[tuple[Any, ...]]:
    """(client, next session, session count) for each client of a page, in one query for
    the page (None, None without ``view_sessions``)."""
    if not sees_sessions or not clients:
        return [(client, None, None) for client in clients]
    columns = {
        client_id: (next_session, count)
        for client_id, next_session, count in db.execute(
            select(User.id, _next_session_column(), _session_count_column()).where(
                User.id.in_([client.id for client in clients])
            )
        )
    }
    return [(client, *columns[client.id]) for client in clients]


def search_clause(text: str) -> ColumnElement[bool]:
    """Every word must match a name, the email or the phone (case-insensitive)."""
    clauses = []
    for word in text.split():
        pattern = f"%{word.lower()}%"
        clauses.append(
            or_(
                func.lower(User.first_name).like(pattern),
                func.lower(User.last_name).like(pattern),
                func.lower(User.email).like(pattern),
                func.replace(func.coalesce(User.phone, ""), " ", "").like(
                    f"%{word.replace(' ', '')}%"
                ),
            )
        )
    return and_(*clauses)


@slug_route("my_clients")
@staff_required
@capability_required("view_clients")
def clients() -> ResponseReturnValue:
    """The list; its session columns (next session, count) need ``view_sessions`` too."""
    sees_sessions = has_capability(current_user, "view_sessions")
    sorts = {k: v for k, v in SORTS.items() if sees_sessions or k != "next"}
    q = request.args.get("q", "").strip()[:100]
    sort = request.args.get("sort", "name")
    sort = sort if sort in sorts else "name"
    rows = clients_query(current_user)
    if q:
        rows = rows.where(search_clause(q))
    if sort == "next":
        # NULLS LAST, not "IS NULL" then the value: the subquery runs once per client.
        next_session = _next_session_column().label("next_session")
        query = rows.add_columns(next_session, _session_count_column().label("sessions"))
        page = paginate(
            query.order_by(next_session.asc().nulls_last(), User.id),
            page_arg(),
            PER_PAGE,
            scalars=False,
        )
    else:
        page = paginate(rows.order_by(*ORDERS[sort]), page_arg(), PER_PAGE)
        page.items = with_session_columns(page.items, sees_sessions)
    return render_template(
        "coach/clients.html",
        page=page,
        q=q,
        sort=sort,
        sorts=sorts,
        sees_sessions=sees_sessions,
        can_create=has_capability(current_user, "create_clients"),
    )


@slug_route("my_clients", "/new", methods=["GET", "POST"])
@staff_required
@capability_required("create_clients")
def add_client() -> ResponseReturnValue:
    """Add a client (assigned to the coach who adds it); optionally email login details."""
    form = AddClientForm()
    if current_user.role == Role.ADMIN:
        coaches = db.scalars(
            select(User)
            .where(User.role == Role.COACH.value, User.is_active)
            .order_by(User.last_name, User.first_name)
        )
        form.coach_id.choices = [SelectChoice("", _("— No coach yet —"))] + [
            SelectChoice(str(c.id), c.full_name) for c in coaches
        ]
    else:
        del form.coach_id  # a coach's new client is theirs
    if form.validate_on_submit():
        try:
            client = create_user(
                email=form.email.data or "",
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                phone=form.phone.data,
                role=Role.CLIENT,
            )
        except AccountError:  # taken, maybe a moment ago by someone else adding them too
            form.email.errors = [_("An account with this email already exists.")]
        else:
            coach_id = form.coach_id.data if "coach_id" in form else current_user.id
            if coach_id is not None:
                db.add(CoachClient(coach_id=coach_id, client_id=client.id))
            send = request.form.get("action") == "send"
            if send:
                from core.emails.accounts import send_login_details

                send_login_details(client)
            db.commit()
            flash(
                _(
                    "%(name)s was added and will receive their login details by email.",
                    name=client.full_name,
                )
                if send
                else _("%(name)s was added. No email was sent.", name=client.full_name),
                "success",
            )
            if not has_capability(current_user, "view_clients"):
                return redirect(landing_url(current_user))
            return redirect(url_for("coach.profile", client_id=client.id))
    return render_template("coach/add_client.html", form=form)
