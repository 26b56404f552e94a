"""A client's measurements: loading them in a fixed number of queries, and changing them.

:func:`load_history` reads a client's entries with their values and targets in three
queries whatever their number (the page, the card and the export share it within a
request). The functions that change data stage their changes; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import g
from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from addons.physical.models import (
    PhysicalEntry,
    PhysicalPreference,
    PhysicalTarget,
    PhysicalValue,
)
from addons.physical.options import site_units
from addons.physical.units import System
from core import api


@dataclass
class EntryRow:
    entry: PhysicalEntry
    creator: api.User | None
    values: dict[int, int] = field(default_factory=dict)  # measure id → stored value


@dataclass
class History:
    client_id: int
    entries: list[EntryRow]  # oldest first
    targets: dict[int, PhysicalTarget]  # by measure id

    def entry(self, entry_id: int) -> EntryRow | None:
        return next((row for row in self.entries if row.entry.id == entry_id), None)

    def on(self, day: date) -> EntryRow | None:
        return next((row for row in self.entries if row.entry.measured_on == day), None)

    def points(self, measure_id: int) -> list[tuple[date, int]]:
        """(date, stored value) of every entry that has this measure, oldest first."""
        return [
            (row.entry.measured_on, row.values[measure_id])
            for row in self.entries
            if measure_id in row.values
        ]

    def measures_with_data(self) -> set[int]:
        return {measure_id for row in self.entries for measure_id in row.values}


def load_history(client_id: int) -> History:
    """The client's entries (with who made them), values and targets: three queries."""
    cache: dict[int, History] = g.setdefault("_physical_history", {})
    if client_id in cache:
        return cache[client_id]
    creator = aliased(api.User)
    rows = api.db.execute(
        select(PhysicalEntry, creator)
        .outerjoin(creator, creator.id == PhysicalEntry.created_by_id)
        .where(PhysicalEntry.client_id == client_id)
        .order_by(PhysicalEntry.measured_on, PhysicalEntry.id)
    ).all()
    entries = {entry.id: EntryRow(entry, user) for entry, user in rows}
    values = api.db.execute(
        select(PhysicalValue.entry_id, PhysicalValue.measure_id, PhysicalValue.value)
        .join(PhysicalEntry, PhysicalEntry.id == PhysicalValue.entry_id)
        .where(PhysicalEntry.client_id == client_id)
    ).all()
    for entry_id, measure_id, value in values:
        entries[entry_id].values[measure_id] = value
    targets = api.db.scalars(select(PhysicalTarget).where(PhysicalTarget.client_id == client_id))
    cache[client_id] = History(
        client_id, list(entries.values()), {t.measure_id: t for t in targets}
    )
    return cache[client_id]


def forget_history(client_id: int) -> None:
    g.get("_physical_history", {}).pop(client_id, None)


def client_units(client_id: int) -> str:
    """The client's own choice of units, else the site's default."""
    cache: dict[int, str] = g.setdefault("_physical_units", {})
    if client_id not in cache:
        chosen = api.db.get(PhysicalPreference, client_id)
        cache[client_id] = chosen.units if chosen else site_units()
    return cache[client_id]


def set_client_units(client_id: int, units: str) -> None:
    preference = api.db.get(PhysicalPreference, client_id) or PhysicalPreference(
        client_id=client_id
    )
    preference.units = System(units).value
    api.db.add(preference)
    g.get("_physical_units", {}).pop(client_id, None)


def save_entry(
    client_id: int,
    actor: api.User,
    measured_on: date,
    note: str | None,
    values: dict[int, int | None],
    entry: PhysicalEntry | None = None,
) -> PhysicalEntry:
    """Add an entry, or change one. ``values`` maps measure ids to a stored value, or to
    None to remove it; measures not in ``values`` (hidden ones) keep what they had."""
    if entry is None:
        entry = PhysicalEntry(client_id=client_id, created_by_id=actor.id)
        api.db.add(entry)
    entry.measured_on = measured_on
    entry.note = note or None
    entry.updated_at = api.utcnow()
    api.db.flush()
    existing = {
        v.measure_id: v
        for v in api.db.scalars(select(PhysicalValue).where(PhysicalValue.entry_id == entry.id))
    }
    for measure_id, value in values.items():
        row = existing.get(measure_id)
        if value is None:
            if row is not None:
                api.db.delete(row)
        elif row is None:
            api.db.add(PhysicalValue(entry_id=entry.id, measure_id=measure_id, value=value))
        else:
            row.value = value
    forget_history(client_id)
    return entry


def delete_entry(entry: PhysicalEntry) -> None:
    api.db.execute(delete(PhysicalValue).where(PhysicalValue.entry_id == entry.id))
    api.db.delete(entry)
    forget_history(entry.client_id)


def set_target(
    client_id: int,
    measure_id: int,
    value: int,
    due_on: date | None,
    actor: api.User,
    start: int | None,
) -> None:
    target = api.db.scalar(
        select(PhysicalTarget).where(
            PhysicalTarget.client_id == client_id, PhysicalTarget.measure_id == measure_id
        )
    ) or PhysicalTarget(client_id=client_id, measure_id=measure_id)
    target.value = value
    target.due_on = due_on
    target.start = start
    target.set_by_id = actor.id
    target.set_at = api.utcnow()
    api.db.add(target)
    forget_history(client_id)


def remove_target(target: PhysicalTarget) -> None:
    api.db.delete(target)
    forget_history(target.client_id)
