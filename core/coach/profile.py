"""A client's profile as staff see it: tabs from the ``client_profile_tabs`` hook.

The core's own tabs (Overview, Sessions, Finances, Contact) are registered in
``core/coach/plugin.py`` like an add-on's; their renderers live here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Select, and_, bindparam, case, func, not_, select
from werkzeug.wrappers import Response

from core.accounts.access import get_client_or_404, staff_required
from core.accounts.email_change import cancel_email_change, request_email_change
from core.accounts.models import ClientNote, User
from core.accounts.permissions import capability_required, has_capability, require_capability
from core.accounts.service import AccountError, set_account_active
from core.charts import donut_chart
from core.coach.blueprint import back, bp
from core.coach.clients import next_start
from core.coach.forms import PAYMENT_LABELS, ClientForm, NotesForm
from core.coach.home import open_session_redirect
from core.coach.queries import VIEWER, page_arg, scope_form, scope_in_form, scoped_sessions
from core.db import db, utcnow
from core.i18n import money
from core.payments.queries import (
    money_totals_query,
    refundable_payments,
    refunds_by_session,
    totals_of,
)
from core.plugins import collect, render_tab, tabs_from
from core.sessions.models import (
    PAYMENT_STATUSES,
    CoachingSession,
    PaymentStatus,
    SessionStatus,
)
from core.sessions.queries import CLIENT, NOW, paginate, past_clause, upcoming_clause
from hooks import StatCard, Tab

CARDS_PER_PAGE = 5
ROWS_PER_PAGE = 20
TIMELINE_LIMIT = 30


def profile_tabs(client: User) -> list[Tab]:
    return tabs_from("client_profile_tabs", client=client, viewer=current_user)


@bp.route("/customer/<int:client_id>")
@bp.route("/customer/<int:client_id>/<tab>", methods=["GET", "POST"])
@staff_required
@capability_required("view_clients")
def profile(client_id: int, tab: str | None = None) -> ResponseReturnValue:
    client = get_client_or_404(current_user, client_id)
    opened = open_session_redirect()
    if opened is not None:
        return opened
    tabs = profile_tabs(client)
    chosen, body = render_tab(tabs, tab)
    if isinstance(body, Response):
        return body
    return render_template(
        "coach/profile.html",
        client=client,
        tabs=tabs,
        active=chosen.key,
        body=body,
        next_session=next_session(client)
        if has_capability(current_user, "view_sessions")
        else None,
    )


@cache
def _next_start_query(form: str) -> Select[tuple[Any]]:
    """:func:`next_start` of one client, built once per form of scope."""
    return next_start(CLIENT, form, VIEWER, NOW)


def next_session(client: User) -> datetime | None:
    """When the client's next session starts (the page header): that alone, read through
    the client's index."""
    return db.scalar(_next_start_query(scope_form(current_user)), _params(client))


def _params(client: User, **more: Any) -> dict[str, Any]:
    """The parameters of this module's statements built once: viewer, client, now."""
    return {"viewer_id": current_user.id, "client_id": client.id, "now": utcnow(), **more}


def here() -> str:
    """This page's URL, for forms that come back to it."""
    return request.full_path.rstrip("?")


# --------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------


def overview_tab(client: User) -> str:
    """Session cards and figures (for viewers who may see sessions), notes, the email timeline."""
    sees_sessions = has_capability(current_user, "view_sessions")
    note = db.get(ClientNote, client.id)
    context: dict[str, Any] = {
        "client": client,
        "sees_sessions": sees_sessions,
        "notes_form": NotesForm(body=note.body if note else ""),
        "note": note,
        "timeline": visible_timeline(client, with_sessions=sees_sessions),
        "here": here(),
        "can_edit": has_capability(current_user, "edit_sessions"),
        "can_edit_client": has_capability(current_user, "edit_clients"),
    }
    if sees_sessions:
        form, params = scope_form(current_user), _params(client)
        counts = session_counts(params)
        context["cards"] = overview_cards(counts, finance_totals(client))
        for key, arg, total in (("upcoming", "up", counts.upcoming), ("past", "past", counts.past)):
            query = _cards_query(form, upcoming=key == "upcoming")
            context[key] = paginate(query, page_arg(arg), CARDS_PER_PAGE, total, params)
    return render_template("coach/tabs/overview.html", **context)


