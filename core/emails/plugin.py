"""The emails area's hook implementations: its email types, settings, menu entry and events."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, url_for
from flask_babel import gettext as _

from core.accounts.models import Role, User
from core.db import db, utcnow
from core.emails import options as _options  # noqa: F401 (defines the site options)
from core.emails.outbox import InvalidAddress, queue_email
from core.emails.types import (
    CANCELLATION,
    CANCELLATION_COACH,
    NEW_BOOKING,
    all_email_types,
    core_email_types,
)
from core.sessions.models import CoachingSession
from hooks import EmailType, MenuItem, Tab, hookimpl

log = logging.getLogger(__name__)


@hookimpl
def email_types() -> list[EmailType]:
    return core_email_types()


@hookimpl
def settings_sections(user: User) -> list[Tab]:
    if user.role != Role.ADMIN:
        return []
    from core.emails.settings import render_settings

    return [Tab("emails", _("Emails"), render_settings, order=30)]


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if user.role != Role.ADMIN:
        return []
    return [MenuItem("admin-outbox", _("Outbox"), url_for("emails.outbox"), order=75, icon="mail")]


@hookimpl
def app_startup(app: Flask) -> None:
    app.jinja_env.globals["email_type_label"] = email_type_label


def email_type_label(key: str) -> str:
    email_type = all_email_types().get(key)
    return email_type.label if email_type else key


def _queue_event_email(
    email_type: str, to: User, session: CoachingSession, occasion: str, **context: Any
) -> None:
    """Automatic emails must never break the change that caused them: a bad address is logged."""
    try:
        queue_email(
            email_type,
            to=to,
            context=context,
            session=session,
            dedupe_key=f"{email_type}:{session.id}:{occasion}",
        )
    except InvalidAddress as exc:
        log.error("%s email for session %s not queued: %s", email_type, session.id, exc)


@hookimpl
def session_created(session: CoachingSession, actor: User) -> None:
    """Tell the coach about a booking someone else made for them."""
    if session.client_id is None or actor.id == session.coach_id:
        return
    coach = db.get(User, session.coach_id)
    if coach is not None:
        _queue_event_email(NEW_BOOKING, coach, session, "booked", actor=actor)


@hookimpl
def session_cancelled(session: CoachingSession, actor: User) -> None:
    """Tell the client (always) and the coach (unless they cancelled) about a future session."""
    if session.starts_at <= utcnow():
        return
    occasion = (session.cancelled_at or utcnow()).isoformat()
    client = db.get(User, session.client_id) if session.client_id else None
    by_client = client is not None and actor.id == client.id
    if client is not None:
        _queue_event_email(CANCELLATION, client, session, occasion, cancelled_by_client=by_client)
    coach = db.get(User, session.coach_id)
    if coach is not None and actor.id != coach.id:
        _queue_event_email(
            CANCELLATION_COACH, coach, session, occasion, cancelled_by_name=actor.full_name
        )
