"""The dates and times of session cards, as the template filters write them.

Each filter call (``|date``, ``|time``, ``|when``) looks up the viewer's language and
time zone again (about 25 µs), and a card shows five of them: most of a list's time.
A :class:`Clock` looks them up once, when the client area's macro file is evaluated
(once per request and language), and formats through the same :class:`Formats`.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask_babel import get_timezone

from core.i18n import DATE_PATTERN, formats
from core.sessions.models import CoachingSession


class CardTimes(NamedTuple):
    """A session card's date box and times: 'Thu', '3', 'Dec 2026', '10:00 AM', '11:00 AM'."""

    weekday: str
    day: str
    month: str
    start: str
    end: str


class Clock:
    """The ``date``, ``time`` and ``when`` filters for one language and zone."""

    def __init__(self) -> None:
        self.formats = formats()
        self.zone = get_timezone()

    def card(self, session: CoachingSession) -> CardTimes:
        """``starts_at|date('EEE')``, ``|date('d')``, ``|date('MMM y')``, ``|time`` and
        ``ends_at|time``."""
        instant, zone, start = self.formats.instant, self.zone, session.starts_at
        return CardTimes(
            instant("date", start, "EEE", zone),
            instant("date", start, "d", zone),
            instant("date", start, "MMM y", zone),
            instant("time", start, "short", zone),
            instant("time", session.ends_at, "short", zone),
        )

    def when(self, moment: datetime | None) -> str:
        """``moment|when``: 'Fri 25 Dec 2026, 10:00 AM' (:func:`core.i18n.when`)."""
        if moment is None:
            return ""
        day = self.formats.instant("date", moment, DATE_PATTERN, self.zone)
        return f"{day}, {self.formats.instant('time', moment, 'short', self.zone)}"
