"""Draining the outbox: claim due rows with a lease, send them, record the outcomes.

Claims are atomic: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (workers take disjoint
rows), the single-writer lock on SQLite. A claim is a lease (``claimed_until``, the
``worker_lease_seconds`` setting): if the worker dies before recording the outcome,
another worker takes the row once the lease has expired, so nothing is lost.

A drain sends everything over one SMTP connection and records outcomes in groups: one
transaction per :data:`RECORD_EVERY` emails, and whenever the oldest unrecorded outcome
is :data:`RECORD_SECONDS` old (a quarter of the lease if that is shorter), before any
row is given back and at the end of every batch. An outcome is written only where this
worker still holds the claim.

The window this leaves: a worker (or database) that dies after the SMTP server accepted
an email and before its group was committed leaves that email pending and claimed;
when the lease expires another worker sends it again. At most the last
:data:`RECORD_EVERY` emails, accepted in the last :data:`RECORD_SECONDS`, can go out
twice that way; none is ever lost. Sending stops at half the lease and an outcome waits
at most a quarter of it, so outcomes are committed while the claim still holds: no
other worker takes a row this one has sent.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, select, update

from core.config import OPTIONS
from core.db import db, get_database, utcnow
from core.emails.models import EmailStatus, OutboxEmail
from core.settings import get_option
from core.worker.smtp import as_bytes, build_message, connect, envelope_address

log = logging.getLogger(__name__)

#: The lease when ``worker_lease_seconds`` is not set.
LEASE = timedelta(seconds=OPTIONS["worker_lease_seconds"][0])
BATCH_SIZE = 100
RECORD_EVERY = 50
RECORD_SECONDS = 2.0
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


@dataclass
class DrainResult:
    sent: int = 0
    failed: int = 0  # will be retried
    dead: int = 0  # gave up
    outage: bool = False  # the SMTP server could not be reached

    def __bool__(self) -> bool:
        """Whether anything happened (the scheduler logs only passes that did something)."""
        return bool(self.sent or self.failed or self.dead)

    def add(self, other: DrainResult) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.outage = self.outage or other.outage


def new_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def configured_lease() -> timedelta:
    """How long a claim lasts: the ``worker_lease_seconds`` setting."""
    return timedelta(seconds=current_app.config["WORKER_LEASE_SECONDS"])


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … doubling after each failed attempt, at most an hour."""
    return min(BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 20), BACKOFF_CAP)


def claim_rows(
    worker: str,
    now: datetime,
    limit: int = BATCH_SIZE,
    lease: timedelta | None = None,
    only: Sequence[int] | None = None,
) -> list[OutboxEmail]:
    """Lease up to ``limit`` due emails (among ``only`` if given); commits; returns them."""
    due = (
        select(OutboxEmail.id)
        .where(
            OutboxEmail.status == EmailStatus.PENDING.value,
            OutboxEmail.next_attempt_at <= now,
            or_(OutboxEmail.claimed_until.is_(None), OutboxEmail.claimed_until < now),
        )
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(limit)
    )
    if only is not None:
        due = due.where(OutboxEmail.id.in_(only))
    if get_database().dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.scalars(due))
    rows: list[OutboxEmail] = []
    if ids:
        db.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(ids))
            .values(claimed_until=now + (lease or configured_lease()), claimed_by=worker)
            .execution_options(synchronize_session=False)
        )
        rows = list(
            db.scalars(
                select(OutboxEmail)
                .where(OutboxEmail.id.in_(ids))
                .order_by(OutboxEmail.id)
                .execution_options(populate_existing=True)
            )
        )
    db.commit()  # no transaction open while talking to the SMTP server
    return rows


def claim(
    worker: str,
    now: datetime,
    limit: int = BATCH_SIZE,
    lease: timedelta | None = None,
    only: Sequence[int] | None = None,
) -> list[int]:
    """Like :func:`claim_rows`; returns the ids."""
    return [row.id for row in claim_rows(worker, now, limit, lease, only)]


