"""Save and notify: what the client is told depends on what changed since they were last told.

``session.notified_state`` remembers what the client last heard (start, place,
video link, documents and links); comparing it with the session now picks the email.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.accounts.models import User
from core.db import db, utcnow
from core.emails.outbox import queue_email
from core.emails.types import BOOKING_CONFIRMATION, NEW_DOCUMENTS, SESSION_UPDATE
from core.sessions.models import OPEN_STATUSES, CoachingSession, SessionDocument, SessionLink

SCHEDULE_FIELDS = ("start", "location", "video_url")
MATERIAL_FIELDS = ("documents", "links")


def current_state(session: CoachingSession) -> dict[str, Any]:
    """What the client would be told about this session now."""
    documents = db.scalars(
        select(SessionDocument.id).where(SessionDocument.session_id == session.id)
    ).all()
    links = db.scalars(select(SessionLink.url).where(SessionLink.session_id == session.id)).all()
    return {
        "start": session.starts_at.isoformat(),
        "location": session.location or "",
        "video_url": session.video_url or "",
        "revision": session.schedule_revision,
        "documents": sorted(documents),
        "links": sorted(links),
    }


def _digest(values: Any) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def _route(
    session: CoachingSession, before: dict[str, Any], now: dict[str, Any]
) -> tuple[str, str, dict[str, Any]] | None:
    """(email type, dedupe key, extra context) for this change, or None: nothing to tell."""
    if session.confirmation_sent_at is None:
        return BOOKING_CONFIRMATION, f"{BOOKING_CONFIRMATION}:{session.id}", {}
    schedule = {f: now[f] for f in SCHEDULE_FIELDS}
    if any(before.get(f, now[f]) != now[f] for f in SCHEDULE_FIELDS):
        key = f"{SESSION_UPDATE}:{session.id}:{session.schedule_revision}:{_digest(schedule)}"
        previous = before.get("start")
        return (
            SESSION_UPDATE,
            key,
            {
                "previous_starts_at": datetime.fromisoformat(previous) if previous else None,
                "previous_location": before.get("location", ""),
            },
        )
    added = {f: sorted(set(now[f]) - set(before.get(f, now[f]))) for f in MATERIAL_FIELDS}
    if any(added.values()):
        key = f"{NEW_DOCUMENTS}:{session.id}:{_digest(added)}"
        return NEW_DOCUMENTS, key, {"new_document_ids": added["documents"]}
    return None


def notify_session(session: CoachingSession, actor: User) -> str | None:
    """Queue the email "Save and notify" calls for; return its type, or None when none is due.

    Never notified → booking confirmation; date, time, place or video link changed →
    session update; only documents or links added → new documents; anything else
    (notes, price, status) → nothing. Runs in the caller's transaction.
    """
    if session.client_id is None or session.status not in OPEN_STATUSES:
        return None
    client = db.get(User, session.client_id)
    if client is None:
        return None
    now = current_state(session)
    route = _route(session, dict(session.notified_state or {}), now)
    if route is None:
        return None
    email_type, dedupe_key, context = route
    context["actor"] = actor
    if queue_email(email_type, to=client, context=context, session=session, dedupe_key=dedupe_key):
        session.notified_state = now
        if email_type == BOOKING_CONFIRMATION:
            session.confirmation_sent_at = utcnow()
        return email_type
    return None


def send_confirmation(session: CoachingSession, actor: User) -> bool:
    """The email panel's button: the first booking confirmation, if none went out yet."""
    if session.confirmation_sent_at is not None:
        return False
    return notify_session(session, actor) == BOOKING_CONFIRMATION
