"""Data rights pages: a client's own export and erasure request; staff export and erase."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse
from sqlalchemy import select

from core.accounts.access import admin_required, client_required, get_client_or_404, staff_required
from core.accounts.models import Role, User
from core.accounts.permissions import capability_required
from core.db import db, utcnow, writes_ahead
from core.emails.outbox import InvalidAddress, queue_email
from core.extensions import get_limiter
from core.privacy.erase import ErasureError, erase_client, erased_name, names_match
from core.privacy.export import export_file
from core.privacy.forms import EraseForm
from core.privacy.models import record

bp = Blueprint("privacy", __name__, url_prefix="/privacy")
ERASURE_REQUEST = "erasure_request"
#: An export reads everything a client has: plenty for any person, not a way to load the
#: server. Counted per signed-in account, in the rate-limit storage (shared through Redis).
EXPORT_LIMIT = parse("10 per hour")


def _download(client: User) -> ResponseReturnValue:
    """The ZIP, recorded in the audit log (who exported whose data, when)."""
    writes_ahead()  # the count below must not be taken twice by a restarted SQLite read
    db.commit()
    if not get_limiter().limiter.hit(EXPORT_LIMIT, "privacy-export", str(current_user.id)):
        abort(429)
    record("export", current_user.id, current_user.full_name, client.id, "ZIP downloaded")
    db.commit()
    response = send_file(
        export_file(client),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"my-data-{client.id}-{utcnow():%Y%m%d}.zip",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/my-data.zip")
@client_required
def export_mine() -> ResponseReturnValue:
    return _download(current_user)


@bp.route("/clients/<int:client_id>/data.zip")
@staff_required
@capability_required("export_client_data")
def export_client(client_id: int) -> ResponseReturnValue:
    return _download(get_client_or_404(current_user, client_id))


@bp.route("/erasure-request", methods=["POST"])
@client_required
def request_erasure() -> ResponseReturnValue:
    """Tell every administrator; the erasure itself is theirs to do (and to check)."""
    client: User = current_user._get_current_object()  # type: ignore[attr-defined]
    admins = db.scalars(select(User).where(User.role == Role.ADMIN.value, User.is_active))
    context = {
        "client_name": client.full_name,
        "client_email": client.email,
        "profile_url": url_for("coach.profile", client_id=client.id, tab="privacy", _external=True),
    }
    for admin in admins:
        try:
            # Once a day per client and administrator, however often the button is pressed.
            key = f"{ERASURE_REQUEST}:{client.id}:{admin.id}:{utcnow():%Y-%m-%d}"
            queue_email(ERASURE_REQUEST, to=admin, context=context, dedupe_key=key)
        except InvalidAddress:
            continue
    record("erasure_requested", client.id, client.full_name, client.id, "asked from My profile")
    db.commit()
    flash(
        _(
            "Your request is sent. An administrator will erase your data "
            "and tell you within a month."
        ),
        "success",
    )
    return redirect(url_for("clientarea.tab", key="profile") + "#your-data")


@bp.route("/clients/<int:client_id>/erase", methods=["POST"])
@admin_required
def erase(client_id: int) -> ResponseReturnValue:
    client = get_client_or_404(current_user, client_id)
    here = url_for("coach.profile", client_id=client.id, tab="privacy")
    form = EraseForm()
    if not form.validate_on_submit() or not names_match(form.confirm_name.data or "", client):
        flash(_("Type the client's full name exactly as shown to confirm the erasure."), "error")
        return redirect(here)
    name = client.full_name
    try:
        report = erase_client(client, current_user)
    except ErasureError:
        db.rollback()
        flash(_("This client is erased already."), "error")
        return redirect(here)
    db.commit()
    flash(
        _(
            "%(name)s is erased; their account is now “%(anonymous)s”.",
            name=name,
            anonymous=erased_name(client.id),
        ),
        "success",
    )
    if report.failed_addons:
        flash(
            _(
                "These add-ons could not erase their data: %(addons)s. The audit log says so; "
                "see the Add-ons page for their error, then erase their data by hand.",
                addons=", ".join(report.failed_addons),
            ),
            "error",
        )
    return redirect(here)


def profile_tab(client: User) -> str:
    """The "Data & privacy" tab of a client's profile (staff): export, erasure, audit log."""
    from core.privacy.erase import is_erased
    from core.privacy.models import AuditEntry

    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_id == client.id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(50)
    )
    return render_template(
        "privacy/profile_tab.html",
        client=client,
        form=EraseForm(),
        erased=is_erased(client),
        entries=list(entries),
    )
