"""Who reaches a session: its client, its coach, and administrators. Nobody else."""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import true

from core.accounts.models import Role, User
from core.db import db
from core.sessions.models import CoachingSession


def can_reach_session(viewer: User, session: CoachingSession) -> bool:
    if viewer.role == Role.ADMIN:
        return True
    if viewer.role == Role.COACH:
        return session.coach_id == viewer.id
    return session.client_id == viewer.id and session.status != "available"


def sessions_visible_to(viewer: User) -> Any:
    """SQL condition on ``CoachingSession`` matching what ``viewer`` may see."""
    return visible_to_role(viewer.role, viewer.id)


def visible_to_role(role: str, me: Any) -> Any:
    """:func:`sessions_visible_to` for a viewer of ``role`` whose id is ``me``: a value, or
    a bound parameter in a statement built once for every viewer of that role."""
    if role == Role.ADMIN:
        return true()
    if role == Role.COACH:
        return CoachingSession.coach_id == me
    return CoachingSession.client_id == me


def reachable_session(
    viewer: User, session_id: int, *options: Any, for_update: bool = False
) -> CoachingSession | None:
    """The session if ``viewer`` reaches it, else None.

    ``for_update`` locks its row until the transaction ends (PostgreSQL; SQLite runs one
    writer at a time anyway): of two simultaneous changes, the second waits and then sees
    the first one's result, instead of both acting on what they read before.
    """
    session = db.get(
        CoachingSession,
        session_id,
        options=list(options),
        with_for_update={"of": CoachingSession} if for_update else None,
        populate_existing=for_update,
    )
    if session is None or not can_reach_session(viewer, session):
        return None
    return session


def get_session_or_404(
    viewer: User, session_id: int, *options: Any, for_update: bool = False
) -> CoachingSession:
    """The session if ``viewer`` reaches it, else 404 (never reveal that it exists).

    ``for_update``: see :func:`reachable_session`.
    """
    session = reachable_session(viewer, session_id, *options, for_update=for_update)
    if session is None:
        abort(404)
    return session
