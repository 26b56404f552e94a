"""Queueing: every email becomes an outbox row inside the caller's transaction.

A rolled-back change therefore sends nothing, and a committed one is delivered by
the worker even if the web process dies a moment later.
"""

from __future__ import annotations

import base64
import logging
from email.utils import formataddr
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import Field, ValidationError

from core.accounts.models import Role, User
from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.emails.options import sender, type_enabled
from core.emails.render import render_email
from core.emails.types import get_email_type
from core.plugins import call
from core.sessions.models import CoachingSession
from hooks import OutgoingEmail

log = logging.getLogger(__name__)


class InvalidAddress(ValueError):
    """The recipient's address cannot receive email; the message says why."""


def normalize_address(address: str) -> str:
    """The address as it will be used, or :class:`InvalidAddress` with a readable reason."""
    try:
        return validate_email(
            address or "", check_deliverability=False, test_environment=True
        ).normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(
            _("“%(address)s” is not a valid email address: %(reason)s", address=address, reason=exc)
        ) from None


def valid_address(_form: object, field: Field) -> None:
    """WTForms validator: an address the outbox will accept (syntax only, test domains allowed).

    Every form that takes an email address uses it, so that what a form accepts
    can always be written to.
    """
    try:
        normalize_address(field.data or "")
    except InvalidAddress:
        raise ValidationError(_l("Enter an email address such as name@example.com.")) from None


def is_queued(dedupe_key: str) -> bool:
    return db.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key)) is not None


def _reply_to(to: User, session: CoachingSession | None) -> str | None:
    """Clients answering a session email reach their coach."""
    if session is None or to.role != Role.CLIENT:
        return None
    coach = db.get(User, session.coach_id)
    return formataddr((coach.sender_name, coach.email)) if coach else None


def queue_email(
    email_type: str,
    *,
    to: User,
    context: dict[str, Any],
    session: CoachingSession | None = None,
    dedupe_key: str | None = None,
    to_address: str | None = None,
) -> OutboxEmail | None:
    """Render an email for ``to`` and write it to the outbox in the current transaction.

    ``to_address`` sends it elsewhere than ``to.email`` (a new address being confirmed).
    Returns None when the type is switched off, an add-on vetoed it, or an email
    with the same ``dedupe_key`` was already queued. Raises :class:`InvalidAddress`
    for an address that cannot receive mail and ``UnknownEmailType`` for a typo.
    The caller commits.
    """
    kind = get_email_type(email_type)
    address = normalize_address(to_address or to.email)
    if not type_enabled(kind):
        log.info("email %s to %s not queued: switched off in settings", kind.key, address)
        return None
    if dedupe_key and is_queued(dedupe_key):
        return None
    rendered = render_email(kind, to, context, session)
    outgoing = OutgoingEmail(
        email_type=kind.key,
        to_address=address,
        to_name=to.full_name,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        session_id=session.id if session is not None else None,
        user_id=to.id,
        dedupe_key=dedupe_key,
        locale=rendered.locale,
        context=dict(context),
    )
    call("before_email_queued", email=outgoing)
    if outgoing.vetoed_by:
        log.info("email %s to %s vetoed: %s", kind.key, address, outgoing.vetoed_by)
        return None
    row = OutboxEmail(
        email_type=outgoing.email_type,
        dedupe_key=outgoing.dedupe_key,
        to_address=address
        if outgoing.to_address == address
        else normalize_address(outgoing.to_address),  # changed by an add-on
        to_name=(outgoing.to_name or "")[:200] or None,
        from_address=sender(),
        reply_to=_reply_to(to, session),
        subject=outgoing.subject[:300],
        body_text=outgoing.body_text,
        body_html=outgoing.body_html,
        attachments=[
            {"filename": name, "content_type": ctype, "data": base64.b64encode(data).decode()}
            for name, ctype, data in outgoing.attachments
        ],
        session_id=outgoing.session_id,
        user_id=outgoing.user_id,
        next_attempt_at=utcnow(),
    )
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        log.info("email %s not queued: %s is already in the outbox", kind.key, dedupe_key)
        return None
    call("email_queued", email=outgoing)
    return row
