"""The public API of the core for add-ons (STUB: the full module replaces this file on merge).

Only the names the add-on scaffold uses are re-exported here; everything else of
``core`` stays private.
"""

from __future__ import annotations

from typing import Any

from core.db import Base, db, utcnow
from core.plugins import is_active
from core.plugins.translations import AddonTranslations
from core.settings import define, get_option, set_option

__all__ = [
    "AddonTranslations",
    "Base",
    "db",
    "define_option",
    "get_option",
    "is_active",
    "set_option",
    "utcnow",
]


def define_option(addon: str, key: str, default: Any) -> None:
    """Declare a site option of ``addon``; its key must start with ``"<addon>."``."""
    if not key.startswith(f"{addon}."):
        raise ValueError(f"option {key!r} of add-on {addon} must start with {addon + '.'!r}")
    define(key, default, owner=addon)
