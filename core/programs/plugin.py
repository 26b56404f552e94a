"""Programs' entries in the rest of the product, registered through the hooks like any add-on's."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from core.accounts.models import Role, User
from core.accounts.permissions import has_capability
from core.emails.types import NEW_BOOKING
from core.programs import sections
from core.programs.emails import email_type
from core.programs.service import is_booking_quietly
from core.sessions.models import CoachingSession
from hooks import Asset, EmailType, MenuItem, OutgoingEmail, Tab, hookimpl


def _manages(user: User) -> bool:
    return user.role in (Role.COACH, Role.ADMIN) and has_capability(user, "manage_programs")


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if not _manages(user):
        return []
    return [MenuItem("programs", _("Programs"), url_for("programs.index"), 35, "file")]


@hookimpl
def client_profile_tabs(client: User, viewer: User) -> list[Tab]:
    if not _manages(viewer):
        return []
    return [Tab("programs", _("Programs"), lambda: sections.profile_tab(client), order=25)]


@hookimpl
def client_area_tabs(client: User) -> list[Tab]:
    """Shown once the client has a bundle: each with its progress, money and sessions."""
    if not sections.has_bundles(client):
        return []
    return [Tab("programs", _("My programs"), sections.client_tab, order=15)]


@hookimpl
def client_payment_actions(client: User) -> list[Markup]:
    return sections.payment_actions(client)


@hookimpl
def client_finances_sections(client: User, viewer: User) -> list[Markup]:
    section = sections.finances_section(client, viewer) if _manages(viewer) else None
    return [section] if section is not None else []


@hookimpl
def session_editor_sections(session: CoachingSession | None, viewer: User) -> list[Tab]:
    if session is None or session.bundle_id is None:
        return []
    return [Tab("program", _("Program"), lambda: sections.editor_section(session), order=20)]


@hookimpl
def email_types() -> list[EmailType]:
    return [email_type()]


@hookimpl
def before_email_queued(email: OutgoingEmail) -> None:
    """Booking a bundle's sessions tells nobody: "Send confirmations" is the only sender."""
    if email.email_type == NEW_BOOKING and is_booking_quietly():
        email.veto("bundle sessions are booked silently (programs)")


@hookimpl
def settings_sections(user: User) -> list[Tab]:
    if user.role != Role.ADMIN:
        return []
    return [Tab("programs", _("Programs"), sections.settings_section, order=35)]


@hookimpl
def page_assets(user: User | None) -> list[Asset]:
    if user is None:
        return []
    from core.themes import asset_url

    return [Asset("css", asset_url("css/programs.css"))]
