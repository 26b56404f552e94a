"""Sessions as iCalendar: one event per session, and the client's private subscription feed.

Events carry instants in UTC (calendar apps convert them), a UID that never changes
for a session, and the schedule revision as SEQUENCE so that an app updates the
event it already has when the coach moves a session.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.accounts.models import Role, User, new_token
from core.db import db, utcnow
from core.sessions.models import CoachingSession, SessionStatus

#: How far back the feed goes (calendar apps keep what they already have).
FEED_HISTORY = timedelta(days=180)
ICS_MIMETYPE = "text/calendar; charset=utf-8"
_STATUS = {
    SessionStatus.CANCELLED.value: "CANCELLED",
    SessionStatus.BOOKED.value: "CONFIRMED",
    SessionStatus.CONFIRMED.value: "CONFIRMED",
}


def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "coachdesk"


def session_event(session: CoachingSession) -> Event:
    """The event of one session (its ``links`` must be loaded)."""
    event = Event()
    event.add("uid", f"session-{session.id}@{_host()}")
    event.add("dtstamp", session.updated_at or utcnow())
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", session.title)
    event.add("sequence", session.schedule_revision)
    event.add("status", _STATUS.get(session.status, "CONFIRMED"))
    if session.location:
        event.add("location", session.location)
    lines = []
    if session.video_url:
        event.add("url", session.video_url)
        lines.append(_("Video link: %(url)s", url=session.video_url))
    lines += [f"{link.label}: {link.url}" for link in session.links]
    if lines:
        event.add("description", "\n".join(lines))
    return event


def calendar_bytes(sessions: Iterable[CoachingSession], name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Coachdesk//Sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    # Subscribed apps poll the feed; ask for hourly refreshes (Apple and Outlook honour these).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for session in sessions:
        calendar.add_component(session_event(session))
    return calendar.to_ical()


def feed_sessions(client: User) -> list[CoachingSession]:
    """What the private feed lists: the client's sessions from six months ago on."""
    query = (
        select(CoachingSession)
        .where(
            CoachingSession.client_id == client.id,
            CoachingSession.status != SessionStatus.AVAILABLE.value,
            CoachingSession.starts_at >= utcnow() - FEED_HISTORY,
        )
        .order_by(CoachingSession.starts_at)
        .options(selectinload(CoachingSession.links))
    )
    return list(db.scalars(query))


def client_for_feed(token: str) -> User | None:
    """The active client whose feed this token opens (None once revoked)."""
    if not token:
        return None
    user = db.scalar(select(User).where(User.calendar_token == token))
    if user is None or not user.is_active or user.role != Role.CLIENT:
        return None
    return user


def renew_feed(user: User) -> None:
    """Give the user a new feed secret; any older feed URL stops working (the caller commits)."""
    user.calendar_token = new_token()


def revoke_feed(user: User) -> None:
    user.calendar_token = None
