"""The dates and times of session cards, as the template filters write them.

Each filter call (``|date``, ``|time``, ``|when``) looks up the viewer's language and
time zone again (about 25 µs), and a card shows five to seven of them: a tenth of a
coach's home page. A :class:`Clock` looks them up once, when a macro file with cards
(the client area's, the coach pages') is evaluated (once per request and language), and
formats through the same :class:`Formats`, each instant once: the pieces of one instant
are one Babel pattern, cut apart afterwards. Templates get one as ``session_clock()``.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from babel.dates import get_time_format
from flask_babel import get_timezone

from core.i18n import DATE_PATTERN, formats
from core.sessions.models import CoachingSession

#: Between the pieces of a combined pattern (quoted: a literal); no language writes it.
_CUT = "\x1f"


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
        #: The ``time`` filter's pattern (the language's short time).
        self.time = get_time_format("short", self.formats.locale).pattern
        self._cards: dict[str, str] = {}
        self._when = f"{DATE_PATTERN}'{_CUT}'{self.time}"

    def _pieces(self, moment: datetime, pattern: str) -> list[str]:
        return self.formats.instant("datetime", moment, pattern, self.zone).split(_CUT)

    def card(self, session: CoachingSession, month: str = "MMM y") -> CardTimes:
        """``starts_at|date('EEE')``, ``|date('d')``, ``|date(month)``, ``|time`` and
        ``ends_at|time``."""
        pattern = self._cards.get(month)
        if pattern is None:
            pattern = self._cards[month] = f"EEE'{_CUT}'d'{_CUT}'{month}'{_CUT}'{self.time}"
        weekday, day, month_text, start = self._pieces(session.starts_at, pattern)
        end = self.formats.instant("datetime", session.ends_at, self.time, self.zone)
        return CardTimes(weekday, day, month_text, start, end)

    def when(self, moment: datetime | None) -> str:
        """``moment|when``: 'Fri 25 Dec 2026, 10:00 AM' (:func:`core.i18n.when`)."""
        if moment is None:
            return ""
        return ", ".join(self._pieces(moment, self._when))
