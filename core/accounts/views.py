"""Sign in, sign out, set a password from an emailed link, and the role-based landing page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import TooManyRequests

from core.accounts.access import public, signed_in
from core.accounts.audit import audit
from core.accounts.email_change import cancel_email_change, confirm_email_change
from core.accounts.forms import (
    CancelEmailChangeForm,
    ConfirmEmailForm,
    LoginForm,
    SetPasswordForm,
)
from core.accounts.models import PasswordResetRequest, Role, User
from core.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from core.accounts.permissions import has_capability
from core.accounts.service import find_by_email, reset_password
from core.accounts.sessions import end_session, start_session
from core.accounts.tokens import make_password_token, user_for_email_token, user_for_password_token
from core.db import db, utcnow
from core.extensions import get_limiter

bp = Blueprint("accounts", __name__)

LANDING = {
    Role.CLIENT: "clientarea.index",
    Role.COACH: "coach.home",
    Role.ADMIN: "admin.dashboard",
}


def landing_url(user: User) -> str:
    """The user's home; a coach who may not see sessions starts from their clients."""
    if (
        user.role == Role.COACH
        and not has_capability(user, "view_sessions")
        and has_capability(user, "view_clients")
    ):
        return url_for("coach.clients")
    return url_for(LANDING[Role(user.role)])


@bp.app_template_global("can")
def can(capability: str) -> bool:
    """In templates: whether the signed-in user has ``capability`` (hides links to pages,
    and data, that it guards)."""
    return bool(current_user.is_authenticated and has_capability(current_user, capability))


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
        # One verification whether or not the account exists (an unknown email is checked
        # against a dummy hash): the answer takes as long either way.
        if not verify_password(user.password_hash if user else None, password) or user is None:
            audit("failed sign-in")
            flash(_("Email or password is incorrect."), "error")
        elif not user.is_active:
            flash(_("This account is disabled. Please contact your coach."), "error")
        else:
            if user.password_hash and needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login_at = utcnow()
            start_session(user)
            return redirect(_safe_next(request.args.get("next")) or landing_url(user))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> ResponseReturnValue:
    """End this browser's login session on the server (other devices stay signed in)."""
    end_session()
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
            feed_renewed = reset_password(user, password)
            start_session(user)  # commits; every other session of this user has ended
            flash(_("Your password is set. Welcome!"), "success")
            if feed_renewed:
                flash(
                    _(
                        "Your private calendar link was renewed: copy the new one from your "
                        "profile into your calendar app."
                    ),
                    "info",
                )
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
    audit("rate limit reached: %s", request.path)
    if request.endpoint == "accounts.login":
        flash(_("Too many sign-in attempts. Please wait a minute, then try again."), "error")
        return render_template("accounts/login.html", form=LoginForm()), 429
    message = _("You have done this too many times in a short while. Please try again later.")
    return render_template("errors/error.html", code=429, message=message), 429


# -- forgot password (emails area) -------------------------------------------------


def _forgot_email_key() -> str:
    return "forgot-email:" + (request.form.get("email") or "").strip().lower()


@public
def forgot_password() -> ResponseReturnValue:
    """Email a reset link. The answer, and the work behind it, are the same whether or not
    the account exists: the request is recorded as typed and the worker looks it up
    (``core.emails.accounts.send_requested_resets``)."""
    from core.accounts.forms import ForgotPasswordForm

    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        db.add(PasswordResetRequest(email=(form.email.data or "").strip()[:254]))
        db.commit()
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


# -- email change links --------------------------------------------------------------


def _email_link_expired() -> ResponseReturnValue:
    message = _(
        "For your security, this link works only while the change waits and for a limited "
        "time. Ask for the change again if needed."
    )
    return render_template("accounts/link_expired.html", message=message), 410


@public
def confirm_email(token: str) -> ResponseReturnValue:
    """The link sent to a new address: make it the sign-in email.

    Asks for the account's password unless this browser is signed in as the user, so
    that whoever typed someone else's address cannot confirm it for them. Rate limited.
    """
    user = user_for_email_token(token, "confirm")
    if user is None:
        return _email_link_expired()
    signed_in_as_user = current_user.is_authenticated and current_user.id == user.id
    needs_password = user.password_hash is not None and not signed_in_as_user
    form = ConfirmEmailForm()
    if not needs_password:
        del form.password
    if form.validate_on_submit():
        if needs_password and not verify_password(user.password_hash, form.password.data or ""):
            form.password.errors.append(_("This is not the password of this account."))
        else:
            return _confirmed(user, signed_in_as_user)
    return render_template(
        "accounts/confirm_email.html", form=form, user=user, needs_password=needs_password
    )


def _confirmed(user: User, signed_in_as_user: bool) -> ResponseReturnValue:
    address = user.pending_email
    try:
        done = confirm_email_change(user)
        db.commit()
    except IntegrityError:  # taken at this very moment: the unique index decided
        db.rollback()
        done = False
    if not done:
        cancel_email_change(user)
        db.commit()
        message = _("Another account now uses %(email)s: the change was not made.", email=address)
        return render_template("accounts/link_expired.html", message=message), 409
    if signed_in_as_user:
        flash(_("Your sign-in email is now %(email)s.", email=address), "success")
        return redirect(landing_url(user))
    if user.password_hash is None:  # never signed in: choosing a password comes next
        flash(_("Your email address is confirmed. Choose your password to sign in."), "success")
        token = make_password_token(user, "welcome")
        return redirect(url_for("accounts.set_password_from_link", token=token))
    flash(_("Your email address is confirmed: sign in with %(email)s.", email=address), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/email/cancel/<token>", methods=["GET", "POST"], endpoint="cancel_email_change")
@public
def cancel_email_change_page(token: str) -> ResponseReturnValue:
    """The link sent to the current address: drop the change (a button, not the GET)."""
    user = user_for_email_token(token, "cancel")
    if user is None:
        return _email_link_expired()
    form = CancelEmailChangeForm()
    if form.validate_on_submit():
        cancel_email_change(user)
        db.commit()
        flash(
            _("The change is cancelled: your sign-in email stays %(email)s.", email=user.email),
            "success",
        )
        if current_user.is_authenticated:
            return redirect(landing_url(current_user))
        return redirect(url_for("accounts.login"))
    return render_template("accounts/cancel_email_change.html", form=form, user=user)


@bp.record_once
def _add_confirm_email_route(state) -> None:  # type: ignore[no-untyped-def]
    """Rate limited per address: the form checks a password."""
    limiter = get_limiter(state.app)
    view = limiter.limit("5 per minute;20 per hour", methods=["POST"])(confirm_email)
    view.access = "public"
    state.add_url_rule("/email/confirm/<token>", "confirm_email", view, methods=["GET", "POST"])
