"""The admin blueprint and the small helpers its feature modules share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from flask import Blueprint, current_app, url_for
from sqlalchemy import Select, func, select
from wtforms import SelectChoice

from core.db import db
from core.i18n import site_timezone
from core.settings import defaults

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 25


def optional_url(endpoint: str, **values: Any) -> str | None:
    """URL of a page another area provides, or None while that area has not built it."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def is_defined(key: str) -> bool:
    """Whether another area has declared this site option (its field shows only then)."""
    return key in defaults()


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def site_midnight(day: date) -> datetime:
    """The UTC instant a calendar day starts in the site's time zone (DST-safe)."""
    return datetime.combine(day, time(0), site_timezone()).astimezone(UTC)


def session_url(session_id: int) -> str:
    """The coach area's editor for this session (a deep link into coach home until it exists)."""
    return optional_url("coach.session_edit", session_id=session_id) or url_for(
        "coach.home", open_session=session_id
    )


@dataclass(frozen=True)
class Page:
    """One page of a list, with what the pagination macro needs."""

    items: list[Any]
    page: int
    pages: int
    total: int


def paginate(stmt: Select[Any], page: int, per_page: int = PER_PAGE) -> Page:
    """Two queries whatever the size of the list: the count and the page's rows."""
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = list(db.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items=items, page=page, pages=pages, total=total)
