"""Queueing: every email becomes an outbox row inside the caller's transaction.

A rolled-back change therefore sends nothing, and a committed one is delivered by
the worker even if the web process dies a moment later.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from wtforms import Field, ValidationError

from core.accounts.models import Role, User
from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.emails.options import sender, type_enabled
from core.emails.render import Lookups, Renderer
from core.emails.types import get_email_type
from core.plugins import call
from core.sessions.models import CoachingSession
from hooks import EmailType, OutgoingEmail

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


@dataclass
class EmailRequest:
    """One email for :func:`queue_emails`: the arguments :func:`queue_email` takes."""

    to: User
    context: dict[str, Any] = field(default_factory=dict)
    session: CoachingSession | None = None
    dedupe_key: str | None = None
    to_address: str | None = None


#: Dedupe keys looked up per query (well below every database's limit on parameters).
KEYS_PER_QUERY = 500


def queued_keys(keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are already in the outbox, in one query per 500 keys."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        chunk = wanted[start : start + KEYS_PER_QUERY]
        found.update(
            db.scalars(select(OutboxEmail.dedupe_key).where(OutboxEmail.dedupe_key.in_(chunk)))
        )
    return found


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
    request = EmailRequest(to, context, session, dedupe_key, to_address)
    (result,) = _queue(email_type, [request], _as_rows)
    if isinstance(result, InvalidAddress):
        raise result
    return result


def queue_emails(
    email_type: str, requests: Sequence[EmailRequest]
) -> list[OutgoingEmail | InvalidAddress | None]:
    """Queue many emails of one type in the current transaction: one result per request.

    Each request is treated as :func:`queue_email` would treat it, called for each in
    turn (the same dedupe, ``before_email_queued`` and ``email_queued`` hooks per email),
    but answers with the email as written (what ``email_queued`` received) instead of
    a row, and with its :class:`InvalidAddress` instead of raising it: the others are
    still queued. What the emails share is read once: the type and its settings, the
    sender, the people and links they show, the dedupe keys already queued (one query);
    the rows are written with one executemany INSERT. The caller commits.
    """
    return _queue(email_type, requests, _as_values)


#: What the outbox rows of a call were written as: ORM rows, or the emails themselves.
Written = TypeVar("Written", OutboxEmail, OutgoingEmail)
#: Writes the (email, row values) pairs in the current transaction; one result each.
Writer = Callable[[list[tuple[OutgoingEmail, dict[str, Any]]]], list[Written]]


def _queue(
    email_type: str, requests: Sequence[EmailRequest], write: Writer[Written]
) -> list[Written | InvalidAddress | None]:
    """The checks, rendering and hooks of :func:`queue_email`, for each request in turn,
    then one ``write`` of every email they let through."""
    kind = get_email_type(email_type)
    results: list[Written | InvalidAddress | None] = [None] * len(requests)
    checked: dict[str, str | InvalidAddress] = {}
    valid: list[tuple[int, EmailRequest, str]] = []
    for index, request in enumerate(requests):
        address = _checked(request.to_address or request.to.email, checked)
        if isinstance(address, InvalidAddress):
            results[index] = address
        else:
            valid.append((index, request, address))
    if not type_enabled(kind):
        for _index, _request, address in valid:
            log.info("email %s to %s not queued: switched off in settings", kind.key, address)
        return results
    taken = queued_keys(r.dedupe_key for _i, r, _a in valid if r.dedupe_key)
    renderer = Renderer()
    from_address = sender()
    indexes: list[int] = []
    staged: list[tuple[OutgoingEmail, dict[str, Any]]] = []
    for index, request, address in valid:
        if request.dedupe_key and request.dedupe_key in taken:
            continue
        outgoing = _outgoing(kind, request, address, renderer)
        call("before_email_queued", email=outgoing)
        if outgoing.vetoed_by:
            log.info("email %s to %s vetoed: %s", kind.key, address, outgoing.vetoed_by)
            continue
        # An add-on may have changed the address: check it again.
        final = _checked(outgoing.to_address, checked)
        if isinstance(final, InvalidAddress):
            results[index] = final
            continue
        if outgoing.dedupe_key:
            taken.add(outgoing.dedupe_key)
        reply_to = _reply_to(request.to, request.session, renderer.lookups)
        indexes.append(index)
        staged.append((outgoing, _row_values(outgoing, final, from_address, reply_to)))
    for index, (outgoing, _values), written in zip(
        indexes, staged, _insert(staged, write), strict=True
    ):
        results[index] = written
        if written is not None:
            call("email_queued", email=outgoing)
    return results


def _checked(address: str, seen: dict[str, str | InvalidAddress]) -> str | InvalidAddress:
    """:func:`normalize_address`, its answer (or refusal) kept for the batch's other emails."""
    if address not in seen:
        try:
            seen[address] = normalize_address(address)
        except InvalidAddress as exc:
            seen[address] = exc
    return seen[address]


