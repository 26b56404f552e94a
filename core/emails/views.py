"""Email pages: the session panel's button, the admin outbox, the cron URL and the email logo."""

from __future__ import annotations

import hmac
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
from core.accounts.permissions import require_capability
from core.db import db
from core.emails.models import EmailStatus, OutboxEmail
from core.emails.notify import send_confirmation as queue_confirmation
from core.emails.options import cron_token
from core.emails.outbox import InvalidAddress
from core.emails.settings import logo_folder
from core.extensions import csrf, get_limiter
from core.sessions.access import get_session_or_404
from core.worker import run_once
from core.worker.delivery import retry

bp = Blueprint("emails", __name__)

#: One cron call sends at most this many emails, so that it ends within a web timeout.
CRON_EMAIL_LIMIT = 500
OUTBOX_PAGE_ROWS = 100


def _back(default: str) -> str:
    """The same-site page the form came from (``next``), else ``default``."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.route("/sessions/<int:session_id>/emails/confirmation", methods=["POST"])
@staff_required
def send_confirmation(session_id: int) -> ResponseReturnValue:
    """The email panel's button; notifying a client is part of editing sessions."""
    require_capability(current_user, "edit_sessions")
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


@bp.route("/admin/outbox")
@admin_required
def outbox() -> ResponseReturnValue:
    counts = dict(
        db.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all()
    )
    waiting = db.scalar(
        select(func.count()).where(
            OutboxEmail.status == EmailStatus.PENDING.value, OutboxEmail.last_error.is_not(None)
        )
    )

    def latest(status: EmailStatus) -> list[OutboxEmail]:
        return list(
            db.scalars(
                select(OutboxEmail)
                .where(OutboxEmail.status == status.value)
                .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
                .limit(OUTBOX_PAGE_ROWS)
            )
        )

    return render_template(
        "emails/outbox.html",
        counts=counts,
        waiting=waiting or 0,
        dead=latest(EmailStatus.DEAD),
        pending=latest(EmailStatus.PENDING),
        page_rows=OUTBOX_PAGE_ROWS,
    )


@bp.route("/admin/outbox/<int:email_id>/retry", methods=["POST"])
@admin_required
def retry_email(email_id: int) -> ResponseReturnValue:
    if not retry(email_id):
        abort(404)
    db.commit()
    flash(_("The email will be sent again on the next worker pass."), "success")
    return redirect(url_for("emails.outbox"))


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
