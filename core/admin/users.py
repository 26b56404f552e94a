"""Users: the site's coaches and admins (and its clients, filtered), created and switched here."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import EmailField, Field, RadioField, StringField
from wtforms.validators import DataRequired, Optional, ValidationError

from core.accounts.access import admin_required
from core.accounts.models import Role, User
from core.accounts.service import AccountError, create_user, find_by_email, set_account_active
from core.admin.blueprint import bp, choices, paginate
from core.admin.settings import strip
from core.db import db
from core.emails.accounts import send_login_details, send_password_reset
from core.emails.outbox import valid_address
from core.validation import db_int, max_length

STAFF_ROLES = (Role.ADMIN.value, Role.COACH.value)
#: The list's filter: its value in the URL → the roles it shows.
ROLE_FILTERS = {"staff": STAFF_ROLES, "client": (Role.CLIENT.value,)}


def validate_new_email(form: FlaskForm, field: Field) -> None:
    if find_by_email(field.data or "") is not None:
        raise ValidationError(_("An account with this email already exists."))


class PersonForm(FlaskForm):
    """Name, email and phone of a new coach or admin (also the wizard's first coach)."""

    first_name = StringField(
        _l("First name"), validators=[DataRequired(), max_length(User.first_name)], filters=[strip]
    )
    last_name = StringField(
        _l("Last name"), validators=[DataRequired(), max_length(User.last_name)], filters=[strip]
    )
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(),
            max_length(User.email),
            valid_address,
            validate_new_email,
        ],
        filters=[strip],
    )
    phone = StringField(
        _l("Phone"), validators=[Optional(), max_length(User.phone)], filters=[strip]
    )


class NewStaffForm(PersonForm):
    role = RadioField(
        _l("Role"),
        choices=choices(
            [
                (Role.COACH.value, _l("Coach: their own clients and sessions")),
                (Role.ADMIN.value, _l("Administrator: everything, including settings")),
            ]
        ),
        default=Role.COACH.value,
        validators=[DataRequired()],
    )


def add_person(form: PersonForm, role: str, *, send_details: bool) -> User | None:
    """Create the account from a validated form (no password: set by emailed link).

    None, with the reason under the email field, when someone took the email meanwhile.
    """
    try:
        user = create_user(
            email=form.email.data or "",
            first_name=form.first_name.data or "",
            last_name=form.last_name.data or "",
            phone=form.phone.data,
            role=role,
        )
    except AccountError:
        form.email.errors = [_("An account with this email already exists.")]
        return None
    if send_details:
        send_login_details(user)
    return user


def created_message(user: User, *, sent: bool) -> str:
    if sent:
        return _("%(name)s was added and emailed a link to set a password.", name=user.full_name)
    return _("%(name)s was added. Send the login details when ready.", name=user.full_name)


@bp.route("/users")
@admin_required
def users() -> ResponseReturnValue:
    shown = request.args.get("role", "staff")
    if shown not in ROLE_FILTERS:
        shown = "staff"
    query = (request.args.get("q") or "").strip()
    stmt = select(User).where(User.role.in_(ROLE_FILTERS[shown]))
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.first_name + " " + User.last_name).like(like),
                func.lower(User.email).like(like),
            )
        )
    stmt = stmt.order_by(User.is_active.desc(), User.role, User.last_name, User.first_name, User.id)
    page = paginate(stmt, request.args.get("page", 1, type=db_int))
    return render_template(
        "admin/users.html",
        page=page,
        shown=shown,
        query=query,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def user_new() -> ResponseReturnValue:
    form = NewStaffForm()
    if form.validate_on_submit():
        send = request.form.get("action") == "send"
        user = add_person(form, form.role.data or Role.COACH.value, send_details=send)
        if user is not None:
            db.commit()
            flash(created_message(user, sent=send), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


def active_admins() -> int:
    return (
        db.scalar(
            select(func.count(User.id)).where(
                User.role == Role.ADMIN.value, User.is_active.is_(True)
            )
        )
        or 0
    )


def _refusal(user: User, *, removes_admin: bool) -> str | None:
    """Why the signed-in admin may not take this user out of the active admins, if so."""
    if user.id == current_user.id:
        return _("You cannot do this to your own account; ask another administrator.")
    if removes_admin and user.role == Role.ADMIN and user.is_active and active_admins() <= 1:
        return _("%(name)s is the last administrator; add another one first.", name=user.full_name)
    return None


def _back_to_list() -> ResponseReturnValue:
    target = request.form.get("next") or ""
    if not target.startswith("/admin/users") or target.startswith("//"):
        target = url_for("admin.users")
    return redirect(target)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@admin_required
def user_active(user_id: int) -> ResponseReturnValue:
    """Deactivate (signed out everywhere at once) or reactivate an account."""
    user = db.get(User, user_id) or abort(404)
    action = request.form.get("action")
    if action == "deactivate":
        refusal = _refusal(user, removes_admin=True)
        if refusal:
            flash(refusal, "error")
            return _back_to_list()
        set_account_active(user, False)  # every login session of this user ends now
        flash(_("%(name)s is deactivated and signed out.", name=user.full_name), "success")
    elif action == "reactivate":
        set_account_active(user, True)
        flash(_("%(name)s can sign in again.", name=user.full_name), "success")
    else:
        flash(_("Unknown action."), "error")
    db.commit()
    return _back_to_list()


@bp.route("/users/<int:user_id>/login-details", methods=["POST"])
@admin_required
def user_login_details(user_id: int) -> ResponseReturnValue:
    """Email a link to choose a password: the welcome email until one is set, else a reset.

    The password itself is never sent nor shown.
    """
    user = db.get(User, user_id) or abort(404)
    if not user.is_active:
        flash(_("Reactivate %(name)s first.", name=user.full_name), "error")
        return _back_to_list()
    if user.password_hash is None:
        send_login_details(user)
    else:
        send_password_reset(user)
    db.commit()
    flash(_("%(name)s was emailed a link to set a password.", name=user.full_name), "success")
    return _back_to_list()


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@admin_required
def user_role(user_id: int) -> ResponseReturnValue:
    """Switch a staff member between coach and administrator."""
    user = db.get(User, user_id) or abort(404)
    role = request.form.get("role")
    if user.role not in STAFF_ROLES or role not in STAFF_ROLES:
        flash(_("Only coaches and administrators can change role."), "error")
        return _back_to_list()
    if role != user.role:
        refusal = _refusal(user, removes_admin=role != Role.ADMIN)
        if refusal:
            flash(refusal, "error")
            return _back_to_list()
        user.role = role
        db.commit()
        label = _("administrator") if role == Role.ADMIN else _("coach")
        flash(_("%(name)s is now %(role)s.", name=user.full_name, role=label), "success")
    return _back_to_list()