class Outcomes:
    """Outcomes waiting to be written, written together: one transaction per group."""

    def __init__(self, worker: str, lease: timedelta) -> None:
        self.worker = worker
        self.max_age = min(RECORD_SECONDS, lease.total_seconds() / 4)
        self.waiting: list[tuple[int, dict[str, object]]] = []
        self.oldest = 0.0

    def add(self, row: OutboxEmail, **values: object) -> None:
        if not self.waiting:
            self.oldest = time.monotonic()
        self.waiting.append((row.id, values))

    def write_if_due(self) -> None:
        """Write when the group is full or its oldest outcome has waited long enough."""
        if self.waiting and (
            len(self.waiting) >= RECORD_EVERY or time.monotonic() - self.oldest >= self.max_age
        ):
            self.write()

    def write(self) -> None:
        """Write every waiting outcome and release its claim, only where this worker still
        holds it; one UPDATE per kind of outcome (sent, failed, dead), then commit."""
        if not self.waiting:
            return
        groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
        for row_id, values in self.waiting:
            params = {"row_id": row_id, **{f"new_{k}": v for k, v in values.items()}}
            groups.setdefault(tuple(sorted(values)), []).append(params)
        table = OutboxEmail.__table__
        for columns, params in groups.items():
            db.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"), table.c.claimed_by == self.worker)
                .values(
                    claimed_until=None,
                    claimed_by=None,
                    **{column: bindparam(f"new_{column}") for column in columns},
                ),
                params,
            )
        db.commit()
        self.waiting.clear()


def _failure(
    outcomes: Outcomes,
    row: OutboxEmail,
    error: str,
    now: datetime,
    *,
    permanent: bool,
    outage: bool,
) -> bool:
    """Count a failed attempt; return True when the email is now dead.

    An outage (server unreachable) never kills an email: it waits for the server.
    A refusal by the server (5xx) is final. Other errors retry up to the maximum.
    """
    attempts = row.attempts + 1
    max_attempts = int(get_option("emails.max_attempts"))
    dead = permanent or (not outage and attempts >= max_attempts)
    values: dict[str, object] = {"attempts": attempts, "last_error": error[:2000]}
    if dead:
        values["status"] = EmailStatus.DEAD.value
    else:
        values["next_attempt_at"] = now + backoff(attempts)
    outcomes.add(row, **values)
    log.warning("email %s to %s failed (attempt %s): %s", row.id, row.to_address, attempts, error)
    return dead


