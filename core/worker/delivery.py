"""Draining the outbox: claim due rows with a lease, send them, record the outcome.

Claims are atomic: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (workers take disjoint
rows), the single-writer lock on SQLite. A claim is a lease (``claimed_until``):
if the worker dies before recording the outcome, another worker takes the row once
the lease has expired, so nothing is lost.
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
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import or_, select, text, update

from core.db import db, get_database, utcnow
from core.emails.models import EmailStatus, OutboxEmail
from core.settings import get_option
from core.worker.smtp import as_bytes, build_message, connect

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BATCH_SIZE = 100
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


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … doubling after each failed attempt, at most an hour."""
    return min(BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 20), BACKOFF_CAP)


def claim(
    worker: str,
    now: datetime,
    limit: int = BATCH_SIZE,
    lease: timedelta = LEASE,
    only: Sequence[int] | None = None,
) -> list[int]:
    """Lease up to ``limit`` due emails (among ``only`` if given); commits; returns their ids."""
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
    if ids:
        db.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(ids))
            .values(claimed_until=now + lease, claimed_by=worker)
            .execution_options(synchronize_session=False)
        )
    db.commit()
    return ids


def _record(row: OutboxEmail, worker: str, **values: object) -> None:
    """Write an outcome and release the claim, only if this worker still holds it.

    On PostgreSQL the commit does not wait for the disk flush (``synchronous_commit
    off``, this transaction only): a database crash could forget the last outcomes,
    and those emails would be sent again, exactly as after a worker crash. Nothing is
    lost or corrupted, and delivery no longer waits for one disk flush per email.
    """
    if get_database().dialect == "postgresql":
        db.execute(text("SET LOCAL synchronous_commit TO OFF"))
    db.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == row.id, OutboxEmail.claimed_by == worker)
        .values(claimed_until=None, claimed_by=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.commit()


def _record_failure(
    row: OutboxEmail, worker: str, error: str, now: datetime, *, permanent: bool, outage: bool
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
    _record(row, worker, **values)
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


def deliver(
    ids: Sequence[int], worker: str, now: datetime, lease: timedelta = LEASE
) -> DrainResult:
    """Send the claimed emails over one SMTP connection.

    Sending stops at half the lease (a very slow server): the rest is released
    before the lease could expire, so no other worker takes a row this one still sends.
    """
    result = DrainResult()
    stop_at = time.monotonic() + lease.total_seconds() / 2
    rows = list(
        db.scalars(
            select(OutboxEmail)
            .where(OutboxEmail.id.in_(ids), OutboxEmail.claimed_by == worker)
            .order_by(OutboxEmail.id)
        )
    )
    db.commit()  # no transaction open while talking to the SMTP server
    if not rows:
        return result
    try:
        connection = connect(current_app.config["SMTP_URL"])
    except (OSError, smtplib.SMTPException) as exc:
        error = f"cannot reach the SMTP server: {exc}"
        for row in rows:
            _record_failure(row, worker, error, now, permanent=False, outage=True)
        result.failed += len(rows)
        result.outage = True
        return result
    try:
        for index, row in enumerate(rows):
            if time.monotonic() > stop_at:
                log.warning("half the lease is over: releasing %s emails", len(rows) - index)
                _release(rows[index:], worker)
                break
            message = build_message(row)
            try:
                connection.sendmail(
                    parseaddr(row.from_address)[1], [row.to_address], as_bytes(message)
                )
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _text in exc.recipients.values()]
                dead = _record_failure(
                    row,
                    worker,
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
                dead = _record_failure(
                    row,
                    worker,
                    f"{exc.smtp_code} {text}",
                    now,
                    permanent=exc.smtp_code >= 500,
                    outage=False,
                )
                result.dead += dead
                result.failed += not dead
            except OSError as exc:  # disconnected, timed out (SMTPException is an OSError too)
                for left in rows[index:]:
                    _record_failure(
                        left, worker, f"connection lost: {exc}", now, permanent=False, outage=True
                    )
                result.failed += len(rows) - index
                result.outage = True
                break
            else:
                _record(
                    row,
                    worker,
                    status=EmailStatus.SENT.value,
                    sent_at=utcnow(),
                    attempts=row.attempts + 1,
                    last_error=None,
                    message_id=message["Message-ID"],
                )
                result.sent += 1
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return result


def drain(
    now: datetime | None = None,
    *,
    limit: int | None = None,
    worker: str | None = None,
    lease: timedelta = LEASE,
) -> DrainResult:
    """Send every due email (at most ``limit``); stop early when the server is unreachable."""
    worker = worker or new_worker_name()
    result = DrainResult()
    while limit is None or result.sent + result.failed + result.dead < limit:
        batch = (
            BATCH_SIZE
            if limit is None
            else min(BATCH_SIZE, limit - result.sent - result.failed - result.dead)
        )
        ids = claim(worker, now or utcnow(), batch, lease)
        if not ids:
            break
        result.add(deliver(ids, worker, now or utcnow(), lease))
        if result.outage:
            break
    return result


def deliver_now(email_id: int) -> tuple[str, str | None]:
    """Try one email right away (test reminder); returns its (status, last error) afterwards."""
    worker = new_worker_name()
    now = utcnow()
    ids = claim(worker, now, 1, only=[email_id])
    if ids:
        deliver(ids, worker, now)
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
