"""Login sessions kept on the server: signing out ends them, wherever the cookie went.

The signed Flask cookie carries a random secret (``User.get_id``); ``user_sessions``
keeps its SHA-256. Each request costs one indexed lookup (the row joined with its
user); ``last_seen_at`` is written at most every :data:`TOUCH_EVERY`, after the view.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, g, request
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from core.accounts.audit import audit
from core.accounts.models import User, UserSession
from core.db import db, utcnow
from core.i18n import browser_locale

log = logging.getLogger(__name__)

#: A session unused for this long ends (the cookie itself lasts until the browser closes).
IDLE_LIMIT = timedelta(days=30)
#: How stale ``last_seen_at`` may get before a request refreshes it.
TOUCH_EVERY = timedelta(minutes=5)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User) -> None:
    """Sign ``user`` in on this browser with a new login session (commits)."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    db.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.last_seen_at < now - IDLE_LIMIT
        )
    )
    agent = (request.user_agent.string or "")[:200] or None
    db.add(UserSession(id=_digest(secret), user_id=user.id, user_agent=agent))
    user.last_locale = browser_locale()
    db.commit()
    user.login_session = secret
    login_user(user)
    audit("sign-in: user %s", user.id)


def end_session() -> None:
    """Sign this browser out: its login session row goes, so a copied cookie is worthless."""
    secret = getattr(current_user, "login_session", None)
    if secret:
        db.execute(delete(UserSession).where(UserSession.id == _digest(secret)))
        db.commit()
    audit("sign-out: user %s", current_user.id)
    logout_user()


def end_other_sessions(user: User, keep: str | None = None) -> None:
    """End every login session of ``user`` but the one whose secret is ``keep`` (caller commits)."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        query = query.where(UserSession.id != _digest(keep))
    db.execute(query)


#: Built once: the statement every signed-in request runs (building it is a third of its cost).
_SIGNED_IN = (
    select(User, UserSession.last_seen_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.id == bindparam("digest"))
)


def load_user(secret: str) -> User | None:
    """Flask-Login's user loader: the active user of a live login session, else None."""
    if not secret:
        return None
    found = db.execute(_SIGNED_IN, {"digest": _digest(secret)}).first()
    if found is None:
        return None
    user, last_seen = found
    now = utcnow()
    if not user.is_active or last_seen < now - IDLE_LIMIT:
        return None
    if last_seen < now - TOUCH_EVERY:
        g._touch_login_session = _digest(secret)
    user.login_session = secret
    return user  # type: ignore[no-any-return]


def _touch(response: Any) -> Any:
    """Refresh ``last_seen_at`` after the view, in a transaction of its own.

    What the view left uncommitted would be rolled back at teardown anyway; rolling it
    back first keeps it out of this commit.
    """
    digest = g.pop("_touch_login_session", None)
    if digest is not None:
        try:
            db.rollback()
            db.execute(
                update(UserSession).where(UserSession.id == digest).values(last_seen_at=utcnow())
            )
            db.commit()
        except SQLAlchemyError:
            db.rollback()
            log.warning("could not refresh a login session's last use", exc_info=True)
    return response


def init_app(app: Flask) -> None:
    from core.extensions import login_manager

    login_manager.user_loader(load_user)
    app.after_request(_touch)
