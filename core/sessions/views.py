"""Downloads of session documents: the session's client and coach, and admins; 404 for others."""

from __future__ import annotations

from flask import Blueprint, abort, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.accounts.access import signed_in
from core.accounts.permissions import capability_required
from core.db import db
from core.sessions.access import can_reach_session
from core.sessions.clock import Clock
from core.sessions.documents import document_path
from core.sessions.models import CoachingSession, SessionDocument

bp = Blueprint("sessions", __name__)
#: The dates of session cards, for every area that shows them (client area, coach pages).
bp.add_app_template_global(Clock, "session_clock")


@bp.route("/documents/<int:document_id>")
@signed_in
@capability_required("view_sessions")
def document(document_id: int) -> ResponseReturnValue:
    doc = db.get(SessionDocument, document_id)
    session = db.get(CoachingSession, doc.session_id) if doc else None
    if doc is None or session is None or not can_reach_session(current_user, session):
        abort(404)
    path = document_path(doc)
    if not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype="application/pdf", as_attachment=True, download_name=doc.filename
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
