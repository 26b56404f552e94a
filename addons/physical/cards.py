"""The client-area statistics card: the latest weight, or the first measure with data.

On the Physical tab the page has loaded the whole history already and the card uses
it; on the other tabs it asks for what it needs only (two small queries).
"""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from addons.physical.display import Display, short_date
from addons.physical.history import client_units
from addons.physical.i18n import _
from addons.physical.measures import shown_measures
from addons.physical.models import PhysicalEntry, PhysicalValue
from core import api
from hooks import StatCard, hookimpl

CARD_KEY = "physical-latest"


def _measures_with_data(client_id: int) -> set[int]:
    return set(
        api.db.scalars(
            select(PhysicalValue.measure_id)
            .join(PhysicalEntry, PhysicalEntry.id == PhysicalValue.entry_id)
            .where(PhysicalEntry.client_id == client_id)
            .distinct()
        )
    )


def _latest_two(client_id: int, measure_id: int) -> list[tuple[object, int]]:
    """(date, value) of the measure's latest two entries, latest first."""
    rows = api.db.execute(
        select(PhysicalEntry.measured_on, PhysicalValue.value)
        .join(PhysicalEntry, PhysicalEntry.id == PhysicalValue.entry_id)
        .where(PhysicalEntry.client_id == client_id, PhysicalValue.measure_id == measure_id)
        .order_by(PhysicalEntry.measured_on.desc())
        .limit(2)
    ).all()
    return [(day, value) for day, value in rows]


@hookimpl
def client_statistics_cards(client: api.User) -> list[StatCard]:
    measures = shown_measures()
    if not measures:
        return []
    loaded = g.get("_physical_history", {}).get(client.id)
    with_data = loaded.measures_with_data() if loaded else _measures_with_data(client.id)
    measure = next((m for m in measures if m.id in with_data), measures[0])
    if measure.id not in with_data:
        return [StatCard(CARD_KEY, measure.label, "—", _("No measurement yet"), order=60)]
    if loaded:
        latest = list(reversed(loaded.points(measure.id)[-2:]))
    else:
        latest = _latest_two(client.id, measure.id)
    display = Display(client_units(client.id))
    (day, value), *before = latest
    if before:
        hint = _(
            "%(change)s since %(date)s",
            change=display.change(measure, before[0][1], value),
            date=short_date(before[0][0]),  # type: ignore[arg-type]
        )
    else:
        hint = short_date(day)  # type: ignore[arg-type]
    return [StatCard(CARD_KEY, measure.label, display.value(measure, value), hint, order=60)]
