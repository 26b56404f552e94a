"""Who reaches a bundle: its coach, its client, and administrators. Nobody else."""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, true

from core.accounts.models import Role, User
from core.db import db
from core.programs.models import Bundle


def bundles_visible_to(viewer: User) -> ColumnElement[bool]:
    """SQL condition on ``Bundle``: all for admins, their own for a coach or a client."""
    if viewer.role == Role.ADMIN:
        return true()
    if viewer.role == Role.COACH:
        return Bundle.coach_id == viewer.id
    return Bundle.client_id == viewer.id


def can_reach_bundle(viewer: User, bundle: Bundle) -> bool:
    if viewer.role == Role.ADMIN:
        return True
    if viewer.role == Role.COACH:
        return bundle.coach_id == viewer.id
    return bundle.client_id == viewer.id


def get_bundle_or_404(viewer: User, bundle_id: int, *options: Any) -> Bundle:
    """The bundle if ``viewer`` reaches it, else 404 (never reveal that it exists)."""
    bundle = db.get(Bundle, bundle_id, options=list(options))
    if bundle is None or not can_reach_bundle(viewer, bundle):
        abort(404)
    return bundle
