"""Programs pages for staff: the list of bundles, one bundle's page and its actions.

Templates are in ``catalog.py`` and the new-bundle wizard in ``wizard.py``; both attach
their routes to the same blueprint.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from core.accounts.permissions import has_capability
from core.coach.actions import paid_at_from
from core.coach.queries import page_arg, paginate
from core.db import db, utcnow
from core.i18n import from_minor, site_timezone
from core.programs import catalog as _catalog  # noqa: F401 (routes)
from core.programs import wizard as _wizard  # noqa: F401 (routes)
from core.programs.access import get_bundle_or_404
from core.programs.blueprint import bp, exact_minor, manager_view
from core.programs.documents import roll_back
from core.programs.emails import send_confirmations
from core.programs.forms import AddSessionForm, PayBundleForm, StatusForm
from core.programs.models import BUNDLE_STATUSES, Bundle
from core.programs.queries import bundle_sessions, bundles_query, progress_of
from core.programs.schedule import Slot
from core.programs.service import (
    BundleError,
    add_session,
    pay_bundle,
    remove_session,
    set_status,
    uncovered_amount,
)
from core.sessions.access import get_session_or_404
from core.sessions.documents import DocumentError
from core.sessions.service import SessionRuleError
from core.settings import get_option

PER_PAGE = 20

__all__ = ["bp"]


@bp.route("/")
@manager_view
def index() -> ResponseReturnValue:
    """Every bundle in the viewer's scope, running ones first; filter by status."""
    status = request.args.get("status", "")
    query = bundles_query(current_user)
    if status in BUNDLE_STATUSES:
        query = query.where(Bundle.status == status)
    page = paginate(query, page_arg(), PER_PAGE)
    return render_template(
        "programs/index.html",
        page=page,
        progress=progress_of(page.items, utcnow()),
        status=status,
    )


def load_bundle(bundle_id: int) -> Bundle:
    return get_bundle_or_404(
        current_user, bundle_id, joinedload(Bundle.client), joinedload(Bundle.coach)
    )


def bundle_url(bundle: Bundle) -> str:
    return url_for("programs.bundle", bundle_id=bundle.id)


@bp.route("/bundles/<int:bundle_id>")
@manager_view
def bundle(bundle_id: int) -> ResponseReturnValue:
    found = load_bundle(bundle_id)
    return render_bundle(found, AddSessionForm(formdata=None))


def render_bundle(bundle: Bundle, add_form: AddSessionForm) -> str:
    now = utcnow()
    sessions = bundle_sessions(bundle.id, cards=True)
    uncovered = uncovered_amount(bundle)
    if add_form.price.data is None and uncovered:
        add_form.price.data = from_minor(uncovered, bundle.currency)
    return render_template(
        "programs/bundle.html",
        bundle=bundle,
        progress=progress_of([bundle], now)[bundle.id],
        sessions=sessions,
        now=now,
        uncovered=uncovered,
        prices_total=sum(s.price_amount or 0 for s in sessions if s.status != "cancelled"),
        status_form=StatusForm(status=bundle.status),
        add_form=add_form,
        pay_form=PayBundleForm(formdata=None),
        per_session=get_option("programs.confirmation_mode") == "per_session",
        can_edit=has_capability(current_user, "edit_sessions"),
        zone_name=str(site_timezone()),
        here=bundle_url(bundle),
    )


def done(bundle: Bundle, message: str, category: str = "success") -> Response:
    flash(message, category)
    return redirect(bundle_url(bundle))


@bp.route("/bundles/<int:bundle_id>/status", methods=["POST"])
@manager_view
def bundle_status(bundle_id: int) -> ResponseReturnValue:
    found = load_bundle(bundle_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return done(found, _("Choose active or paused."), "error")
    try:
        set_status(found, form.status.data or "")
    except BundleError as exc:
        return done(found, str(exc), "error")
    db.commit()
    return done(found, _("Status saved."))


@bp.route("/bundles/<int:bundle_id>/sessions", methods=["POST"])
@manager_view
def bundle_add_session(bundle_id: int) -> ResponseReturnValue:
    """One more session, at a date and time, inheriting the bundle's place, link and PDFs."""
    found = load_bundle(bundle_id)
    form = AddSessionForm()
    if form.validate_on_submit():
        price = exact_minor(form.price.data, found.currency) if form.price.data is not None else 0
        if price is None:
            form.price.errors = [_("The price has more decimals than the currency allows.")]
        else:
            written: list[Path] = []
            try:
                slot = Slot.local(form.day.data, form.start.data, site_timezone())  # type: ignore[arg-type]
                session = add_session(found, slot, price or None, current_user, written)
                db.commit()
            except (BundleError, SessionRuleError, DocumentError) as exc:
                roll_back(written)
                form.day.errors = [str(exc)]
            else:
                return done(found, _("“%(title)s” added. No email was sent.", title=session.title))
    found = load_bundle(bundle_id)
    return render_bundle(found, form), 400


@bp.route("/bundles/<int:bundle_id>/sessions/<int:session_id>/remove", methods=["POST"])
@manager_view
def bundle_remove_session(bundle_id: int, session_id: int) -> ResponseReturnValue:
    """Take a session out of the bundle: it stays booked, on its own."""
    found = load_bundle(bundle_id)
    session = get_session_or_404(current_user, session_id)
    try:
        remove_session(found, session)
    except BundleError as exc:
        return done(found, str(exc), "error")
    db.commit()
    return done(
        found,
        _(
            "“%(title)s” is no longer part of the bundle. It stays booked: cancel it from "
            "its page if it should not take place.",
            title=session.title,
        ),
    )


@bp.route("/bundles/<int:bundle_id>/confirmations", methods=["POST"])
@manager_view
def bundle_confirmations(bundle_id: int) -> ResponseReturnValue:
    found = load_bundle(bundle_id)
    try:
        queued = send_confirmations(found, current_user)
    except BundleError as exc:
        db.rollback()
        return done(found, str(exc), "error")
    db.commit()
    if not queued:
        return done(
            found, _("The client already has these confirmations: nothing was sent."), "info"
        )
    return done(
        found,
        ngettext(
            "One email queued to %(email)s.",
            "%(num)s emails queued to %(email)s.",
            queued,
            email=found.client.email,
        ),
    )


@bp.route("/bundles/<int:bundle_id>/pay", methods=["POST"])
@manager_view
def bundle_pay(bundle_id: int) -> ResponseReturnValue:
    """Mark the whole bundle paid by hand: one payment per unpaid session, all or nothing."""
    found = load_bundle(bundle_id)
    form = PayBundleForm()
    if not form.validate_on_submit():
        return done(found, _("Choose how and when the bundle was paid."), "error")
    paid_at: datetime = paid_at_from(form) or utcnow()
    try:
        count = pay_bundle(
            found, method=form.payment_method.data or "", paid_at=paid_at, actor=current_user
        )
    except BundleError as exc:
        db.rollback()
        return done(found, str(exc), "error")
    db.commit()
    if not count:
        return done(found, _("Nothing is left to pay on this bundle."), "info")
    return done(found, _("Bundle marked paid: %(num)s sessions are paid.", num=count))