def _outgoing(
    kind: EmailType, request: EmailRequest, address: str, renderer: Renderer
) -> OutgoingEmail:
    """The rendered email, as ``before_email_queued`` receives it."""
    to, session = request.to, request.session
    rendered = renderer.render(kind, to, request.context, session)
    return OutgoingEmail(
        email_type=kind.key,
        to_address=address,
        to_name=to.full_name,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        session_id=session.id if session is not None else None,
        user_id=to.id,
        dedupe_key=request.dedupe_key,
        locale=rendered.locale,
        context=dict(request.context),
    )


def _reply_to(to: User, session: CoachingSession | None, lookups: Lookups) -> str | None:
    """Clients answering a session email reach their coach."""
    if session is None or to.role != Role.CLIENT:
        return None
    coach = lookups.user(session.coach_id)
    return formataddr((coach.sender_name, coach.email)) if coach else None


def _row_values(
    outgoing: OutgoingEmail, address: str, from_address: str, reply_to: str | None
) -> dict[str, Any]:
    """The outbox row of an email the hooks let through (``address``: its checked address)."""
    return {
        "email_type": outgoing.email_type,
        "dedupe_key": outgoing.dedupe_key,
        "to_address": address,
        "to_name": (outgoing.to_name or "")[:200] or None,
        "from_address": from_address,
        "reply_to": reply_to,
        "subject": outgoing.subject[:300],
        "body_text": outgoing.body_text,
        "body_html": outgoing.body_html,
        "attachments": [
            {"filename": name, "content_type": ctype, "data": base64.b64encode(data).decode()}
            for name, ctype, data in outgoing.attachments
        ],
        "session_id": outgoing.session_id,
        "user_id": outgoing.user_id,
        "next_attempt_at": utcnow(),
    }


def _as_rows(emails: list[tuple[OutgoingEmail, dict[str, Any]]]) -> list[OutboxEmail]:
    """As ORM rows, flushed together: what :func:`queue_email` returns, for its caller to
    read (``row.id``), even after a rollback."""
    rows = [OutboxEmail(**values) for _email, values in emails]
    db.add_all(rows)
    db.flush()
    return rows


def _as_values(emails: list[tuple[OutgoingEmail, dict[str, Any]]]) -> list[OutgoingEmail]:
    """With one executemany INSERT and no ORM row: a fifth of the time per email of
    :func:`_as_rows`, which needs the ids back (a multi-row INSERT … RETURNING)."""
    db.execute(insert(OutboxEmail.__table__), [values for _email, values in emails])
    return [email for email, _values in emails]


def _insert(
    emails: list[tuple[OutgoingEmail, dict[str, Any]]], write: Writer[Written]
) -> list[Written | None]:
    """``write`` them all, in a savepoint; one result each, in order.

    A dedupe key queued meanwhile by another transaction (or given twice by add-ons)
    fails the whole write: they are then written one by one and that one is left out
    (None), as :func:`queue_email` always did.
    """
    if not emails:
        return []
    try:
        with db.begin_nested():
            return list(write(emails))
    except IntegrityError:
        pass
    written: list[Written | None] = []
    for email, values in emails:
        try:
            with db.begin_nested():
                written.append(write([(email, values)])[0])
        except IntegrityError:
            log.info(
                "email %s not queued: %s is already in the outbox",
                values["email_type"],
                values["dedupe_key"],
            )
            written.append(None)
    return written
