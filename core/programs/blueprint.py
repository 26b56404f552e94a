"""The programs blueprint and what its views share: who may use them, money typed in forms."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from flask import Blueprint
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from core.accounts.access import staff_required
from core.accounts.models import Role, User
from core.accounts.permissions import capability_required
from core.db import db
from core.i18n import from_minor, to_minor

bp = Blueprint("programs", __name__, url_prefix="/programs")
F = TypeVar("F", bound=Callable[..., Any])


def manager_view(view: F) -> F:
    """Staff with the ``manage_programs`` capability (others: sign-in page or 403).

    Declared with ``capability_required`` so that the capability walk test sees it.
    """
    return staff_required(capability_required("manage_programs")(view))


def exact_minor(amount: Decimal | None, currency: str) -> int | None:
    """Minor units of an amount typed in a form, or None when the currency cannot hold it
    (finer than its smallest unit, e.g. 10.005 €)."""
    if amount is None or len(currency) != 3:
        return None
    minor = to_minor(amount, currency)
    return minor if from_minor(minor, currency) == amount else None


def coach_choices() -> list[SelectChoice]:
    """Active coaches and administrators, for an administrator choosing who coaches."""
    people = db.scalars(
        select(User)
        .where(User.role.in_([Role.COACH.value, Role.ADMIN.value]), User.is_active)
        .order_by(User.last_name, User.first_name)
    )
    return [SelectChoice(p.id, p.full_name) for p in people]
