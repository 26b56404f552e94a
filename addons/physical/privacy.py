"""Physical's part of a client's data export and erasure (the ``personal_data_*`` hooks).

Values are exported as stored, in the canonical unit of their kind (kg, cm, %, count),
as decimals: exact and independent of the client's display units, which are given too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from addons.physical.history import client_units, forget_history
from addons.physical.measures import all_measures
from addons.physical.models import (
    PhysicalEntry,
    PhysicalPreference,
    PhysicalTarget,
    PhysicalValue,
)
from addons.physical.units import SCALE
from core import api
from hooks import hookimpl

CANONICAL = {"mass": "kg", "length": "cm", "percent": "%", "count": "", "none": ""}


def _number(stored: int | None) -> float | None:
    return None if stored is None else float(Decimal(stored) / SCALE)


@hookimpl
def personal_data_export(client: api.User) -> dict[str, Any] | None:
    measures = {m.id: m for m in all_measures()}
    entries = list(
        api.db.scalars(
            select(PhysicalEntry)
            .where(PhysicalEntry.client_id == client.id)
            .order_by(PhysicalEntry.measured_on, PhysicalEntry.id)
        )
    )
    values: dict[int, dict[str, float | None]] = {e.id: {} for e in entries}
    if entries:
        rows = api.db.scalars(select(PhysicalValue).where(PhysicalValue.entry_id.in_(values)))
        for value in rows:
            values[value.entry_id][measures[value.measure_id].key] = _number(value.value)
    targets = list(
        api.db.scalars(select(PhysicalTarget).where(PhysicalTarget.client_id == client.id))
    )
    if not entries and not targets:
        return None
    return {
        "units": client_units(client.id),
        "measures": {
            m.key: {"label": m.label, "unit": m.symbol or CANONICAL[m.kind.value]}
            for m in measures.values()
        },
        "measurements": [
            {"date": e.measured_on.isoformat(), "values": values[e.id], "note": e.note}
            for e in entries
        ],
        "targets": [
            {
                "measure": measures[t.measure_id].key,
                "value": _number(t.value),
                "start": _number(t.start),
                "due_on": t.due_on.isoformat() if t.due_on else None,
                "set_at": t.set_at.isoformat(),
            }
            for t in targets
        ],
    }


@hookimpl
def personal_data_erase(client: api.User) -> str | None:
    """Health data has no reason to be kept: entries, targets and the unit choice go."""
    mine = select(PhysicalEntry.id).where(PhysicalEntry.client_id == client.id)
    api.db.execute(delete(PhysicalValue).where(PhysicalValue.entry_id.in_(mine)))
    entries = api.db.execute(delete(PhysicalEntry).where(PhysicalEntry.client_id == client.id))
    targets = api.db.execute(delete(PhysicalTarget).where(PhysicalTarget.client_id == client.id))
    api.db.execute(delete(PhysicalPreference).where(PhysicalPreference.client_id == client.id))
    forget_history(client.id)
    count_entries = entries.rowcount  # type: ignore[attr-defined]
    count_targets = targets.rowcount  # type: ignore[attr-defined]
    if not count_entries and not count_targets:
        return None
    return f"{count_entries} measurement entries and {count_targets} targets deleted"
