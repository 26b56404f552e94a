"""Who may open what. Every view declares its audience with one of these decorators.

The declaration is also recorded on the view (``view.access``) so that a test can
walk every route and prove each role gets exactly what it should.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, bindparam, exists, or_, select

from core.accounts.models import CoachClient, Role, User
from core.db import db

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Anyone, signed in or not (login page, calendar feed with its secret token…)."""
    view.access = "public"  # type: ignore[attr-defined]
    return view


def roles_required(*roles: Role | str) -> Callable[[F], F]:
    """Signed-in users of these roles; others get 403, visitors the login page."""
    allowed = frozenset(str(r) for r in roles)

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        guarded = login_required(wrapper)
        guarded.access = allowed  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


def signed_in(view: F) -> F:
    """Any signed-in user, whatever the role."""
    return roles_required(*Role)(view)


staff_required = roles_required(Role.ADMIN, Role.COACH)
staff_required.__doc__ = "Coaches and administrators only (others: sign-in page or 403)."
admin_required = roles_required(Role.ADMIN)
admin_required.__doc__ = "Administrators only (others: sign-in page or 403)."
client_required = roles_required(Role.CLIENT)
client_required.__doc__ = "Clients only (others: sign-in page or 403)."


def reachable_clients_clause(viewer: User) -> Any:
    """SQL condition on ``User`` selecting the clients ``viewer`` may see."""
    return clients_reachable_by_role(viewer.role, viewer.id)


def clients_reachable_by_role(role: str, me: Any) -> Any:
    """:func:`reachable_clients_clause` for staff of ``role`` whose id is ``me`` (a value,
    or a bound parameter in a statement built once for every viewer of that role)."""
    from core.sessions.models import CoachingSession

    if role == Role.ADMIN:
        return User.role == Role.CLIENT.value
    assigned = exists().where(CoachClient.coach_id == me, CoachClient.client_id == User.id)
    booked = exists().where(CoachingSession.coach_id == me, CoachingSession.client_id == User.id)
    return (User.role == Role.CLIENT.value) & or_(assigned, booked)


@cache
def _reachable_client_query(role: str) -> Select[tuple[User]]:
    return select(User).where(
        User.id == bindparam("client_id"), clients_reachable_by_role(role, bindparam("viewer_id"))
    )


def can_reach_client(viewer: User, client: User) -> bool:
    """A coach reaches their assigned clients and anyone they have a session with; admins all."""
    if client.role != Role.CLIENT:
        return False
    if viewer.role == Role.ADMIN:
        return True
    if viewer.role != Role.COACH:
        return viewer.id == client.id
    return bool(
        db.scalar(
            select(
                select(User.id)
                .where(User.id == client.id, reachable_clients_clause(viewer))
                .exists()
            )
        )
    )


def get_client_or_404(viewer: User, client_id: int) -> User:
    """The client with this id if ``viewer`` may reach it; 404 otherwise (no existence leak).

    Staff read the client and their right to it in one statement (:func:`can_reach_client`
    in SQL), not the client and then an EXISTS.
    """
    if viewer.role in (Role.ADMIN, Role.COACH):
        query = _reachable_client_query(viewer.role)
        client = db.scalar(query, {"client_id": client_id, "viewer_id": viewer.id})
    else:
        client = db.get(User, client_id)
        if client is not None and not can_reach_client(viewer, client):
            client = None
    if client is None:
        abort(404)
    return client
