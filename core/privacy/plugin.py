"""Data rights in the rest of the product, through the same hooks as any add-on."""

from __future__ import annotations

from flask_babel import gettext as _

from core.accounts.models import Role, User
from core.accounts.permissions import has_capability
from core.privacy.views import ERASURE_REQUEST, profile_tab
from hooks import EmailType, Tab, hookimpl


@hookimpl
def client_profile_tabs(client: User, viewer: User) -> list[Tab]:
    """Administrators (erasure) and staff who may export see it."""
    if viewer.role != Role.ADMIN and not has_capability(viewer, "export_client_data"):
        return []
    return [Tab("privacy", _("Data & privacy"), lambda: profile_tab(client), order=95)]


@hookimpl
def email_types() -> list[EmailType]:
    return [
        EmailType(
            ERASURE_REQUEST,
            _("Erasure request"),
            "admin",
            _("{client_name} asks for their data to be erased"),
            _("Sent to administrators when a client asks, from My profile, to be erased."),
        )
    ]
