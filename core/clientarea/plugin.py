"""The client area's own entries, registered through the add-on hooks like any add-on's."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from core.accounts.models import Role, User
from hooks import MenuItem, hookimpl


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if user.role != Role.CLIENT:
        return []
    return [MenuItem("client-area", _("My area"), url_for("clientarea.index"), order=10)]
