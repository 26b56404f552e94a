"""First-run setup wizard: time zone, business details, first coach.

The dashboard sends the admin here until ``setup.completed`` is set (by finishing
the wizard, by the demo loader, or by a test).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.accounts.access import admin_required
from core.accounts.models import Role
from core.admin.blueprint import bp
from core.admin.settings import GeneralForm
from core.admin.users import PersonForm, add_person, created_message
from core.db import db
from core.settings import define, get_option, set_option

SETUP_COMPLETED = "setup.completed"
define(SETUP_COMPLETED, False)

STEPS = (_l("Time zone"), _l("Business details"), _l("First coach"))


def setup_completed() -> bool:
    return bool(get_option(SETUP_COMPLETED))


class SiteStepForm(GeneralForm):
    """Step 1: the site's name, time zone and currency."""

    cancellation_window = None
    admin_scope = None
    business_name = None
    business_address = None
    tax_id = None
    receipt_logo = None
    remove_receipt_logo = None


class BusinessStepForm(GeneralForm):
    """Step 2: the details printed on receipts, and their logo."""

    site_name = None
    timezone = None
    currency = None
    cancellation_window = None
    admin_scope = None
    remove_receipt_logo = None


def _finish() -> ResponseReturnValue:
    set_option(SETUP_COMPLETED, True)
    db.commit()
    flash(_("Setup is complete. Welcome to your dashboard."), "success")
    return redirect(url_for("admin.dashboard"))


def _option_step(step: int, form: GeneralForm) -> ResponseReturnValue | None:
    if form.validate_on_submit():
        form.save()
        db.commit()
        return redirect(url_for("admin.setup", step=step + 1))
    return None


def _coach_step(form: PersonForm) -> ResponseReturnValue | None:
    if request.method == "POST" and request.form.get("action") == "skip":
        return _finish()
    if form.validate_on_submit():
        send = request.form.get("action") == "send"
        user = add_person(form, Role.COACH.value, send_details=send)
        if user is not None:
            flash(created_message(user, sent=send), "success")
            return _finish()
    return None


@bp.route("/setup", methods=["GET", "POST"])
@bp.route("/setup/<int:step>", methods=["GET", "POST"])
@admin_required
def setup(step: int = 1) -> ResponseReturnValue:
    if not 1 <= step <= len(STEPS):
        abort(404)
    form: Any
    if step == 1:
        form = SiteStepForm()
        done = _option_step(step, form)
    elif step == 2:
        form = BusinessStepForm()
        done = _option_step(step, form)
    else:
        form = PersonForm()
        done = _coach_step(form)
    if done is not None:
        return done
    return render_template(
        "admin/setup.html",
        form=form,
        step=step,
        steps=STEPS,
        completed=setup_completed(),
    )
