"""Templates: the site's catalogue of offers, shared by every coach. List, create, edit, archive.

An archived template is no longer offered to new bundles; bundles made from it keep
their own copy of everything, so nothing else changes.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.db import db, utcnow
from core.i18n import from_minor
from core.programs.blueprint import bp, exact_minor, manager_view
from core.programs.documents import (
    add_template_document,
    remove_template_document,
    roll_back,
    store_uploads,
    stored_path,
)
from core.programs.forms import TemplateForm
from core.programs.models import ProgramTemplate, TemplateDocument
from core.sessions.documents import DocumentError
from core.settings import get_option


def uploads(name: str = "documents") -> list:  # type: ignore[type-arg]
    return [f for f in request.files.getlist(name) if f and f.filename]


@bp.route("/templates")
@manager_view
def templates() -> ResponseReturnValue:
    archived = request.args.get("archived") == "1"
    condition = (
        ProgramTemplate.archived_at.is_not(None)
        if archived
        else ProgramTemplate.archived_at.is_(None)
    )
    rows = db.scalars(
        select(ProgramTemplate)
        .where(condition)
        .options(selectinload(ProgramTemplate.documents))
        .order_by(ProgramTemplate.title, ProgramTemplate.id)
    ).all()
    return render_template("programs/templates.html", templates=rows, archived=archived)


def load_template(template_id: int) -> ProgramTemplate:
    template = db.get(
        ProgramTemplate, template_id, options=[selectinload(ProgramTemplate.documents)]
    )
    if template is None:
        abort(404)
    return template


@bp.route("/templates/new", methods=["GET", "POST"])
@manager_view
def new_template() -> ResponseReturnValue:
    return edit(None)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@manager_view
def edit_template(template_id: int) -> ResponseReturnValue:
    return edit(load_template(template_id))


def edit(template: ProgramTemplate | None) -> ResponseReturnValue:
    """GET shows the form; a valid POST saves the template and its documents in one go."""
    form = TemplateForm(obj=template)
    if request.method == "GET":
        if template is None:
            form.currency.data = get_option("general.currency")
        else:
            form.price.data = from_minor(template.total_price, template.currency)
    elif form.validate_on_submit():
        saved = save(form, template)
        if saved is not None:
            flash(_("Template saved."), "success")
            return redirect(url_for("programs.edit_template", template_id=saved))
    return render_template(
        "programs/template_edit.html",
        form=form,
        template=template,
        max_mb=get_option("uploads.max_mb"),
        files_dropped=request.method == "POST" and bool(uploads()),
    )


def save(form: TemplateForm, template: ProgramTemplate | None) -> int | None:
    currency = form.currency.data or ""
    total = exact_minor(form.price.data, currency)
    if total is None:
        form.price.errors = [_("The price has more decimals than the currency allows.")]
        return None
    written: list[Path] = []
    existing = list(template.documents) if template is not None else []
    try:
        if template is None:
            template = ProgramTemplate(created_by_id=current_user.id)
            db.add(template)
        template.title = form.title.data or ""
        template.planned_count = form.planned_count.data or 1
        template.total_price = total
        template.currency = currency
        template.duration_minutes = form.duration_minutes.data or 60
        template.location = form.location.data or None
        template.video_url = form.video_url.data or None
        db.flush()
        removed = set(request.form.getlist("remove_document"))
        for document in existing:
            if str(document.id) in removed:
                remove_template_document(document)
        for item in store_uploads(uploads(), written):
            add_template_document(template, item, current_user.id)
        db.commit()
    except DocumentError as exc:
        roll_back(written)
        form.documents.errors = [str(exc)]
        return None
    return template.id


@bp.route("/templates/<int:template_id>/archive", methods=["POST"])
@manager_view
def archive_template(template_id: int) -> ResponseReturnValue:
    """Archive (no longer offered) or, with ``restore=1``, offer it again."""
    template = load_template(template_id)
    restore = request.form.get("restore") == "1"
    template.archived_at = None if restore else utcnow()
    db.commit()
    if restore:
        flash(_("“%(title)s” is offered again.", title=template.title), "success")
    else:
        flash(
            _("“%(title)s” is archived: new bundles no longer offer it.", title=template.title),
            "success",
        )
    return redirect(url_for("programs.templates", archived="1" if not restore else None))


@bp.route("/templates/documents/<int:document_id>")
@manager_view
def template_document(document_id: int) -> ResponseReturnValue:
    document = db.get(TemplateDocument, document_id)
    if document is None or not stored_path(document.storage_name).is_file():
        abort(404)
    response = send_file(
        stored_path(document.storage_name),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=document.filename,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
