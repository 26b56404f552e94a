"""Admin navigation, registered through the add-on hooks like any add-on's."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from core.accounts.models import Role, User
from hooks import MenuItem, hookimpl


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if user.role != Role.ADMIN:
        return []
    return [
        MenuItem("admin-dashboard", _("Dashboard"), url_for("admin.dashboard"), order=5),
        MenuItem("admin-addons", _("Add-ons"), url_for("admin.addons"), order=80),
        MenuItem("admin-themes", _("Themes"), url_for("admin.themes_page"), order=85),
    ]
