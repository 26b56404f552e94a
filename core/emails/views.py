"""Email pages: the session panel's button, the email log (admin outbox and coach view),
the cron URL and the email logo."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core.accounts.access import admin_required, public, staff_required
from core.accounts.audit import audit
from core.accounts.models import Role, User
from core.accounts.permissions import capability_required
from core.db import db, writes_ahead
from core.emails.log import (
    LOG_STATUSES,
    LogFilters,
    email_log_page,
    resend,
    visible_email_or_404,
)
from core.emails.models import EmailStatus, OutboxEmail
from core.emails.notify import send_confirmation as queue_confirmation
from core.emails.options import cron_token
from core.emails.outbox import InvalidAddress
from core.emails.settings import logo_folder
from core.emails.types import all_email_types
from core.extensions import csrf, get_limiter
from core.sessions.access import get_session_or_404
from core.validation import db_int
from core.worker import run_once
from core.worker.delivery import retry
from core.worker.smtp import message_id

bp = Blueprint("emails", __name__)

#: One cron call sends at most this many emails, so that it ends within a web timeout.
CRON_EMAIL_LIMIT = 500


def _back(default: str) -> str:
    """The same-site page the form came from (``next``), else ``default``."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.route("/sessions/<int:session_id>/emails/confirmation", methods=["POST"])
@staff_required
@capability_required("view_sessions", "edit_sessions")
def send_confirmation(session_id: int) -> ResponseReturnValue:
    """The email panel's button; notifying a client is part of editing sessions."""
    session = get_session_or_404(current_user, session_id, for_update=True)  # one email per click
    try:
        sent = queue_confirmation(session, current_user)
    except InvalidAddress as exc:
        flash(str(exc), "error")
        sent = False
    else:
        if sent:
            db.commit()
            flash(_("The booking confirmation is on its way to the client."), "success")
        else:
            flash(
                _("No confirmation to send: it was already sent, or the session is closed."), "info"
            )
    return redirect(_back(url_for("coach.home", open_session=session.id)))


def _log_filters() -> LogFilters:
    """The log's filters from the query string; unknown values are ignored, not errors."""
    args = request.args
    email_type = args.get("type", "")
    status = args.get("status", "")
    return LogFilters(
        q=args.get("q", "").strip()[:200],
        email_type=email_type if email_type in all_email_types() else "",
        status=status if status in LOG_STATUSES else "",
        client_id=args.get("client", type=db_int),
        session_id=args.get("session", type=db_int),
    )


def _render_log(endpoint: str, **context: Any) -> str:
    """The email log page for ``endpoint`` (the admin outbox or the coach's log)."""
    filters = _log_filters()
    log_page = email_log_page(current_user, filters, request.args.get("page", 1, type=db_int) or 1)
    client = db.get(User, filters.client_id) if filters.client_id is not None else None
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "emails/outbox.html",
        log=log_page,
        filters=filters,
        filter_client=client,
        endpoint=endpoint,
        page_url=lambda n: url_for(endpoint, page=n, **args),
        email_types=all_email_types(),
        statuses=LOG_STATUSES,
        **context,
    )


@bp.route("/admin/outbox")
@admin_required
def outbox() -> ResponseReturnValue:
    """The site's email log, with the queue's counters and the retry actions."""
    counts = dict(
        db.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all()
    )
    waiting = db.scalar(
        select(func.count()).where(
            OutboxEmail.status == EmailStatus.PENDING.value, OutboxEmail.last_error.is_not(None)
        )
    )
    return _render_log("emails.outbox", counts=counts, waiting=waiting or 0)


@bp.route("/emails/log")
@staff_required
@capability_required("view_clients")
def log() -> ResponseReturnValue:
    """The same log for a coach, limited to their clients (reached from a client or session)."""
    return _render_log("emails.log")


@bp.route("/emails/log/<int:email_id>")
@staff_required
@capability_required("view_clients")
def email_detail(email_id: int) -> ResponseReturnValue:
    """What was sent: headers, the text part and the HTML part (in a sandboxed frame)."""
    email = visible_email_or_404(current_user, email_id)
    back = "emails.outbox" if current_user.role == Role.ADMIN else "emails.log"
    return render_template(
        "emails/email_detail.html",
        email=email,
        message_id=email.message_id or message_id(email),
        back_url=url_for(back),
    )


@bp.route("/emails/log/<int:email_id>/resend", methods=["POST"])
@staff_required
@capability_required("view_clients")
def resend_email(email_id: int) -> ResponseReturnValue:
    """Queue a copy of an email through the outbox (the original stays as it was)."""
    original = visible_email_or_404(current_user, email_id)
    copy = resend(original)
    db.commit()
    audit("email resent: user %s resent email %s as %s", current_user.id, original.id, copy.id)
    flash(_("A copy of the email is on its way to %(to)s.", to=copy.to_address), "success")
    return redirect(url_for("emails.email_detail", email_id=copy.id))


@bp.route("/admin/outbox/<int:email_id>/retry", methods=["POST"])
@admin_required
def retry_email(email_id: int) -> ResponseReturnValue:
    if not retry(email_id):
        abort(404)
    db.commit()
    flash(_("The email will be sent again on the next worker pass."), "success")
    return redirect(_back(url_for("emails.outbox")))


@bp.route("/admin/outbox/retry-dead", methods=["POST"])
@admin_required
def retry_dead() -> ResponseReturnValue:
    ids = db.scalars(select(OutboxEmail.id).where(OutboxEmail.status == EmailStatus.DEAD.value))
    count = sum(retry(email_id) for email_id in list(ids))
    db.commit()
    flash(
        _("%(count)s email(s) will be sent again on the next worker pass.", count=count), "success"
    )
    return redirect(url_for("emails.outbox"))


@public
def cron(token: str) -> ResponseReturnValue:
    """One pass of the worker for hosts without one; the secret token is the only access check."""
    if not hmac.compare_digest(token.encode(), cron_token().encode()):
        abort(404)
    # A worker pass writes and sends emails, which starting the request again on SQLite
    # (a read request that turns into a write) would send twice: say so before it starts.
    writes_ahead()
    db.commit()
    return jsonify(run_once(limit=CRON_EMAIL_LIMIT).as_dict())


@bp.route("/emails/logo/<name>")
@public
def logo(name: str) -> ResponseReturnValue:
    """The uploaded email logo (public: mail clients fetch it without a session)."""
    return send_from_directory(logo_folder(), name, max_age=86400)


@bp.record_once
def _add_cron_route(state) -> None:  # type: ignore[no-untyped-def]
    """The cron URL takes GET (most cron services) and POST, without CSRF, rate limited."""
    view = get_limiter(state.app).limit("12 per minute")(csrf.exempt(cron))
    view.access = "public"
    state.add_url_rule("/cron/<token>", "cron", view, methods=["GET", "POST"])
