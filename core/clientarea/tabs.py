"""The four core tabs of the client area. Each renders its own panel, and handles its own posts.

Every list is loaded with a fixed number of statements (``core.sessions.queries``), so
a tab costs the same whether the client has five sessions or two thousand.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from core.accounts.email_change import cancel_email_change, request_email_change
from core.accounts.models import User
from core.accounts.passwords import password_problem, verify_password
from core.accounts.service import AccountError, set_password
from core.clientarea.calendar import renew_feed, revoke_feed
from core.clientarea.cards import stats_for
from core.clientarea.forms import PasswordForm, ProfileForm, timezone_choices
from core.db import db
from core.payments.queries import recently_refunded, refunds_by_session
from core.plugins import collect
from core.programs.queries import bundles_of_sessions
from core.sessions.models import CoachingSession
from core.sessions.queries import (
    amount_due,
    cancelled_ahead,
    past_sessions,
    unpaid_sessions,
    upcoming_sessions,
)
from core.sessions.service import cancellation_deadline, client_can_cancel
from core.settings import get_option
from core.validation import db_int

#: Cards per page in every list of the client area.
PAGE_SIZE = 20


def coaches_of(sessions: list[CoachingSession]) -> list[User]:
    """The distinct coaches of these sessions (loaded with them), to show how to reach them."""
    seen: dict[int, User] = {}
    for session in sessions:
        seen.setdefault(session.coach_id, session.coach)
    return list(seen.values())


class PaymentButtons:
    """Pay buttons for unpaid sessions: ready providers' buttons, then the hook's extras."""

    def __init__(self, client: User) -> None:
        self.client = client
        providers = (cls() for cls in collect("payment_providers"))
        self.providers = [p for p in providers if p.is_ready()]

    def __call__(self, session: CoachingSession) -> list[Markup]:
        buttons = [p.payment_button(session, self.client) for p in self.providers]
        buttons += collect("session_payment_buttons", session=session, client=self.client)
        return [Markup(b) for b in buttons if b]  # noqa: S704 (providers return HTML)


def _page_number() -> int:
    return request.args.get("page", 1, type=db_int) or 1


def _render(template: str, **context: Any) -> str:
    return render_template(template, client=current_user, **context)


def sessions_tab() -> str | Response:
    """Upcoming sessions as cards, with cancel, calendar, pay, links and documents."""
    if request.method == "POST":
        return redirect(url_for("clientarea.tab", key="sessions"))
    stats = stats_for(current_user)
    now = stats.at  # the figures' instant: the lists and their totals agree
    upcoming = upcoming_sessions(current_user.id, now, _page_number(), PAGE_SIZE, stats.upcoming)
    cancelled = cancelled_ahead(current_user.id, now)
    return _render(
        "clientarea/sessions.html",
        page=upcoming,
        cancelled=cancelled,
        can_cancel=lambda s: client_can_cancel(s, now),
        deadline=cancellation_deadline,
        window_hours=int(get_option("general.cancellation_window_hours")),
        pay_buttons=PaymentButtons(current_user),
        has_past=stats.past > 0,
    )


def payments_tab() -> str | Response:
    """What the client owes, the total per currency, the pay buttons, and recent refunds."""
    if request.method == "POST":
        return redirect(url_for("clientarea.tab", key="payments"))
    stats = stats_for(current_user)
    unpaid = unpaid_sessions(current_user.id, _page_number(), PAGE_SIZE, stats.unpaid)
    pay_buttons = PaymentButtons(current_user)
    buttons = {s.id: pay_buttons(s) for s in unpaid.items}
    return _render(
        "clientarea/payments.html",
        page=unpaid,
        totals=amount_due(current_user.id),
        buttons=buttons,
        online=any(buttons.values()),
        actions=[Markup(a) for a in collect("client_payment_actions", client=current_user) if a],  # noqa: S704 (add-ons return HTML)
        coaches=coaches_of(unpaid.items),
        programs=bundles_of_sessions(unpaid.items),
        now=stats.at,
        refunded=recently_refunded(current_user.id),
    )


def history_tab() -> str | Response:
    """Past sessions, newest first, paginated; receipts for paid ones, refunds shown."""
    if request.method == "POST":
        return redirect(url_for("clientarea.tab", key="history"))
    stats = stats_for(current_user)
    page = past_sessions(current_user.id, stats.at, _page_number(), PAGE_SIZE, stats.past)
    return _render(
        "clientarea/history.html",
        page=page,
        refunds=refunds_by_session(s.id for s in page.items),
        programs=bundles_of_sessions(page.items),
    )


def profile_tab() -> str | Response:
    """Details, password and calendar feed; each form posts back to this tab."""
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    action = request.form.get("action") if request.method == "POST" else None
    details = ProfileForm(obj=user)
    details.timezone.choices = timezone_choices(str(get_option("general.timezone")))
    password = PasswordForm()
    here = url_for("clientarea.tab", key="profile")
    if action == "details":
        if details.validate_on_submit() and _save_details(user, details):
            return redirect(here)
    elif action == "email-cancel":  # CSRF is checked for every POST (CSRFProtect)
        cancel_email_change(user)
        db.commit()
        flash(_("The email change is cancelled."), "success")
        return redirect(here)
    elif action == "password":
        if password.validate_on_submit() and _change_password(user, password):
            flash(_("Your password is changed. Other devices have been signed out."), "success")
            return redirect(here)
    elif action in ("feed-create", "feed-revoke"):
        _feed_action(user, action)
        return redirect(here + "#calendar-feed")
    feed_url = None
    if user.calendar_token:
        base = current_app.config["BASE_URL"].rstrip("/")
        feed_url = base + url_for("clientarea.calendar_feed", token=user.calendar_token)
    return _render("clientarea/profile.html", details=details, password=password, feed_url=feed_url)


def _save_details(user: User, form: ProfileForm) -> bool:
    """Save the details; a new email asks for the current password, then waits for its
    confirmation (``core.accounts.email_change``)."""
    email = (form.email.data or "").strip()
    if email.lower() != user.email.lower() and not verify_password(
        user.password_hash, form.current_password.data or ""
    ):
        form.current_password.errors.append(_("Enter your current password to change your email."))
        return False
    user.first_name = (form.first_name.data or "").strip()
    user.last_name = (form.last_name.data or "").strip()
    user.phone = (form.phone.data or "").strip() or None
    user.timezone = form.timezone.data or None
    user.locale = form.locale.data or None
    try:
        pending = request_email_change(user, email, by=user)
    except AccountError as exc:
        db.rollback()
        form.email.errors.append(str(exc))
        return False
    db.commit()
    if pending:
        flash(
            _(
                "Your details are saved. Open the link we sent to %(new)s to start using it; "
                "until then you sign in with %(old)s.",
                new=email,
                old=user.email,
            ),
            "success",
        )
    else:
        flash(_("Your details are saved."), "success")
    return True


def _change_password(user: User, form: PasswordForm) -> bool:
    if not verify_password(user.password_hash, form.current.data or ""):
        form.current.errors.append(_("This is not your current password."))
        return False
    new = form.password.data or ""
    problem = password_problem(new, email=user.email, names=(user.first_name, user.last_name))
    if problem:
        form.password.errors.append(problem)
        return False
    set_password(user, new, keep_session=user.login_session)  # other devices are signed out
    db.commit()
    return True


def _feed_action(user: User, action: str) -> None:
    if action == "feed-create":
        renew_feed(user)
        flash(_("Your private calendar link is ready. Any older link no longer works."), "success")
    else:
        revoke_feed(user)
        flash(_("Your calendar link is switched off."), "success")
    db.commit()