@cache
def _cards_query(form: str, *, upcoming: bool) -> Select[tuple[CoachingSession]]:
    """The client's upcoming (soonest first) or past (latest first) sessions in a viewer's
    scope, with their client (and coach, for administrators): built once per form."""
    s = CoachingSession
    if upcoming:
        return _client_rows(form).where(upcoming_clause(NOW)).order_by(s.starts_at, s.id)
    return _client_rows(form).where(past_clause(NOW)).order_by(s.starts_at.desc(), s.id.desc())


def visible_timeline(client: User, *, with_sessions: bool = True) -> list[Any]:
    """The client's account and session emails, minus those about sessions the viewer cannot see
    (the client may also have sessions with another coach; without ``with_sessions``, all)."""
    from core.emails.log import client_timeline

    hidden = set(db.scalars(_hidden_query(scope_form(current_user)), _params(client)))
    return [
        item
        for item in client_timeline(client.id)
        if item.session_id is None or (with_sessions and item.session_id not in hidden)
    ][:TIMELINE_LIMIT]


@dataclass(frozen=True)
class SessionCounts:
    upcoming: int
    past: int
    completed: int


def session_counts(params: dict[str, Any]) -> SessionCounts:
    """The client's upcoming, past and completed sessions in the viewer's scope, in one query:
    the cards show them, and the two lists need no count of their own."""
    row = db.execute(_counts_query(scope_form(current_user)), params).one()
    return SessionCounts(*(int(n or 0) for n in row))


@cache
def _counts_query(form: str) -> Select[Any]:
    s = CoachingSession
    return select(
        func.count(case((upcoming_clause(NOW), 1))),
        func.count(case((past_clause(NOW), 1))),
        func.count(case((s.status == SessionStatus.COMPLETED.value, 1))),
    ).where(s.client_id == CLIENT, scope_in_form(form, VIEWER))


@cache
def _hidden_query(form: str) -> Select[tuple[int]]:
    """The client's sessions a viewer of ``form`` does not see (their emails are left out)."""
    s = CoachingSession
    return select(s.id).where(s.client_id == CLIENT, not_(scope_in_form(form, VIEWER)))


def overview_cards(counts: SessionCounts, totals: FinanceTotals) -> list[StatCard]:
    """Upcoming and completed sessions, pending and paid money."""
    return [
        StatCard("upcoming", _("Upcoming sessions"), str(counts.upcoming)),
        StatCard("completed", _("Completed sessions"), str(counts.completed)),
        StatCard("pending", _("Pending payment"), totals.pending),
        StatCard("paid", _("Paid"), totals.paid),
    ]


@bp.route("/coach/clients/<int:client_id>/notes", methods=["POST"])
@staff_required
@capability_required("view_clients", "edit_clients")
def save_notes(client_id: int) -> ResponseReturnValue:
    """Save the private notes; answers JSON to coach.js's fetch(), else comes back to the page."""
    client = get_client_or_404(current_user, client_id)
    form = NotesForm()
    wants_json = request.accept_mimetypes.best == "application/json"
    if not form.validate_on_submit():
        if wants_json:
            return jsonify(ok=False, error=_("The notes could not be saved.")), 400
        flash(_("The notes could not be saved."), "error")
        return back(url_for("coach.profile", client_id=client.id))
    note = db.get(ClientNote, client.id) or ClientNote(client_id=client.id)
    note.body = form.body.data or ""
    note.updated_by_id = current_user.id
    note.updated_at = utcnow()
    db.add(note)
    db.commit()
    message = _("Notes saved.")
    if wants_json:
        return jsonify(ok=True, message=message)
    flash(message, "success")
    return back(url_for("coach.profile", client_id=client.id))


# --------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------


def sessions_tab(client: User) -> str:
    status = request.args.get("status", "")
    known = status in {s.value for s in SessionStatus}
    query = _rows_query(scope_form(current_user), status=known)
    page = paginate(query, page_arg(), ROWS_PER_PAGE, None, _params(client, status=status))
    return render_template(
        "coach/tabs/sessions.html",
        client=client,
        page=page,
        status=status,
        here=here(),
        now=utcnow(),
        can_edit=has_capability(current_user, "edit_sessions"),
    )


