"""Admin navigation and the core's settings sections, registered through the add-on hooks."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from core.accounts.models import Role, User
from hooks import Capability, MenuItem, Tab, hookimpl


@hookimpl
def capabilities() -> list[Capability]:
    """The core's own capabilities, first in line for their keys."""
    from core.accounts.permissions import CAPABILITIES, CORE_COACH_DEFAULTS

    return [
        Capability(key, str(label), coach_default=key in CORE_COACH_DEFAULTS)
        for key, label in CAPABILITIES.items()
    ]


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if user.role != Role.ADMIN:
        return []
    return [
        MenuItem("admin-dashboard", _("Dashboard"), url_for("admin.dashboard"), 5, "dashboard"),
        MenuItem("admin-sessions", _("Sessions"), url_for("admin.sessions"), 60, "clock"),
        MenuItem("admin-settings", _("Settings"), url_for("admin.settings_page"), 70, "settings"),
        MenuItem("admin-users", _("Users"), url_for("admin.users"), 75, "user-cog"),
        MenuItem("admin-addons", _("Add-ons"), url_for("admin.addons"), 80, "addons"),
        MenuItem("admin-themes", _("Themes"), url_for("admin.themes_page"), 85, "palette"),
    ]


@hookimpl
def settings_sections(user: User) -> list[Tab]:
    from core.admin.settings import general_section, permissions_section
    from core.admin.style import style_section

    if user.role != Role.ADMIN:
        return []
    return [
        Tab("general", _("General"), general_section, order=10),
        Tab("style", _("Style"), style_section, order=30),
        Tab("permissions", _("Permissions"), permissions_section, order=40),
    ]
