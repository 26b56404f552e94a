"""The ``payment_status_changed`` hook, raised for every change of a session's payment status.

Statuses change in many places (manual marking, online payments, refunds,
cancellation, reinstating). Rather than trust each of them to remember the hook, the
change is noted when the attribute is set and announced just before the transaction
commits — after ``session_paid`` / ``payment_refunded`` of the same change, and still
inside the transaction, so that emails queued by the hook commit with it. A rollback
forgets what was noted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.sessions.models import CoachingSession

_PENDING = "payment_status_changes"


@event.listens_for(CoachingSession.payment_status, "set")
def _note(target: CoachingSession, value: Any, old: Any, _initiator: Any) -> None:
    from sqlalchemy import inspect
    from sqlalchemy.orm.base import NO_VALUE

    if old is NO_VALUE or old is None or old == value:
        return
    session = inspect(target).session
    if session is None:
        return
    changes: dict[int, tuple[CoachingSession, str, str]] = session.info.setdefault(_PENDING, {})
    first_old = changes[id(target)][1] if id(target) in changes else str(old)
    changes[id(target)] = (target, first_old, str(value))


@event.listens_for(Session, "before_commit")
def _announce(session: Session) -> None:
    changes = session.info.pop(_PENDING, None)
    if not changes:
        return
    from core.plugins import call

    for target, old, _noted in changes.values():
        new = str(target.payment_status)  # a savepoint rolled back may have undone the change
        if old != new:
            call("payment_status_changed", session=target, old=old, new=new)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