@cache
def _rows_query(
    form: str, *, status: bool = False, billable: bool = False, payment: bool = False
) -> Select[tuple[CoachingSession]]:
    """The rows of the Sessions and Finances tabs, latest first, built once per form of
    scope and filter: ``status`` and ``payment`` filter on the parameters of those names,
    ``billable`` keeps the billed sessions."""
    s = CoachingSession
    query = _client_rows(form).order_by(s.starts_at.desc(), s.id.desc())
    if status:
        query = query.where(s.status == bindparam("status"))
    if billable:
        query = query.where(_billable())
    if payment:
        query = query.where(s.payment_status == bindparam("payment"))
    return query


def _client_rows(form: str) -> Select[tuple[CoachingSession]]:
    """The client's sessions in a viewer's scope, with their client (and coach, for
    administrators) loaded in the same statement."""
    scoped = scoped_sessions(form, VIEWER, by_client=True)
    return scoped.where(CoachingSession.client_id == CLIENT)


# --------------------------------------------------------------------------
# Finances
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FinanceTotals:
    billed: str
    pending: str
    paid: str  # received, net of refunds
    refunded: str
    billable: int
    counts: dict[str, int]


def _billable() -> Any:
    """A session that is billed: it has a price and is not an open slot."""
    return and_(
        CoachingSession.price_amount.is_not(None),
        CoachingSession.status != SessionStatus.AVAILABLE.value,
    )


def _amounts(per_currency: dict[str, int]) -> str:
    """Money in each currency used, joined ("€120.00 + $30.00"); zero in the site currency."""
    from core.settings import get_option

    shown = {c: a for c, a in per_currency.items() if a} or {get_option("general.currency"): 0}
    return " + ".join(money(a, c) for c, a in sorted(shown.items()))


def finance_totals(client: User) -> FinanceTotals:
    """Billed, pending, paid (net) and refunded per currency, and the count of each payment
    status (two queries)."""
    form, params = scope_form(current_user), _params(client)
    rows = db.execute(_billed_query(form), params).all()
    billed: Counter[str] = Counter()
    pending: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for currency, status, count, total in rows:
        amount = int(total or 0)
        counts[status] += count
        if status != PaymentStatus.CANCELLED:
            billed[currency] += amount  # refunded sessions were billed too
        if status == PaymentStatus.PENDING:
            pending[currency] += amount
    received = totals_of(db.execute(_received_query(form), params))
    return FinanceTotals(
        _amounts(billed),
        _amounts(pending),
        _amounts(received.net),
        _amounts(received.refunded),
        sum(counts.values()),
        {status: counts.get(status, 0) for status in PAYMENT_STATUSES},
    )


@cache
def _billed_query(form: str) -> Select[Any]:
    """Count and sum of the client's billable sessions per currency and payment status."""
    s = CoachingSession
    price = func.coalesce(s.price_amount, 0)
    return (
        select(s.currency, s.payment_status, func.count(), func.sum(price))
        .where(s.client_id == CLIENT, scope_in_form(form, VIEWER), _billable())
        .group_by(s.currency, s.payment_status)
    )


@cache
def _received_query(form: str) -> Select[Any]:
    """Money received and refunded for the client's sessions, per currency."""
    return money_totals_query(CoachingSession.client_id == CLIENT, scope_in_form(form, VIEWER))


#: The colour of each payment status in the chart (the badges' colours).
PAYMENT_COLOURS = {
    "pending": "var(--warning)",
    "paid": "var(--success)",
    "refunded": "var(--indigo)",
    "cancelled": "var(--border-strong)",
}


def payments_chart(counts: dict[str, int]) -> Markup:
    """The client's billable sessions by payment status, as a donut."""
    return donut_chart(
        _("Payment statuses"),
        [(str(PAYMENT_LABELS[status]), count) for status, count in counts.items()],
        colours=[PAYMENT_COLOURS[status] for status in counts],
        total_label=_("sessions"),
        empty_text=_("No billable session yet."),
    )


def finances_tab(client: User) -> str:
    totals = finance_totals(client)
    payment = request.args.get("payment", "")
    known = payment in PAYMENT_STATUSES
    query = _rows_query(scope_form(current_user), billable=True, payment=known)
    page = paginate(query, page_arg(), ROWS_PER_PAGE, None, _params(client, payment=payment))
    return render_template(
        "coach/tabs/finances.html",
        client=client,
        totals=totals,
        refunds=refunds_by_session(s.id for s in page.items),
        payments=refundable_payments(s.id for s in page.items),
        can_refund=has_capability(current_user, "refund_payments"),
        chart=payments_chart(totals.counts),
        sections=[
            Markup(section)  # noqa: S704 (rendered by the core's areas and add-ons)
            for section in collect("client_finances_sections", client=client, viewer=current_user)
        ],
        payment=payment,
        page=page,
        here=here(),
        today=datetime.now(UTC).date(),
        can_edit=has_capability(current_user, "edit_sessions"),
    )


