"""The coach workspace's menu entries, profile tabs and statistics cards.

Registered through the add-on hooks like any add-on's (read this as a worked example).
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from core.accounts.models import Role, User
from core.accounts.permissions import has_capability
from core.db import utcnow
from core.i18n import money
from hooks import MenuItem, StatCard, Tab, hookimpl


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if user.role not in (Role.COACH, Role.ADMIN):
        return []
    items = []
    if has_capability(user, "view_sessions"):
        items += [
            MenuItem("coach-home", _("Coach home"), url_for("coach.home"), 20, "home"),
            MenuItem("coach-calendar", _("Calendar"), url_for("coach.calendar"), 25, "calendar"),
        ]
    if has_capability(user, "view_clients"):
        items.append(
            MenuItem("coach-clients", _("My clients"), url_for("coach.clients"), 30, "users")
        )
    return items


@hookimpl
def client_profile_tabs(client: User, viewer: User) -> list[Tab]:
    from core.coach import profile

    tabs = [Tab("overview", _("Overview"), lambda: profile.overview_tab(client), order=10)]
    if has_capability(viewer, "view_sessions"):
        tabs += [
            Tab("sessions", _("Sessions"), lambda: profile.sessions_tab(client), order=20),
            Tab("finances", _("Finances"), lambda: profile.finances_tab(client), order=30),
        ]
    tabs.append(Tab("contact", _("Contact"), lambda: profile.contact_tab(client), order=90))
    return tabs


@hookimpl
def coach_statistics_cards(viewer: User) -> list[StatCard]:
    from core.coach.stats import summary

    totals = summary(viewer, utcnow())
    return [
        StatCard("clients", _("Clients"), str(totals.clients), order=10),
        StatCard("sessions", _("Sessions"), str(totals.sessions), order=20),
        StatCard("upcoming", _("Upcoming"), str(totals.upcoming), order=30),
        StatCard(
            "revenue",
            _("Revenue"),
            money(totals.revenue, totals.currency),
            _("Paid sessions, all time"),
            order=40,
        ),
    ]
