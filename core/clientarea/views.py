"""The client area: one page whose tabs come from the ``client_area_tabs`` hook.

Each tab has its own URL (``/<slug>/<key>``) and works without JavaScript. Beside the
tabs: cancelling a session (a confirmation page, then a POST that re-checks
everything), one session as an .ics file, and the private calendar feed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from core.accounts.access import client_required, public
from core.accounts.models import Role
from core.accounts.views import landing_url
from core.clientarea.calendar import ICS_MIMETYPE, calendar_bytes, client_for_feed, feed_sessions
from core.clientarea.cards import shown_cards
from core.db import db, utcnow
from core.plugins import render_tab, tabs_from
from core.sessions.access import reachable_session
from core.sessions.models import CoachingSession, SessionStatus
from core.sessions.service import cancel_session, client_can_cancel
from core.settings import get_option
from hooks import Tab

bp = Blueprint("clientarea", __name__)


def client_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Clients only; staff are sent to their own home, visitors to sign in and back.

    Declared like ``client_required`` (``access``), plus ``sends_others_home`` so that
    the route × role walk accepts the redirect instead of a 403.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.role != Role.CLIENT:
            return redirect(landing_url(current_user))
        return view(*args, **kwargs)

    guarded = login_required(wrapper)
    guarded.access = frozenset({Role.CLIENT.value})  # type: ignore[attr-defined]
    guarded.sends_others_home = True  # type: ignore[attr-defined]
    return guarded


def client_tabs() -> list[Tab]:
    return tabs_from("client_area_tabs", client=current_user)


@client_page
def index() -> ResponseReturnValue:
    tabs = client_tabs()
    if tabs:
        return redirect(url_for("clientarea.tab", key=tabs[0].key))
    return render_template("clientarea/page.html", tabs=[], active=None, body=None, cards=[])


@client_page
def tab(key: str) -> ResponseReturnValue:
    tabs = client_tabs()
    chosen, body = render_tab(tabs, key)
    if isinstance(body, Response):
        return body
    return render_template(
        "clientarea/page.html", tabs=tabs, active=chosen, body=body, cards=shown_cards(current_user)
    )


def _own_session(session_id: int, *options: Any, for_update: bool = False) -> CoachingSession:
    """One of the current client's sessions, else 404 (whether it exists or not).

    ``for_update`` locks it until the commit: a second click waits, then sees the first.
    """
    session = reachable_session(current_user, session_id, *options, for_update=for_update)
    if session is None:
        abort(404)
    return session


def _sessions_tab() -> Response:
    return redirect(url_for("clientarea.tab", key="sessions"))


@client_required
def cancel(session_id: int) -> ResponseReturnValue:
    """GET: ask to confirm. POST: re-check the window and the version, then cancel."""
    posting = request.method == "POST"
    session = _own_session(session_id, joinedload(CoachingSession.coach), for_update=posting)
    now = utcnow()
    if not client_can_cancel(session, now):
        done = session.status == SessionStatus.CANCELLED.value  # a second click, say
        flash(_refusal(session), "info" if done else "error")
        return _sessions_tab()
    if request.method == "GET":
        return render_template("clientarea/cancel.html", session=session)
    if request.form.get("version") != str(session.version):
        flash(
            _(
                "Your coach changed this session after you opened the page. "
                "Please check the new details."
            ),
            "warning",
        )
        return redirect(url_for("clientarea.cancel", session_id=session.id))
    try:
        cancel_session(session, current_user, now=now)
        db.commit()
    except StaleDataError:
        db.rollback()
        flash(
            _("Your coach changed this session at the same moment. Please check it and try again."),
            "warning",
        )
        return _sessions_tab()
    flash(_("The session “%(title)s” is cancelled.", title=session.title), "success")
    return _sessions_tab()


def _refusal(session: CoachingSession) -> str:
    if session.status == SessionStatus.CANCELLED.value:
        return _("This session is already cancelled.")
    if session.status not in (SessionStatus.BOOKED.value, SessionStatus.CONFIRMED.value):
        return _("This session can no longer be cancelled.")
    coach = session.coach
    contact = " · ".join(x for x in (coach.email, coach.phone) if x)
    return _(
        "This session can no longer be cancelled here. Please contact %(coach)s (%(contact)s).",
        coach=coach.sender_name,
        contact=contact,
    )


@client_required
def session_ics(session_id: int) -> ResponseReturnValue:
    session = _own_session(session_id, selectinload(CoachingSession.links))
    body = calendar_bytes([session], get_option("general.site_name"))
    return Response(
        body,
        mimetype=ICS_MIMETYPE,
        headers={
            "Content-Disposition": f'attachment; filename="session-{session.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


@public
def calendar_feed(token: str) -> ResponseReturnValue:
    """The private feed calendar apps subscribe to; the secret token is the only key."""
    client = client_for_feed(token)
    if client is None:
        abort(404)
    name = f"{get_option('general.site_name')} · {client.full_name}"
    return Response(
        calendar_bytes(feed_sessions(client), name),
        mimetype=ICS_MIMETYPE,
        headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"},
    )


@bp.record_once
def _add_slug_routes(state) -> None:  # type: ignore[no-untyped-def]
    slug = "/" + state.app.config["SLUGS"]["client_area"]
    state.add_url_rule(slug, "index", index)
    state.add_url_rule(slug + "/<key>", "tab", tab, methods=["GET", "POST"])
    state.add_url_rule(
        slug + "/sessions/<int:session_id>/cancel", "cancel", cancel, methods=["GET", "POST"]
    )
    state.add_url_rule(slug + "/sessions/<int:session_id>.ics", "session_ics", session_ics)
    state.add_url_rule("/calendar/<token>.ics", "calendar_feed", calendar_feed)
