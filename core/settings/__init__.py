"""Site options: typed defaults declared in code, values set by the site owner in the database.

Every area declares its options with :func:`define`; pages read them with
:func:`get_option`. All options are read in one query per request and cached
for the rest of it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import g, has_app_context
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core.db import db, utcnow
from core.settings.models import SiteOption

_ALL_OPTIONS = select(SiteOption.key, SiteOption.value)  # built once: every request reads it
_DEFAULTS: dict[str, Any] = {}
_OWNERS: dict[str, str] = {}
T = TypeVar("T")


def define(key: str, default: Any, owner: str = "core") -> None:
    """Declare an option and its default (JSON-serialisable).

    A key belongs to whoever declared it first: declaring it again from another owner,
    or with another default, is an error (an add-on never takes over a core option).
    """
    if key in _DEFAULTS and (_OWNERS[key] != owner or _DEFAULTS[key] != default):
        raise ValueError(f"option {key!r} is already defined by {_OWNERS[key]}")
    _DEFAULTS[key] = default
    _OWNERS[key] = owner


def defaults() -> dict[str, Any]:
    return dict(_DEFAULTS)


def _stored() -> dict[str, Any]:
    cached: dict[str, Any] | None = g.get("_site_options") if has_app_context() else None
    if cached is None:
        # Columns, not objects: read on every request, it needs no identity map.
        cached = {k: v for k, v in db.execute(_ALL_OPTIONS)}
        if has_app_context():
            g._site_options = cached
    return cached


def derived(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per request while the options stay as they are.

    For what shared code works out from options on every page (coach capabilities, the
    menu, the style): asked several times a request, it is computed once; a
    :func:`set_option` in the same request drops it, so nothing stale is shown.
    """
    if not has_app_context():
        return compute()
    memo: dict[Hashable, Any] = g.setdefault("_option_derived", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]


def get_option(key: str) -> Any:
    """The stored value of a declared option, or its default (read once per request)."""
    if key not in _DEFAULTS:
        raise KeyError(f"undefined site option {key!r}")
    return _stored().get(key, _DEFAULTS[key])


def set_option(key: str, value: Any) -> None:
    """Write a new value in the current transaction (the caller commits).

    One upsert rather than read-then-insert: two processes setting an option that has
    no row yet (two workers' first heartbeat) would both insert, and one would fail.
    With ``ON CONFLICT`` the second waits for the first and then updates its row.
    """
    if key not in _DEFAULTS:
        raise KeyError(f"undefined site option {key!r}")
    table = SiteOption.__table__
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    statement = insert(table).values(key=key, value=value, updated_at=now)
    changes = {"value": statement.excluded.value, "updated_at": now}
    db.execute(statement.on_conflict_do_update(index_elements=[table.c.key], set_=changes))
    _stored()[key] = value
    if has_app_context():
        g.pop("_option_derived", None)


# Options of the core that several areas read. Areas define their own next to their code.
define("general.site_name", "Coachdesk")
define("general.timezone", "Europe/Paris")
define("general.currency", "EUR")
define("general.cancellation_window_hours", 24)
define("theme.active", "default")
