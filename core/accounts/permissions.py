"""Capabilities of the coach role, set by administrators (Settings → Permissions).

Administrators have every capability; clients have none of these.
"""

from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l

from core.accounts.models import Role, User
from core.settings import define, get_option

CAPABILITIES: dict[str, object] = {
    "view_clients": _l("View clients"),
    "create_clients": _l("Create clients"),
    "edit_clients": _l("Edit clients"),
    "delete_clients": _l("Delete (deactivate) clients"),
    "view_sessions": _l("View sessions"),
    "edit_sessions": _l("Create and edit sessions"),
}
define(
    "permissions.coach",
    ["view_clients", "create_clients", "edit_clients", "view_sessions", "edit_sessions"],
)


def has_capability(user: User, capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.COACH:
        return capability in get_option("permissions.coach")
    return False


def require_capability(user: User, capability: str) -> None:
    """403 unless ``user`` has ``capability``."""
    if not has_capability(user, capability):
        abort(403)
