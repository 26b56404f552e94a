"""Dates of a bundle's sessions: generated on a weekly rhythm in the site's zone, clash-free.

Dates are computed as wall-clock times in the site's zone and only then turned into
instants, so "Mondays at 9:00" stays 9:00 across a daylight-saving change (the UTC
hour moves instead). A date whose time the clocks skip, or whose interval overlaps
another session of the coach, is skipped and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.db import db
from core.sessions.models import CoachingSession, SessionStatus
from core.sessions.service import SessionRuleError, local_to_utc

#: How far ahead generation looks before giving up on filling every slot.
HORIZON_WEEKS = 260

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    """One session's place in time: a local date and time, and the instant they designate."""

    day: date
    at: time
    starts_at: datetime

    @classmethod
    def local(cls, day: date, at: time, tz: ZoneInfo) -> Slot:
        """Raises ``SessionRuleError`` for a time the clocks skip that day."""
        return cls(day, at, local_to_utc(day, at, tz))


@dataclass
class Generated:
    """What "generate dates" found: the slots, and the dates it passed over (and why)."""

    slots: list[Slot] = field(default_factory=list)
    clashes: list[date] = field(default_factory=list)
    skipped_times: list[date] = field(default_factory=list)


def overlaps(start: datetime, end: datetime, busy: Iterable[Interval]) -> bool:
    """Whether [start, end) meets any busy interval (touching ends do not clash)."""
    return any(start < other_end and other_start < end for other_start, other_end in busy)


def busy_intervals(
    coach_id: int, start: datetime, end: datetime, *, exclude_ids: Sequence[int] = ()
) -> list[Interval]:
    """The coach's sessions (open slots included, cancelled ones not) meeting [start, end).

    One statement; sessions longer than a day are not a thing (1440 minutes at most),
    so looking a day earlier catches every session still running at ``start``.
    """
    s = CoachingSession
    query = select(s.starts_at, s.duration_minutes).where(
        s.coach_id == coach_id,
        s.status != SessionStatus.CANCELLED.value,
        s.starts_at < end,
        s.starts_at >= start - timedelta(days=1),
    )
    if exclude_ids:
        query = query.where(s.id.not_in(list(exclude_ids)))
    return [
        (starts, starts + timedelta(minutes=minutes))
        for starts, minutes in db.execute(query).all()
        if starts + timedelta(minutes=minutes) > start
    ]


def candidate_days(start: date, weekdays: set[int], every_weeks: int) -> Iterable[date]:
    """Days from ``start`` on the chosen weekdays (0 = Monday), one week in ``every_weeks``.

    Weeks count from the Monday of ``start``'s week, so "every 2 weeks" keeps its rhythm.
    """
    monday = start - timedelta(days=start.weekday())
    for offset in range(HORIZON_WEEKS * 7):
        day = monday + timedelta(days=offset)
        if day < start or day.weekday() not in weekdays:
            continue
        if (offset // 7) % every_weeks == 0:
            yield day


def generate_slots(
    *,
    start: date,
    weekdays: set[int],
    at: time,
    every_weeks: int,
    count: int,
    duration_minutes: int,
    tz: ZoneInfo,
    busy: Sequence[Interval],
) -> Generated:
    """``count`` slots on the rhythm, skipping clashes with ``busy`` and skipped times."""
    if not weekdays or every_weeks < 1 or count < 1:
        raise ValueError("choose at least one weekday, a rhythm and a number of sessions")
    found = Generated()
    taken: list[Interval] = list(busy)
    length = timedelta(minutes=duration_minutes)
    for day in candidate_days(start, weekdays, every_weeks):
        try:
            slot = Slot.local(day, at, tz)
        except SessionRuleError:
            found.skipped_times.append(day)
            continue
        if overlaps(slot.starts_at, slot.starts_at + length, taken):
            found.clashes.append(day)
            continue
        found.slots.append(slot)
        taken.append((slot.starts_at, slot.starts_at + length))
        if len(found.slots) == count:
            break
    return found


def clashing_slots(
    slots: Sequence[Slot], duration_minutes: int, busy: Sequence[Interval]
) -> list[int]:
    """Indexes of the slots that overlap a busy interval or an earlier slot of the list."""
    length = timedelta(minutes=duration_minutes)
    taken: list[Interval] = list(busy)
    clashing = []
    for index, slot in enumerate(slots):
        interval = (slot.starts_at, slot.starts_at + length)
        if overlaps(*interval, taken):
            clashing.append(index)
        taken.append(interval)
    return clashing