def _release(rows: Sequence[OutboxEmail], worker: str) -> None:
    """Give claimed rows back untouched (no attempt counted), for any worker to take."""
    db.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id.in_([r.id for r in rows]), OutboxEmail.claimed_by == worker)
        .values(claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    db.commit()


class SmtpConnection:
    """The SMTP connection of one drain: opened when first needed, kept across batches."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        """The connection; a new one if the server closed the previous one meanwhile."""
        if self.client is not None:
            try:
                alive = self.client.noop()[0] == 250
            except (OSError, smtplib.SMTPException):
                alive = False
            if not alive:
                self.close()
        if self.client is None:
            self.client = connect(self.url)
        return self.client

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            self.client.close()
        self.client = None


def send(
    rows: Sequence[OutboxEmail],
    worker: str,
    now: datetime,
    lease: timedelta,
    smtp: SmtpConnection,
) -> DrainResult:
    """Send claimed emails over ``smtp``, recording the outcomes in groups.

    Sending stops at half the lease (a very slow server): the outcomes so far are
    written and the rest is released before the lease could expire, so no other
    worker takes a row this one still sends.
    """
    result = DrainResult()
    stop_at = time.monotonic() + lease.total_seconds() / 2
    outcomes = Outcomes(worker, lease)
    try:
        try:
            client = smtp.open()
        except (OSError, smtplib.SMTPException) as exc:
            error = f"cannot reach the SMTP server: {exc}"
            for row in rows:
                _failure(outcomes, row, error, now, permanent=False, outage=True)
            result.failed += len(rows)
            result.outage = True
            return result
        for index, row in enumerate(rows):
            if time.monotonic() > stop_at:
                log.warning("half the lease is over: releasing %s emails", len(rows) - index)
                outcomes.write()
                _release(rows[index:], worker)
                break
            outcomes.write_if_due()
            message = build_message(row)
            try:
                client.sendmail(
                    envelope_address(row.from_address), [row.to_address], as_bytes(message)
                )
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _text in exc.recipients.values()]
                dead = _failure(
                    outcomes,
                    row,
                    f"recipient refused: {exc.recipients}",
                    now,
                    permanent=all(code >= 500 for code in codes),
                    outage=False,
                )
                result.dead += dead
                result.failed += not dead
            except smtplib.SMTPResponseException as exc:
                text = (
                    exc.smtp_error.decode(errors="replace")
                    if isinstance(exc.smtp_error, bytes)
                    else str(exc.smtp_error)
                )
                dead = _failure(
                    outcomes,
                    row,
                    f"{exc.smtp_code} {text}",
                    now,
                    permanent=exc.smtp_code >= 500,
                    outage=False,
                )
                result.dead += dead
                result.failed += not dead
            except OSError as exc:  # disconnected, timed out (SMTPException is an OSError too)
                smtp.close()
                for left in rows[index:]:
                    _failure(
                        outcomes, left, f"connection lost: {exc}", now, permanent=False, outage=True
                    )
                result.failed += len(rows) - index
                result.outage = True
                break
            else:
                outcomes.add(
                    row,
                    status=EmailStatus.SENT.value,
                    sent_at=utcnow(),
                    attempts=row.attempts + 1,
                    last_error=None,
                    message_id=message["Message-ID"],
                )
                result.sent += 1
    finally:
        outcomes.write()
    return result


def drain(
    now: datetime | None = None,
    *,
    limit: int | None = None,
    worker: str | None = None,
    lease: timedelta | None = None,
) -> DrainResult:
    """Send every due email (at most ``limit``) over one SMTP connection; stop early when
    the server is unreachable."""
    worker = worker or new_worker_name()
    lease = lease or configured_lease()
    result = DrainResult()
    with SmtpConnection(current_app.config["SMTP_URL"]) as smtp:
        while limit is None or result.sent + result.failed + result.dead < limit:
            batch = (
                BATCH_SIZE
                if limit is None
                else min(BATCH_SIZE, limit - result.sent - result.failed - result.dead)
            )
            rows = claim_rows(worker, now or utcnow(), batch, lease)
            if not rows:
                break
            result.add(send(rows, worker, now or utcnow(), lease, smtp))
            if result.outage:
                break
    return result


def deliver_now(email_id: int) -> tuple[str, str | None]:
    """Try one email right away (test reminder); returns its (status, last error) afterwards."""
    worker = new_worker_name()
    now = utcnow()
    rows = claim_rows(worker, now, 1, only=[email_id])
    if rows:
        with SmtpConnection(current_app.config["SMTP_URL"]) as smtp:
            send(rows, worker, now, configured_lease(), smtp)
    email = db.get(OutboxEmail, email_id, populate_existing=True)
    db.commit()
    return (email.status, email.last_error) if email else ("missing", None)


def retry(email_id: int) -> bool:
    """Queue a dead (or waiting) email for an immediate new attempt; the caller commits."""
    email = db.get(OutboxEmail, email_id)
    if email is None or email.status == EmailStatus.SENT:
        return False
    email.status = EmailStatus.PENDING.value
    email.attempts = 0
    email.next_attempt_at = utcnow()
    email.claimed_until = None
    email.claimed_by = None
    return True
