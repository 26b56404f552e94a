"""Send confirmations of a bundle: one email listing all its scheduled sessions, or, if the
site owner prefers (Settings → Programs), the usual booking confirmation per session.

Nothing is emailed when a bundle is created or saved: only this button sends. The
bundle email is keyed by what it lists, so a double click (or a second click with
nothing changed) sends it once.
"""

from __future__ import annotations

import hashlib
import json

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.accounts.models import User
from core.db import db, utcnow
from core.emails.notify import current_state, send_confirmation
from core.emails.outbox import InvalidAddress, queue_email
from core.programs.models import Bundle
from core.programs.service import BundleError
from core.sessions.models import OPEN_STATUSES, CoachingSession
from core.settings import define, get_option
from hooks import EmailType

BUNDLE_CONFIRMATION = "bundle_confirmation"
#: "bundle": one email listing every scheduled session; "per_session": one booking
#: confirmation per session not yet confirmed.
CONFIRMATION_MODES = ("bundle", "per_session")
define("programs.confirmation_mode", "bundle")


def email_type() -> EmailType:
    return EmailType(
        BUNDLE_CONFIRMATION,
        _("Bundle confirmation"),
        "client",
        _("Your program “{bundle_title}”: {session_count} sessions booked"),
        _("Sent by “Send confirmations” on a bundle: every scheduled session in one email."),
    )


def scheduled_sessions(bundle: Bundle) -> list[CoachingSession]:
    """The bundle's sessions still ahead (booked or confirmed), by date, with their materials."""
    return list(
        db.scalars(
            select(CoachingSession)
            .where(
                CoachingSession.bundle_id == bundle.id,
                CoachingSession.status.in_(OPEN_STATUSES),
                CoachingSession.starts_at >= utcnow(),
            )
            .order_by(CoachingSession.starts_at, CoachingSession.id)
            .options(selectinload(CoachingSession.documents), selectinload(CoachingSession.links))
        )
    )


def _listing_key(bundle: Bundle, sessions: list[CoachingSession]) -> str:
    """The same sessions at the same times and places give the same key (dedupe)."""
    listed = [[s.id, s.starts_at.isoformat(), s.location, s.video_url] for s in sessions]
    digest = hashlib.sha256(json.dumps(listed).encode()).hexdigest()[:16]
    return f"{BUNDLE_CONFIRMATION}:{bundle.id}:{digest}"


def send_confirmations(bundle: Bundle, actor: User) -> int:
    """Queue the confirmations the setting asks for; return how many emails were queued.

    0 means the client already has exactly this (nothing new to tell). Raises
    :class:`BundleError` when there is nothing scheduled or the address is unusable.
    The caller commits.
    """
    sessions = scheduled_sessions(bundle)
    if not sessions:
        raise BundleError(_("This bundle has no upcoming session to confirm."))
    if get_option("programs.confirmation_mode") == "per_session":
        queued = sum(1 for session in sessions if send_confirmation(session, actor))
    else:
        queued = _send_listing(bundle, sessions, actor)
    if queued:
        bundle.confirmations_sent_at = utcnow()
    return queued


def _send_listing(bundle: Bundle, sessions: list[CoachingSession], actor: User) -> int:
    client = db.get(User, bundle.client_id)
    assert client is not None  # bundles.client_id is RESTRICT
    context = {
        "bundle": bundle,
        "bundle_title": bundle.title,
        "session_count": len(sessions),
        "sessions": sessions,
        "actor": actor,
    }
    try:
        # The first session carries the email (its log, and the coach as Reply-To).
        row = queue_email(
            BUNDLE_CONFIRMATION,
            to=client,
            context=context,
            session=sessions[0],
            dedupe_key=_listing_key(bundle, sessions),
        )
    except InvalidAddress as exc:
        raise BundleError(str(exc)) from exc
    if row is None:
        return 0
    now = utcnow()
    for session in sessions:
        session.notified_state = current_state(session)
        session.confirmation_sent_at = session.confirmation_sent_at or now
    return 1
