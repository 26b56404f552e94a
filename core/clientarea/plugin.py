"""The client area's own entries, registered through the add-on hooks like any add-on's."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from core.accounts.models import Role, User
from core.clientarea import tabs
from core.clientarea.cards import core_cards, stats_for
from hooks import MenuItem, StatCard, Tab, hookimpl


@hookimpl
def menu_items(user: User) -> list[MenuItem]:
    if user.role != Role.CLIENT:
        return []
    return [
        MenuItem("client-area", _("My area"), url_for("clientarea.index"), order=10, icon="home")
    ]


@hookimpl
def client_area_tabs(client: User) -> list[Tab]:
    """My sessions, Payments, History, My profile: each at ``/<slug>/<key>``."""
    stats = stats_for(client)
    return [
        Tab(
            "sessions", _("My sessions"), tabs.sessions_tab, order=10, badge=_count(stats.upcoming)
        ),
        Tab("payments", _("Payments"), tabs.payments_tab, order=20, badge=_count(stats.unpaid)),
        Tab("history", _("History"), tabs.history_tab, order=30),
        Tab("profile", _("My profile"), tabs.profile_tab, order=90),
    ]


@hookimpl
def client_statistics_cards(client: User) -> list[StatCard]:
    return core_cards(client)


def _count(n: int) -> str | None:
    return str(n) if n else None
