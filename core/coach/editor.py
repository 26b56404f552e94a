"""The session editor: one page for a new or an existing session, reached from every coach page.

Save changes nothing but the session (no email); "Save and notify" then tells the
client what changed (the email area decides what that is). A form carries the
session's version: a save based on an older version is refused (optimistic lock).
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice

from core.accounts.access import staff_required
from core.accounts.models import Role, User
from core.accounts.permissions import capability_required, has_capability
from core.coach.actions import apply_payment_form
from core.coach.blueprint import bp, local_target
from core.coach.forms import SessionForm
from core.coach.queries import clients_query
from core.db import db
from core.i18n import from_minor, local_time, site_timezone, to_minor
from core.payments.queries import attention_notices
from core.plugins import tabs_from
from core.sessions.access import get_session_or_404
from core.sessions.documents import DocumentError, delete_document, document_path, save_document
from core.sessions.models import CoachingSession, SessionDocument
from core.sessions.service import (
    SessionData,
    SessionRuleError,
    create_session,
    local_to_utc,
    stale_message,
    update_session,
    validate_session_data,
)
from core.settings import get_option
from core.validation import DateOutOfRange, db_int, parse_day

#: Blank link rows offered below the existing ones (JavaScript can add more).
SPARE_LINK_ROWS = 2


@bp.route("/coach/sessions/new", methods=["GET", "POST"])
@staff_required
@capability_required("view_sessions", "edit_sessions")
def new_session() -> ResponseReturnValue:
    return editor(None)


@bp.route("/coach/sessions/<int:session_id>", methods=["GET", "POST"])
@staff_required
@capability_required("view_sessions")
@capability_required("edit_sessions", methods=["POST"])
def edit_session(session_id: int) -> ResponseReturnValue:
    return editor(load_session(session_id))


def load_session(session_id: int) -> CoachingSession:
    """The session with what the editor shows (links, documents, client); 404 if unreachable.
    The client comes in the session's own statement."""
    return get_session_or_404(
        current_user,
        session_id,
        selectinload(CoachingSession.links),
        selectinload(CoachingSession.documents),
        joinedload(CoachingSession.client),
    )


def build_form(session: CoachingSession | None) -> SessionForm:
    """The form with the viewer's choices: reachable clients; coaches (admins only)."""
    form = SessionForm()
    # Plain rows, not User objects: an administrator's list holds every client.
    columns = (User.id, User.first_name, User.last_name, User.email)
    clients = list(
        db.execute(
            clients_query(current_user)
            .with_only_columns(*columns)
            .order_by(User.last_name, User.first_name)
        )
    )
    client = session.client if session is not None else None
    if client is not None and client.id not in {row.id for row in clients}:
        clients.insert(0, (client.id, client.first_name, client.last_name, client.email))
    sees_clients = has_capability(current_user, "view_clients")  # their emails: contact data
    form.client_id.choices = [SelectChoice("", _("— No client: open slot —"))]
    for client_id, first, last, email in clients:
        name = f"{first} {last}".strip()  # User.full_name
        label = f"{name} ({email})" if sees_clients else name
        form.client_id.choices.append(SelectChoice(str(client_id), label))
    if current_user.role != Role.ADMIN:
        del form.coach_id  # a coach books for themself
        return form
    coaches = list(
        db.scalars(
            select(User)
            .where(User.role.in_([Role.COACH.value, Role.ADMIN.value]), User.is_active)
            .order_by(User.last_name, User.first_name)
        )
    )
    if session is not None and session.coach_id not in {c.id for c in coaches}:
        coaches.insert(0, db.get(User, session.coach_id))  # type: ignore[arg-type]
    form.coach_id.choices = [SelectChoice(str(c.id), c.full_name) for c in coaches]
    return form


def fill_form(form: SessionForm, session: CoachingSession | None) -> None:
    """Initial values: the session's, or defaults pre-filled from the URL (client, date, time)."""
    tz = site_timezone()
    if session is None:
        if "coach_id" in form:
            form.coach_id.data = current_user.id
        form.client_id.data = request.args.get("client", type=db_int)
        if str(form.client_id.data) not in {choice.value for choice in form.client_id.choices}:
            form.client_id.data = None
        form.day.data = _arg_date("date") or datetime.now(tz).date()
        form.start.data = _arg_time("time") or time(9, 0)
        form.currency.data = get_option("general.currency")
        form.status.data = "booked"
        form.payment_status.data = "pending"
        return
    local = local_time(session.starts_at, tz)
    form.version.data = str(session.version)
    if "coach_id" in form:
        form.coach_id.data = session.coach_id
    form.client_id.data = session.client_id
    form.day.data, form.start.data = local.date(), local.time()
    form.duration_minutes.data = session.duration_minutes
    form.title.data = session.title
    form.location.data = session.location
    form.video_url.data = session.video_url
    if session.price_amount is not None:
        form.price.data = from_minor(session.price_amount, session.currency)
    form.currency.data = session.currency
    form.status.data = session.status
    form.payment_status.data = session.payment_status
    form.notes.data = session.notes


def _arg_date(name: str) -> date | None:
    try:
        return parse_day(request.args.get(name))
    except DateOutOfRange:
        return None


def _arg_time(name: str) -> time | None:
    try:
        return time.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def submitted_links() -> list[tuple[str, str]]:
    """(label, url) rows of the form, blank rows dropped."""
    labels = request.form.getlist("link_label")
    urls = request.form.getlist("link_url")
    rows = [(label.strip(), url.strip()) for label, url in zip(labels, urls, strict=False)]
    return [row for row in rows if row[0] or row[1]]


