"""Counting what a list pages through without counting further than anyone reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from core.db import db

#: Counting stops here ("10000+"), so that a list stays fast with hundreds of thousands of
#: rows: an exact count would read every matching row on every page view.
COUNT_CAP = 10_000


def capped_count(query: Select[Any], cap: int | None = None) -> tuple[int, bool]:
    """(rows ``query`` selects, but at most ``cap``; whether there are more), reading at most
    ``cap + 1`` rows in one statement. ``cap`` defaults to :data:`COUNT_CAP`. Select one
    narrow column (an id) for the cheapest plan; the query's order is dropped."""
    cap = COUNT_CAP if cap is None else cap
    limited = query.order_by(None).limit(cap + 1).subquery()
    counted = db.scalar(select(func.count()).select_from(limited)) or 0
    return min(counted, cap), counted > cap
