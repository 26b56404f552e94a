"""Health: what a load balancer asks at ``/healthz``, and what the admin dashboard shows.

Every check answers with figures only (ages, counts, revisions): never an address, a
name or an error text that could carry the database's password.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Select, bindparam, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from core.db import db, utcnow
from core.settings import define, get_option, set_option

log = logging.getLogger(__name__)

#: The site option each worker pass writes: {"at": ISO instant, "pid": process id}.
HEARTBEAT = "worker.heartbeat"
define(HEARTBEAT, None)

#: A worker that has not passed for this long is reported down (the outbox is drained
#: every 10 seconds by default; a pass can take a while when SMTP is slow).
WORKER_STALE_AFTER = timedelta(minutes=5)
#: An email due for this long and still pending means the outbox is stuck.
OUTBOX_STUCK_AFTER = timedelta(minutes=15)


def record_heartbeat(now: datetime | None = None) -> None:
    """Note that a worker pass ran (committed at once: it must not wait for anything)."""
    import os

    set_option(HEARTBEAT, {"at": (now or utcnow()).isoformat(), "pid": os.getpid()})
    db.commit()


def last_heartbeat() -> datetime | None:
    """When a worker last finished a pass, if ever."""
    value = get_option(HEARTBEAT)
    return datetime.fromisoformat(value["at"]) if value else None


@dataclass(frozen=True)
class OutboxFigures:
    backlog: int  # pending emails (due or waiting for a retry)
    dead: int  # gave up after every retry
    oldest_due: datetime | None  # when the longest-waiting due email became due


@functools.cache
def _outbox_statements() -> tuple[Select[Any], Select[Any]]:
    """Built once (the admin dashboard asks on every visit): counts by status, and the
    oldest email due (``now`` bound at each run)."""
    from core.emails.models import EmailStatus, OutboxEmail

    counts = (
        select(OutboxEmail.status, func.count(OutboxEmail.id))
        .where(OutboxEmail.status.in_([EmailStatus.PENDING.value, EmailStatus.DEAD.value]))
        .group_by(OutboxEmail.status)
    )
    oldest = select(func.min(OutboxEmail.next_attempt_at)).where(
        OutboxEmail.status == EmailStatus.PENDING.value,
        OutboxEmail.next_attempt_at <= bindparam("now"),
    )
    return counts, oldest


def outbox_figures(now: datetime) -> OutboxFigures:
    from core.emails.models import EmailStatus

    counts_of, oldest_of = _outbox_statements()
    counts = dict(db.execute(counts_of).all())
    oldest = db.scalar(oldest_of, {"now": now})
    return OutboxFigures(
        counts.get(EmailStatus.PENDING.value, 0), counts.get(EmailStatus.DEAD.value, 0), oldest
    )


def _age(then: datetime | None, now: datetime) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))


def check(app: Flask, now: datetime | None = None) -> dict[str, Any]:
    """Run every check; ``status`` is "ok" only if each one is."""
    from core.migrations.runner import is_up_to_date

    now = now or utcnow()
    checks: dict[str, dict[str, Any]] = {}
    try:
        # Through the request's own session: on SQLite a second connection would wait
        # for the write lock that session may hold.
        db.execute(text("SELECT 1"))
        db.rollback()  # the migration check reads on a connection of its own
        checks["database"] = {"ok": True}
    except SQLAlchemyError as exc:
        log.warning("health: database unreachable: %s", type(exc).__name__)
        checks["database"] = {"ok": False, "error": "unreachable"}
        return {"status": "fail", "checks": checks}
    try:
        checks["migrations"] = {"ok": is_up_to_date(app)}
        worker_age = _age(last_heartbeat(), now)
        checks["worker"] = {
            "ok": worker_age is not None and worker_age <= WORKER_STALE_AFTER.total_seconds(),
            "last_run_seconds_ago": worker_age,
        }
        outbox = outbox_figures(now)
        oldest_age = _age(outbox.oldest_due, now)
        checks["outbox"] = {
            "ok": oldest_age is None or oldest_age <= OUTBOX_STUCK_AFTER.total_seconds(),
            "backlog": outbox.backlog,
            "dead": outbox.dead,
            "oldest_due_seconds_ago": oldest_age,
        }
    except SQLAlchemyError as exc:  # e.g. no schema yet: tables missing
        log.warning("health: database query failed: %s", type(exc).__name__)
        checks.setdefault("migrations", {"ok": False})
        checks["migrations"]["ok"] = False
    ok = all(entry["ok"] for entry in checks.values())
    return {"status": "ok" if ok else "fail", "checks": checks}
