"""The admin blueprint and the small helpers its feature modules share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from flask import Blueprint, url_for
from sqlalchemy import Select, Subquery
from wtforms import SelectChoice

from core.db import db
from core.i18n import site_timezone
from core.paging import capped_count
from core.urls import url_pattern

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 25


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def site_midnight(day: date) -> datetime:
    """The UTC instant a calendar day starts in the site's time zone (DST-safe)."""
    return datetime.combine(day, time(0), site_timezone()).astimezone(UTC)


def session_url(session_id: int) -> str:
    """The coach area's editor for this session."""
    return url_for("coach.edit_session", session_id=session_id)


def session_urls() -> Callable[[int], str]:
    """:func:`session_url` for the rows of a table (``url_for`` once for all of them)."""
    return url_pattern("coach.edit_session", "session_id")


@dataclass(frozen=True)
class Page:
    """One page of a list, with what the pagination macro needs."""

    items: list[Any]
    page: int
    pages: int
    total: int
    #: The count stopped at :data:`core.paging.COUNT_CAP`: there are more than ``total``.
    capped: bool = False


def paginate(
    stmt: Select[Any],
    page: int,
    per_page: int = PER_PAGE,
    *,
    load: Callable[[Subquery], Select[Any]] | None = None,
) -> Page:
    """Two queries whatever the size of the list: a count that stops at
    :data:`~core.paging.COUNT_CAP`, and the page's rows.

    With ``load``, ``stmt`` selects ids only (filtered and sorted) and ``load`` turns the
    page's ids (a subquery, limited and offset) into the statement for what is shown: the
    joins are then made for one page of rows, not for every match before the sort. The
    items are then that statement's rows; without it, ``stmt``'s entities.
    """
    total, capped = capped_count(stmt)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    window = stmt.limit(per_page).offset((page - 1) * per_page)
    if load is None:
        items = list(db.scalars(window).unique())
    else:
        items = list(db.execute(load(window.subquery())))
    return Page(items=items, page=page, pages=pages, total=total, capped=capped)