# --------------------------------------------------------------------------
# Contact
# --------------------------------------------------------------------------


def contact_tab(client: User) -> str | Response:
    """Contact details; POST saves them, optionally sending login details.

    A new email is not used at once: the client confirms it from the new address, and
    the current one is told (``core.accounts.email_change``), so that nobody who edits
    a client, a second coach of a shared client included, can redirect the account.
    """
    can_edit = has_capability(current_user, "edit_clients")
    form = ClientForm(obj=client)
    here = url_for("coach.profile", client_id=client.id, tab="contact")
    if request.method == "POST":
        require_capability(current_user, "edit_clients")
        action = request.form.get("action")
        if action == "email-cancel":
            cancel_email_change(client)
            db.commit()
            flash(_("The email change is cancelled."), "success")
            return redirect(here)
        if form.validate_on_submit():
            client.first_name = (form.first_name.data or "").strip()
            client.last_name = (form.last_name.data or "").strip()
            client.phone = (form.phone.data or "").strip() or None
            try:
                pending = request_email_change(client, form.email.data or "", by=current_user)
            except AccountError as exc:
                db.rollback()
                form.email.errors = [str(exc)]
            else:
                flash(_contact_saved(client, pending, send=action == "send"), "success")
                db.commit()
                return redirect(here)
    return render_template(
        "coach/tabs/contact.html",
        client=client,
        form=form,
        can_edit=can_edit,
        can_delete=has_capability(current_user, "delete_clients"),
    )


def _contact_saved(client: User, pending: bool, *, send: bool) -> str:
    """Queue the login details if asked (not while a new address waits); what to tell."""
    if not pending:
        if send:
            from core.emails.accounts import send_login_details

            send_login_details(client)
        return _("Contact details saved.")
    message = _(
        "Contact details saved. A confirmation link was sent to %(new)s; %(old)s stays the "
        "sign-in email until the client opens it.",
        new=client.pending_email,
        old=client.email,
    )
    if send:
        message += " " + _("Login details are not sent while a new address waits.")
    return message


def account_email_action(client_id: int, action: str) -> ResponseReturnValue:
    """Queue a login-details or password-reset email; the password itself is never shown."""
    client = get_client_or_404(current_user, client_id)
    from core.emails import accounts

    if action == "login":
        accounts.send_login_details(client)
        message = _("Login details sent to %(email)s.", email=client.email)
    else:
        accounts.send_password_reset(client)
        message = _("A password reset link was sent to %(email)s.", email=client.email)
    db.commit()
    flash(message, "success")
    return redirect(url_for("coach.profile", client_id=client.id, tab="contact"))


@bp.route("/coach/clients/<int:client_id>/active", methods=["POST"])
@staff_required
@capability_required("view_clients", "delete_clients")
def set_active(client_id: int) -> ResponseReturnValue:
    """Deactivate (sign-in refused, every login session ends) or reactivate a client.

    The history stays: sessions, payments and emails are kept.
    """
    client = get_client_or_404(current_user, client_id)
    set_account_active(client, request.form.get("active") == "1")
    db.commit()
    flash(
        _("%(name)s can sign in again.", name=client.full_name)
        if client.is_active
        else _("%(name)s is deactivated and can no longer sign in.", name=client.full_name),
        "success",
    )
    return redirect(url_for("coach.profile", client_id=client.id, tab="contact"))


@bp.route("/coach/clients/<int:client_id>/login-details", methods=["POST"])
@staff_required
@capability_required("view_clients", "edit_clients")
def send_login(client_id: int) -> ResponseReturnValue:
    return account_email_action(client_id, "login")


@bp.route("/coach/clients/<int:client_id>/password-reset", methods=["POST"])
@staff_required
@capability_required("view_clients", "edit_clients")
def send_reset(client_id: int) -> ResponseReturnValue:
    return account_email_action(client_id, "reset")
