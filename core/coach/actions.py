"""Quick actions on one session from its card: status, payment, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

from flask import abort, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from core.accounts.access import staff_required
from core.accounts.permissions import capability_required
from core.coach.blueprint import back, bp, local_target
from core.coach.forms import PaymentForm, StatusForm
from core.db import db
from core.i18n import site_timezone
from core.sessions.access import get_session_or_404, reachable_session
from core.sessions.documents import document_path, unlink_after_commit
from core.sessions.models import CoachingSession, PaymentStatus
from core.sessions.service import SessionRuleError, change_status, set_payment_status


def editable_session(session_id: int, *options: object) -> CoachingSession:
    """The session if the viewer reaches it, else 404 (the views declare the capabilities).

    Locked until the commit: a second click (or a colleague) waits, then sees this change.
    """
    return get_session_or_404(current_user, session_id, *options, for_update=True)


def commit_or_flash() -> bool:
    """Commit; a concurrent edit (stale version) is rolled back and explained."""
    try:
        db.commit()
    except StaleDataError:
        db.rollback()
        flash(_("Someone else changed this session meanwhile; nothing was saved."), "error")
        return False
    return True


def paid_at_from(form: PaymentForm) -> datetime | None:
    """Noon, site time, on the day given (a date without an hour must not shift a day)."""
    if form.paid_on.data is None:
        return None
    return datetime.combine(form.paid_on.data, time(12), tzinfo=site_timezone()).astimezone(UTC)


def apply_payment_form(session: CoachingSession, form: PaymentForm) -> None:
    """Set the payment status from a form (``paid`` records a payment). Raises SessionRuleError."""
    set_payment_status(
        session,
        form.payment_status.data or "",
        current_user,
        method=form.payment_method.data,
        paid_at=paid_at_from(form),
    )


def quick_change(
    valid: bool,
    change: Callable[[], None],
    invalid_message: str,
    done_message: Callable[[], str],
    *,
    already: bool = False,
) -> ResponseReturnValue:
    """Apply one change from a card and come back: refusals flash why, nothing is kept.

    ``already``: the session is already as asked (a second click, or a colleague was
    quicker): say so instead of changing anything.
    """
    if not valid:
        flash(invalid_message, "error")
    elif already:
        flash(_("Nothing to change: it was already done (a second click, perhaps)."), "info")
    else:
        try:
            change()
        except SessionRuleError as exc:
            db.rollback()
            flash(str(exc), "error")
        else:
            if commit_or_flash():
                flash(done_message(), "success")
    return back(url_for("coach.home"))


@bp.route("/coach/sessions/<int:session_id>/status", methods=["POST"])
@staff_required
@capability_required("view_sessions", "edit_sessions")
def session_status(session_id: int) -> ResponseReturnValue:
    session = editable_session(session_id)
    form = StatusForm()
    return quick_change(
        form.validate_on_submit(),
        lambda: change_status(session, form.status.data or "", current_user),
        _("Choose a valid status."),
        lambda: _("Status of “%(title)s” updated.", title=session.title),
        already=form.status.data == session.status,
    )


@bp.route("/coach/sessions/<int:session_id>/payment", methods=["POST"])
@staff_required
@capability_required("view_sessions", "edit_sessions")
def session_payment(session_id: int) -> ResponseReturnValue:
    session = editable_session(session_id)
    form = PaymentForm()
    return quick_change(
        form.validate_on_submit(),
        lambda: apply_payment_form(session, form),
        _("Choose a valid payment status, method and date."),
        lambda: _("Payment of “%(title)s” updated.", title=session.title),
        already=form.payment_status.data == session.payment_status,
    )


@bp.route("/coach/sessions/<int:session_id>/delete", methods=["GET", "POST"])
@staff_required
@capability_required("view_sessions", "edit_sessions")
def delete_session(session_id: int) -> ResponseReturnValue:
    """Ask first (and suggest cancelling, which tells the client); delete on POST.

    A POST for a session that is not there (any more) says so and goes back: the second of
    two clicks lands here once the first has deleted it. Sessions of others get the same
    answer, which tells nothing about them.
    """
    session = reachable_session(
        current_user,
        session_id,
        selectinload(CoachingSession.documents),
        selectinload(CoachingSession.client),
        for_update=request.method == "POST",
    )
    if session is None:
        if request.method == "GET":
            abort(404)
        flash(_("This session no longer exists: it was probably just deleted."), "info")
        return back(url_for("coach.home"))
    if session.payment_status == PaymentStatus.PAID:
        flash(_("A paid session cannot be deleted: mark it refunded or cancel it."), "error")
        return back(url_for("coach.home"))
    if request.method == "GET":
        return render_template(
            "coach/delete.html", session=session, next=local_target(request.args.get("next"))
        )
    if request.form.get("confirm") != "yes":
        abort(400)
    title = session.title
    for document in session.documents:  # the rows go with the session (cascade)
        unlink_after_commit(document_path(document))
    db.delete(session)
    db.commit()
    flash(_("“%(title)s” was deleted.", title=title), "success")
    return back(url_for("coach.home"))
