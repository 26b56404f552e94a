"""Sign in, sign out, set a password from an emailed link, and the role-based landing page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from core.accounts.access import public, signed_in
from core.accounts.forms import LoginForm, SetPasswordForm
from core.accounts.models import Role, User
from core.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from core.accounts.service import find_by_email, set_password
from core.accounts.tokens import user_for_password_token
from core.db import db, utcnow
from core.extensions import get_limiter

bp = Blueprint("accounts", __name__)

LANDING = {
    Role.CLIENT: "clientarea.index",
    Role.COACH: "coach.home",
    Role.ADMIN: "admin.dashboard",
}


def landing_url(user: User) -> str:
    return url_for(LANDING[Role(user.role)])


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_email_key() -> str:
    return "login-email:" + (request.form.get("email") or "").strip().lower()


@public
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_by_email(form.email.data or "")
        password = form.password.data or ""
        if user is None or not verify_password(user.password_hash, password):
            flash(_("Email or password is incorrect."), "error")
        elif not user.is_active:
            flash(_("This account is disabled. Please contact your coach."), "error")
        else:
            if user.password_hash and needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login_at = utcnow()
            db.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or landing_url(user))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> ResponseReturnValue:
    logout_user()
    flash(_("You are signed out."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/password/<token>", methods=["GET", "POST"])
@public
def set_password_from_link(token: str) -> ResponseReturnValue:
    user = user_for_password_token(token)
    if user is None:
        return render_template("accounts/link_expired.html"), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        password = form.password.data or ""
        problem = password_problem(
            password, email=user.email, names=(user.first_name, user.last_name)
        )
        if problem:
            form.password.errors.append(problem)
        else:
            set_password(user, password)
            db.commit()
            logout_user()
            login_user(user)
            flash(_("Your password is set. Welcome!"), "success")
            return redirect(landing_url(user))
    return render_template("accounts/set_password.html", form=form, user=user)


@bp.route("/")
@public
def home() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    return redirect(url_for("accounts.login"))


@bp.record_once
def _add_slug_routes(state) -> None:  # type: ignore[no-untyped-def]
    """The login URL is a configurable slug; its POST is rate limited per address and per email."""
    limiter = get_limiter(state.app)
    view = limiter.limit(state.app.config["LOGIN_RATE_LIMIT"], methods=["POST"])(login)
    view = limiter.limit("5 per minute", key_func=_login_email_key, methods=["POST"])(view)
    view.access = "public"
    state.add_url_rule(
        "/" + state.app.config["SLUGS"]["login"], "login", view, methods=["GET", "POST"]
    )


def too_many_requests(error: TooManyRequests) -> ResponseReturnValue:
    """Rate limit reached: say so plainly, on the page the user was on."""
    message = _("Too many sign-in attempts. Please wait a minute, then try again.")
    if request.endpoint == "accounts.login":
        flash(message, "error")
        return render_template("accounts/login.html", form=LoginForm()), 429
    return render_template("errors/error.html", code=429, message=message), 429


# -- forgot password (emails area) -------------------------------------------------


def _forgot_email_key() -> str:
    return "forgot-email:" + (request.form.get("email") or "").strip().lower()


@public
def forgot_password() -> ResponseReturnValue:
    """Email a reset link. The answer is the same whether or not the account exists."""
    from core.accounts.forms import ForgotPasswordForm
    from core.emails import InvalidAddress
    from core.emails.accounts import send_password_reset

    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = find_by_email(form.email.data or "")
        if user is not None and user.is_active:
            try:
                send_password_reset(user)
                db.commit()
            except InvalidAddress:
                db.rollback()
        flash(
            _(
                "If an account uses this address, it will receive a link to choose a new "
                "password within a few minutes. The link works for two hours."
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.record_once
def _add_forgot_password_route(state) -> None:  # type: ignore[no-untyped-def]
    """Rate limited per address and per email, so nobody can flood an inbox."""
    limiter = get_limiter(state.app)
    view = limiter.limit("5 per minute;20 per hour", methods=["POST"])(forgot_password)
    view = limiter.limit("3 per hour", key_func=_forgot_email_key, methods=["POST"])(view)
    view.access = "public"
    state.add_url_rule("/password/forgot", "forgot_password", view, methods=["GET", "POST"])
