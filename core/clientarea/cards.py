"""Statistics cards above the client-area tabs.

The core's cards and any add-on's come from the ``client_statistics_cards`` hook.
The site option ``clientarea.hidden_cards`` lists the keys the site owner hid;
every other card shows, so a card brought by a newly activated add-on shows by
default. The admin settings page lists :func:`card_choices` and saves
:func:`set_hidden_cards`.
"""

from __future__ import annotations

from flask import g
from flask_babel import format_date, format_time, ngettext
from flask_babel import gettext as _

from core.accounts.models import User
from core.db import utcnow
from core.i18n import money
from core.plugins import collect
from core.sessions.queries import ClientStats, client_stats
from core.settings import define, get_option, set_option
from hooks import StatCard

HIDDEN_CARDS = "clientarea.hidden_cards"
define(HIDDEN_CARDS, [])


def stats_for(client: User) -> ClientStats:
    """The client's figures, computed once per request (cards and tab badges share them)."""
    cache: dict[int, ClientStats] = g.setdefault("_client_stats", {})
    if client.id not in cache:
        cache[client.id] = client_stats(client.id, utcnow())
    return cache[client.id]


def duration_text(minutes: int) -> str:
    """45 → '45 min'; 150 → '2 h 30 min'; 120 → '2 h' (no-break spaces: one line)."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        text = _("%(n)s min", n=rest)
    elif not rest:
        text = _("%(h)s h", h=hours)
    else:
        text = _("%(h)s h %(m)s min", h=hours, m=rest)
    return text.replace(" ", "\u00a0")


def core_cards(client: User) -> list[StatCard]:
    """The core's five cards: total, completed, time spent, next session, total spent."""
    stats = stats_for(client)
    spent = " · ".join(money(amount, currency) for currency, amount in stats.spent.items())
    return [
        StatCard(
            "total",
            _("Sessions"),
            str(stats.total),
            ngettext("%(num)s upcoming", "%(num)s upcoming", stats.upcoming)
            if stats.upcoming
            else None,
            order=10,
        ),
        StatCard("completed", _("Completed sessions"), str(stats.completed), order=20),
        StatCard("time", _("Time spent"), duration_text(stats.minutes_completed), order=30),
        StatCard(
            "next",
            _("Next session"),
            format_date(stats.next_start, "EEE d MMM") if stats.next_start else "—",
            f"{format_time(stats.next_start, 'short')} · {stats.next_title}"
            if stats.next_start
            else _("None planned"),
            order=40,
        ),
        StatCard(
            "spent",
            _("Total spent"),
            spent or money(0, get_option("general.currency")),
            order=50,
        ),
    ]


def available_cards(client: User) -> list[StatCard]:
    """Every card the core and the active add-ons offer, in display order."""
    return sorted(collect("client_statistics_cards", client=client), key=lambda c: (c.order, c.key))


def shown_cards(client: User) -> list[StatCard]:
    hidden = set(get_option(HIDDEN_CARDS) or [])
    return [card for card in available_cards(client) if card.key not in hidden]


def card_choices(viewer: User) -> list[tuple[str, str, bool]]:
    """(key, label, shown) of every card, for the settings page (figures are the viewer's)."""
    hidden = set(get_option(HIDDEN_CARDS) or [])
    return [(c.key, c.label, c.key not in hidden) for c in available_cards(viewer)]


def set_hidden_cards(keys: list[str]) -> None:
    """Hide these card keys (the caller commits)."""
    set_option(HIDDEN_CARDS, sorted(set(keys)))
