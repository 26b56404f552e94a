"""The public API of the core for add-ons (STUB: the full module replaces this file on merge).

Only the names the add-on scaffold and docs/addons.md use are re-exported here;
everything else of ``core`` stays private.
"""

from __future__ import annotations

from typing import Any

from core.accounts.access import (
    admin_required,
    client_required,
    get_client_or_404,
    public,
    roles_required,
    signed_in,
    staff_required,
)
from core.db import Base, db, utcnow
from core.plugins import is_active
from core.plugins.translations import AddonTranslations
from core.sessions.access import get_session_or_404
from core.settings import define, get_option, set_option

__all__ = [
    "AddonTranslations",
    "Base",
    "admin_required",
    "client_required",
    "db",
    "define_option",
    "get_client_or_404",
    "get_option",
    "get_session_or_404",
    "is_active",
    "public",
    "roles_required",
    "set_option",
    "signed_in",
    "staff_required",
    "utcnow",
]


def define_option(addon: str, key: str, default: Any) -> None:
    """Declare a site option of ``addon``; its key must start with ``"<addon>."``."""
    if not key.startswith(f"{addon}."):
        raise ValueError(f"option {key!r} of add-on {addon} must start with {addon + '.'!r}")
    define(key, default, owner=addon)
