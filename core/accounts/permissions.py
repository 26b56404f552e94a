"""Capabilities of the coach role, set by administrators (Settings → Permissions).

Administrators have every capability; clients have none of these. Add-ons declare
more through the ``capabilities`` hook; until the site owner saves a choice for one,
its ``coach_default`` applies.

A view that shows or changes what a capability guards declares it with
:func:`capability_required` (recorded as ``view.capabilities``), so that a test can
walk the URL map per capability; pages that show guarded data in passing (a tab, a
column, a link) ask :func:`has_capability`, or ``can(key)`` in templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.accounts.audit import audit
from core.accounts.models import Role, User
from core.settings import define, derived, get_option
from hooks import Capability

CAPABILITIES: dict[str, object] = {
    "view_clients": _l("View clients"),
    "create_clients": _l("Create clients"),
    "edit_clients": _l("Edit clients"),
    "delete_clients": _l("Delete (deactivate) clients"),
    "view_sessions": _l("View sessions"),
    "edit_sessions": _l("Create and edit sessions"),
    "refund_payments": _l("Refund payments (by hand or through a payment add-on)"),
    "manage_programs": _l("Manage programs (templates and bundles of sessions)"),
    "export_client_data": _l("Export a client's personal data (ZIP with all their records)"),
}
CORE_COACH_DEFAULTS = (
    "view_clients",
    "create_clients",
    "edit_clients",
    "view_sessions",
    "edit_sessions",
    "refund_payments",
    "manage_programs",
)
define("permissions.coach", list(CORE_COACH_DEFAULTS))
#: Every capability the site owner has saved a choice for (the rest use their default).
define("permissions.decided", list(CAPABILITIES))


def all_capabilities() -> dict[str, Capability]:
    """The core's capabilities and those of the active add-ons, by key (once per request)."""
    cached = g.get("_capabilities") if has_request_context() else None
    if cached is None:
        from core.plugins import collect

        cached = {c.key: c for c in collect("capabilities")}
        if has_request_context():
            g._capabilities = cached
    return cached  # type: ignore[no-any-return]


def coach_capabilities() -> frozenset[str]:
    """What coaches may do: the saved choices, and the default of every undecided one."""

    def compute() -> frozenset[str]:
        granted = set(get_option("permissions.coach"))
        decided = set(get_option("permissions.decided"))
        return frozenset(
            granted
            | {k for k, c in all_capabilities().items() if k not in decided and c.coach_default}
        )

    return derived("coach_capabilities", compute)


def has_capability(user: User, capability: str) -> bool:
    """Whether ``user`` may do ``capability``; an unknown key is a bug (``KeyError``)."""
    if capability not in CAPABILITIES and capability not in all_capabilities():
        raise KeyError(f"unknown capability {capability!r}")
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.COACH:
        return capability in coach_capabilities()
    return False


def require_capability(user: User, capability: str) -> None:
    """403 unless ``user`` has ``capability``."""
    if not has_capability(user, capability):
        abort(403)


F = TypeVar("F", bound=Callable[..., Any])


def capability_required(
    *capabilities: str, methods: Iterable[str] | None = None
) -> Callable[[F], F]:
    """Coaches need every one of ``capabilities`` (for these HTTP ``methods`` only, if given)
    or get 403; administrators have them all, and other roles are not concerned (their
    access is the view's audience and ownership). Put it under the audience decorator.

    Stackable; the view records ``capabilities``: {capability: methods or None (all)}.
    """
    only = frozenset(m.upper() for m in methods) if methods is not None else None

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if (
                (only is None or request.method in only)
                and current_user.role == Role.COACH
                and not all(has_capability(current_user, c) for c in capabilities)
            ):
                audit(
                    "refused: user %s lacks %s for %s", current_user.id, capabilities, request.path
                )
                abort(403)
            return view(*args, **kwargs)

        declared = dict(getattr(view, "capabilities", {}))  # a copy: wraps() shares __dict__
        declared.update(dict.fromkeys(capabilities, only))
        wrapper.capabilities = declared  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
