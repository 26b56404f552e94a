"""Receipts of paid sessions: a printable page and a PDF, for the session's client and staff.

Anyone else gets 404, whether the session exists or not.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from core.accounts.access import signed_in
from core.accounts.models import Role
from core.accounts.permissions import capability_required
from core.accounts.views import landing_url
from core.db import db
from core.payments.models import Receipt
from core.payments.receipts import (
    ReceiptError,
    in_receipt_locale,
    logo_data_uri,
    receipt_filename,
    receipt_for_session,
    receipt_refunds,
    receipt_view,
    render_pdf,
)
from core.sessions.access import get_session_or_404

bp = Blueprint("payments", __name__)


def _receipt(session_id: int) -> Receipt:
    """The receipt of a session the viewer reaches, issued on first request; else 404."""
    session = get_session_or_404(current_user, session_id)
    try:
        receipt = receipt_for_session(session)
    except ReceiptError:
        abort(404)
    db.commit()
    return receipt


def _back_url() -> str:
    if current_user.role == Role.CLIENT:
        return url_for("clientarea.tab", key="history")
    return landing_url(current_user)


@bp.route("/receipts/<int:session_id>")
@signed_in
@capability_required("view_sessions", "view_clients")  # a receipt shows the client's details
def receipt(session_id: int) -> ResponseReturnValue:
    found = _receipt(session_id)
    refunds = receipt_refunds(found)
    with in_receipt_locale(found):  # the document in its own language, the page in the reader's
        view = receipt_view(found, refunds)
        document = render_template(
            "payments/_receipt.html",
            r=view,
            logo=logo_data_uri(view["business"]["logo"]),
            lang=found.data["locale"],
        )
    html = render_template(
        "payments/receipt.html",
        receipt=found,
        r=view,
        document=Markup(document),  # noqa: S704 (rendered and escaped by the template above)
        back_url=_back_url(),
    )
    return Response(html, headers={"Cache-Control": "private, no-store"})


@bp.route("/receipts/<int:session_id>.pdf")
@signed_in
@capability_required("view_sessions", "view_clients")
def receipt_pdf(session_id: int) -> ResponseReturnValue:
    found = _receipt(session_id)
    return Response(
        render_pdf(found),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{receipt_filename(found)}"',
            "Cache-Control": "private, no-store",
        },
    )
