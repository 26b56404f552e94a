"""Premium's two emails: payment confirmed (to the client) and payment received (to the coach).

They are registered email types like the core's, so each gets its switch and subject
in Settings → Emails. The core renders email templates with its own catalog; the
``email_context`` hook below hands Premium's templates gettext functions that look in
Premium's catalog first and then in the core's (for the shared layout's words), in the
recipient's language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import get_translations
from jinja2.ext import _make_new_gettext, _make_new_ngettext

from addons.premium.i18n import _, translations
from core import api
from hooks import EmailType, hookimpl

log = logging.getLogger(__name__)

PAYMENT_CONFIRMED = "payment_confirmed"
PAYMENT_RECEIVED = "payment_received"
TYPES = (PAYMENT_CONFIRMED, PAYMENT_RECEIVED)


@hookimpl
def email_types() -> list[EmailType]:
    return [
        EmailType(
            PAYMENT_CONFIRMED,
            _("Payment confirmed (client)"),
            "client",
            _("Payment confirmed: {amount}"),
            _("Sent to the client when their online payment is received."),
        ),
        EmailType(
            PAYMENT_RECEIVED,
            _("Payment received (coach)"),
            "coach",
            _("Payment received from {client_name}: {amount}"),
            _("Sent to the coach when a client pays sessions online."),
        ),
    ]


def _ugettext(message: str) -> str:
    translated = translations.domain.get_translations().ugettext(message)
    if translated == message:  # not one of Premium's words: the core's layout, say
        translated = get_translations().ugettext(message)
    return str(translated)


def _ungettext(singular: str, plural: str, n: int) -> str:
    translated = translations.domain.get_translations().ungettext(singular, plural, n)
    if translated in (singular, plural):
        translated = get_translations().ungettext(singular, plural, n)
    return str(translated)


@hookimpl
def email_context(email_type: str, recipient: api.User, context: dict[str, Any]) -> dict[str, Any]:
    """Premium's catalog for Premium's templates; amounts in the recipient's language."""
    if email_type not in TYPES:
        return {}
    gettext = _make_new_gettext(_ugettext)
    fmt = context["fmt"]
    lines = [
        (title, fmt.date(starts_at), api.format_money(amount, context["currency"]))
        for title, starts_at, amount in context.get("paid_lines", [])
    ]
    return {
        "_": gettext,
        "gettext": gettext,
        "ngettext": _make_new_ngettext(_ungettext),
        "amount": api.format_money(context["amount_minor"], context["currency"]),
        "lines": lines,
    }


def _external(endpoint: str, **values: Any) -> str:
    base = urlsplit(current_app.config["BASE_URL"])
    return f"{base.scheme}://{base.netloc}{url_for(endpoint, **values)}"


def _queue(email_type: str, **kwargs: Any) -> None:
    try:
        api.queue_email(email_type, **kwargs)
    except ValueError:  # an address that cannot receive mail: the payment still counts
        log.exception("premium: %s email not queued", email_type)


def queue_payment_emails(
    sessions: Sequence[api.CoachingSession], payments: Sequence[api.Payment], intent: str
) -> None:
    """One email to the client, one to each coach; each at most once per PaymentIntent."""
    by_session = {p.session_id: p for p in payments}
    currency = payments[0].currency

    def lines(group: Sequence[api.CoachingSession]) -> list[tuple[str, Any, int]]:
        return [(s.title, s.starts_at, by_session[s.id].amount) for s in group]

    common = {"currency": currency, "payment_reference": intent}
    first = sessions[0]
    client = api.db.get(api.User, first.client_id) if first.client_id else None
    if client is not None:
        _queue(
            PAYMENT_CONFIRMED,
            to=client,
            session=first,
            context={
                **common,
                "amount_minor": sum(p.amount for p in payments),
                "paid_lines": lines(sessions),
                "history_url": _external("clientarea.tab", key="history"),
            },
            dedupe_key=f"premium-paid-{intent}-{first.id}-client",
        )
    by_coach: dict[int, list[api.CoachingSession]] = {}
    for session in sessions:
        by_coach.setdefault(session.coach_id, []).append(session)
    for coach_id, group in by_coach.items():
        coach = api.db.get(api.User, coach_id)
        if coach is None:
            continue
        _queue(
            PAYMENT_RECEIVED,
            to=coach,
            session=group[0],
            context={
                **common,
                "amount_minor": sum(by_session[s.id].amount for s in group),
                "paid_lines": lines(group),
                "attention_titles": [s.title for s in group if by_session[s.id].attention],
            },
            dedupe_key=f"premium-paid-{intent}-{group[0].id}-coach",
        )
