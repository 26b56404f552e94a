"""What the coach pages show: the sessions and clients in the viewer's scope, in constant queries.

Every listing loads its rows with their client in one statement; nothing here
touches a lazy relationship, so the number of queries does not grow with the data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, literal_column, or_, select, true
from sqlalchemy.orm import joinedload

from core.accounts.access import reachable_clients_clause
from core.accounts.models import Role, User
from core.i18n import select_timezone, zone
from core.payments.models import Payment
from core.sessions.access import visible_to_role
from core.sessions.models import CoachingSession
from core.settings import define, get_option
from core.validation import db_int

#: An administrator's coach pages show every session ("all") or only their own ("own":
#: those they created or coach). Shown in Settings → General by the admin area.
define("coach.admin_scope", "all")
ADMIN_SCOPES = ("all", "own")


#: The viewer's id in statements built once per process and form of scope (see
#: :func:`scope_form`), given at each run as ``viewer_id``.
VIEWER = bindparam("viewer_id")
#: The form of scope of an administrator set to see only their own coaching.
OWN = "own"


def _admin_sees_own_only(viewer: User) -> bool:
    """An administrator whom the site owner set to see only their own coaching."""
    return viewer.role == Role.ADMIN and get_option("coach.admin_scope") == OWN


def scope_form(viewer: User) -> str:
    """The form :func:`coach_scope` takes for ``viewer``: their role, or ``own``. A statement
    is the same for every viewer of one form but for their id, so it can be built once."""
    return OWN if _admin_sees_own_only(viewer) else str(viewer.role)


def scope_in_form(form: str, me: Any, *, by_client: bool = False) -> Any:
    """:func:`coach_scope` of a viewer of ``form`` whose id is ``me``: a value, or
    :data:`VIEWER` in a statement built once.

    ``by_client``, for statements on one client's sessions: a coach's id is compared as
    ``coach_id + 0``, which no index serves, so that SQLite (without statistics) reads the
    client's own sessions; through the (coach, start) index it read every upcoming session
    of the coach, 2,500 rows (3.5 ms) for a client without one."""
    if form == OWN:
        return or_(CoachingSession.created_by_id == me, CoachingSession.coach_id == me)
    if by_client and form == Role.COACH:
        return CoachingSession.coach_id + literal_column("0") == me
    return visible_to_role(form, me)


def coach_scope(viewer: User) -> Any:
    """SQL condition on ``CoachingSession`` for the coach pages of ``viewer``."""
    return scope_in_form(scope_form(viewer), viewer.id)


def payment_scope_in_form(form: str, me: Any) -> Any:
    """:func:`coach_scope` as a condition on ``Payment`` alone, for a viewer of ``form``
    (see :func:`scope_in_form`). A coach's payments are read by their own ``coach_id`` (one
    range of an index, not one probe per session: migration 0012); an administrator who
    sees every session sees every payment."""
    if form == Role.COACH:
        return Payment.coach_id == me
    if form == Role.ADMIN:
        return true()
    return Payment.session_id.in_(select(CoachingSession.id).where(scope_in_form(form, me)))


def sessions_query(viewer: User) -> Select[tuple[CoachingSession]]:
    """Sessions of the viewer's scope, each with its client (and, for admins, its coach)
    loaded in the same statement."""
    return scoped_sessions(scope_form(viewer), viewer.id)


def scoped_sessions(
    form: str, me: Any, *, by_client: bool = False
) -> Select[tuple[CoachingSession]]:
    """:func:`sessions_query` for a viewer of ``form`` whose id is ``me`` (see
    :func:`scope_in_form`; ``by_client``: for one client's sessions)."""
    options = [joinedload(CoachingSession.client)]
    if form in (Role.ADMIN, OWN):
        options.append(joinedload(CoachingSession.coach))
    scope = scope_in_form(form, me, by_client=by_client)
    return select(CoachingSession).where(scope).options(*options)


def clients_query(viewer: User) -> Select[tuple[User]]:
    """Clients the viewer reaches (coaches: assigned or booked; admins: all)."""
    return select(User).where(reachable_clients_clause(viewer))


def viewer_zone() -> ZoneInfo:
    """The zone the viewer's pages are shown in (own, else the site's): days start there."""
    return zone(select_timezone())


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day begins (midnight exists in every zone we care about)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """First day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_today(tz: ZoneInfo, now: datetime) -> date:
    return now.astimezone(tz).date()


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


class Page:
    """One page of a listing: its rows, its number and how many pages there are."""

    def __init__(self, items: list[Any], page: int, per_page: int, total: int) -> None:
        self.items = items
        self.page = page
        self.total = total
        self.pages = max(1, -(-total // per_page))


def paginate(
    query: Select[Any], page: int, per_page: int, *, scalars: bool = True, total: int | None = None
) -> Page:
    """Two queries (count, then the page), whatever the table size. Page numbers are clamped.

    The count keeps only the query's FROM and WHERE: no eager joins, no per-row subqueries.
    A caller that already counted the rows passes ``total`` and saves the count.
    """
    from sqlalchemy import func

    from core.db import db

    if total is None:
        counting = query.with_only_columns(func.count(), maintain_column_froms=True)
        total = int(db.scalar(counting.order_by(None)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    paged = query.limit(per_page).offset((page - 1) * per_page)
    rows = list(db.scalars(paged).unique() if scalars else db.execute(paged))
    return Page(rows, page, per_page, total)


def page_arg(name: str = "page") -> int:
    """The page number in the query string (1 when absent or not a number)."""
    from flask import request

    return request.args.get(name, 1, type=db_int) or 1
