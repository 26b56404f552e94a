"""Coach-side navigation, registered through the add-on hooks like any add-on's."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from core.accounts.models import Role, User
from hooks import MenuItem, hookimpl


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if user.role not in (Role.COACH, Role.ADMIN):
        return []
    return [MenuItem("coach-home", _("Coach home"), url_for("coach.home"), order=20)]