def session_data(form: SessionForm) -> SessionData:
    """The form as :class:`SessionData`; wall-clock time in the site zone becomes an instant."""
    currency = (form.currency.data or "").strip().upper()
    price = form.price.data
    coach_id = form.coach_id.data if "coach_id" in form else current_user.id
    return SessionData(
        coach_id=coach_id,
        client_id=form.client_id.data,
        starts_at=local_to_utc(form.day.data, form.start.data, site_timezone()),  # type: ignore[arg-type]
        duration_minutes=form.duration_minutes.data or 0,
        title=form.title.data or "",
        location=form.location.data,
        video_url=form.video_url.data,
        price_amount=to_minor(Decimal(price), currency)
        if price is not None and len(currency) == 3
        else None,
        currency=currency,
        status=form.status.data or "",
        notes=form.notes.data,
        links=submitted_links(),
    )


def show_errors(form: SessionForm, errors: dict[str, str]) -> None:
    """Put service-level messages under their fields (links: above the form)."""
    for name, message in errors.items():
        target = getattr(form, name, None)
        if target is not None:
            target.errors = [*target.errors, message]
        else:
            form.form_errors.append(message)


def editor(session: CoachingSession | None) -> ResponseReturnValue:
    """GET shows the editor; POST validates, saves, maybe notifies, and comes back here."""
    form = build_form(session)
    session_id = session.id if session is not None else None
    if request.method == "GET":
        fill_form(form, session)
    elif form.validate_on_submit():
        saved = save(form, session)
        if saved is not None:
            target = url_for("coach.edit_session", session_id=saved, next=next_url())
            return redirect(target)
        if session is not None and session_id is not None:
            db.expunge(session)  # the failed save rolled back: read the stored session again
            session = load_session(session_id)
    return render_editor(form, session)


def next_url() -> str | None:
    return local_target(request.values.get("next"))


def save(form: SessionForm, session: CoachingSession | None) -> int | None:
    """Write the session and its documents in one transaction; on refusal, nothing stays."""
    try:
        data = session_data(form)
    except SessionRuleError as exc:
        form.start.errors = [*form.start.errors, str(exc)]
        return None
    errors = validate_session_data(data)
    if errors:
        show_errors(form, errors)
        return None
    client = db.get(User, data.client_id) if data.client_id is not None else None
    existing = list(session.documents) if session is not None else []
    stored: list[Path] = []
    try:
        if session is None:
            session = create_session(data, client, current_user)
        else:
            update_session(
                session, data, client, current_user, expected_version=_int(form.version.data)
            )
        apply_payment_form(session, form)
        stored = apply_documents(session, existing)
        notifying = request.form.get("action") == "notify"
        emailed = notify(session) if notifying else None
        db.commit()
    except (SessionRuleError, DocumentError) as exc:
        _undo(stored)
        form.form_errors.append(str(exc))
        return None
    except StaleDataError:
        _undo(stored)
        form.form_errors.append(stale_message())
        return None
    if not notifying:
        flash(_("Saved. No email was sent."), "success")
    elif emailed:
        flash(_("Saved, and the client was emailed."), "success")
    else:
        flash(_("Saved. The client already knows all this: no email was needed."), "info")
    return session.id


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _undo(stored: list[Path]) -> None:
    """Roll back and remove the files written during this save."""
    db.rollback()
    for path in stored:
        path.unlink(missing_ok=True)


def _files(name: str) -> list[FileStorage]:
    return [f for f in request.files.getlist(name) if f and f.filename]


def apply_documents(session: CoachingSession, existing: list[SessionDocument]) -> list[Path]:
    """Add new PDFs, replace and remove existing ones; return the paths written.

    A refused file raises :class:`DocumentError` (the caller rolls back and removes
    the files already written for this save).
    """
    written: list[Path] = []
    removed = {_int(v) for v in request.form.getlist("remove_document")}
    try:
        for upload in _files("documents"):
            written.append(document_path(_save(session, upload)))
        for document in existing:
            replacement = _files(f"replace_{document.id}")
            if replacement:
                written.append(document_path(_save(session, replacement[0])))
            if replacement or document.id in removed:
                delete_document(document)
    except Exception:  # a refused file, or a flush refused (stale version): keep no file
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def _save(session: CoachingSession, upload: FileStorage) -> SessionDocument:
    return save_document(session, upload.stream, upload.filename, current_user.id)


def notify(session: CoachingSession) -> str | None:
    """Save and notify: the email area decides what the client needs to hear (None: nothing)."""
    from core.emails.notify import notify_session

    return notify_session(session, current_user)


def render_editor(form: SessionForm, session: CoachingSession | None) -> str:
    links = [(link.label, link.url) for link in session.links] if session else []
    if request.method == "POST":
        links = submitted_links()
    context: dict[str, Any] = {
        "form": form,
        "session": session,
        "links": links + [("", "")] * SPARE_LINK_ROWS,
        "next": next_url(),
        "is_admin": current_user.role == Role.ADMIN,
        "can_edit": has_capability(current_user, "edit_sessions"),
        "zone_name": str(site_timezone()),
        "max_mb": get_option("uploads.max_mb"),
        # A refused save keeps what was typed, but browsers cannot refill file inputs.
        "files_dropped": request.method == "POST"
        and any(f.filename for f in request.files.values()),
    }
    if session is not None:
        from core.emails.log import session_email_log

        context["email_log"] = session_email_log(session.id)
        context["attention"] = attention_notices(session.id)
    sections = tabs_from("session_editor_sections", session=session, viewer=current_user)
    context["sections"] = [(tab, Markup(tab.render())) for tab in sections]  # noqa: S704
    return render_template("coach/editor.html", **context)
