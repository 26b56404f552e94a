"""The busiest coach pages run the same number of queries whatever the amount of data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from core.db import utcnow
from tests.helpers import sqlite_plans
from tests.test_clientarea_queries import counting
from tests.test_coach_support import add_session, assign, tomorrow_at_ten


def add_clients_with_sessions(
    app: Flask, make_user: Callable[..., Any], coach_id: int, clients: int, per_client: int
) -> None:
    start = tomorrow_at_ten()
    for _ in range(clients):
        client = make_user("client")
        assign(app, coach_id, client.id)
        for i in range(per_client):
            add_session(app, coach_id, client.id, starts_at=start + timedelta(hours=i))
        add_session(app, coach_id, client.id, starts_at=utcnow(), status="completed")


PAGES = ["/accueil-coach", "/accueil-coach?tab=statistics", "/calendrier-seances", "/mes-clients"]


@pytest.mark.parametrize("role", ["coach", "admin"])
def test_query_counts_do_not_grow_with_data(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any], role: str
) -> None:
    browser, user = as_role(role)

    def counts() -> dict[str, int]:
        result = {}
        for url in PAGES:
            with counting(app) as statements:
                assert browser.get(url).status_code == 200
            result[url] = len(statements)
        return result

    add_clients_with_sessions(app, make_user, user.id, clients=2, per_client=1)
    small = counts()
    add_clients_with_sessions(app, make_user, user.id, clients=12, per_client=4)
    assert counts() == small
    assert max(small.values()) <= 12, small


def test_profile_query_count_does_not_grow(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, coach = as_role("coach")
    client = make_user("client")
    assign(app, coach.id, client.id)
    add_session(app, coach.id, client.id)
    tabs = ["overview", "sessions", "finances"]

    def counts() -> list[int]:
        result = []
        for tab in tabs:
            with counting(app) as statements:
                assert browser.get(f"/customer/{client.id}/{tab}").status_code == 200
            result.append(len(statements))
        return result

    small = counts()
    for i in range(15):
        add_session(app, coach.id, client.id, starts_at=utcnow() + timedelta(days=i + 2))
        add_session(app, coach.id, client.id, starts_at=utcnow() - timedelta(days=i + 2))
    assert counts() == small


def plans(app: Flask, browser: Any, url: str, part: str) -> list[list[str]]:
    """SQLite's plan of each statement of the page that contains ``part``."""
    return [plan.split(" | ") for _u, s, plan in sqlite_plans(app, browser, url) if part in s]


def test_statistics_read_a_coachs_payments_from_one_index_range(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    """The revenue statement reads the coach's payments as one range of their own index
    (payments.coach_id, migration 0012), not each session's payments (6 ms at 10,000
    sessions), and never reads the sessions; refunds are few and read from their table."""
    browser, coach = as_role("coach")
    add_clients_with_sessions(app, make_user, coach.id, clients=2, per_client=2)
    (plan,) = plans(app, browser, "/accueil-coach?tab=statistics", "refunds")
    range_read = (
        "SEARCH payments USING COVERING INDEX ix_payments_coach_currency_paid"
        " (coach_id=? AND currency=?)"
    )
    assert plan.count(range_read) == 1, plan
    assert not any("coaching_sessions" in step for step in plan), plan
    assert "SCAN refunds" in plan, plan


@pytest.mark.parametrize("role", ["coach", "admin"])
def test_calendar_numbers_sessions_from_an_index(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any], role: str
) -> None:
    """The calendar numbers each day's sessions reading their start and id from an index
    only; the other columns are read for the few it shows (a month has hundreds)."""
    browser, user = as_role(role)
    add_clients_with_sessions(app, make_user, user.id, clients=2, per_client=2)
    for url in ("/calendrier-seances", "/calendrier-seances?view=week"):
        (plan,) = plans(app, browser, url, "row_number")
        reads = [
            step
            for step in plan
            if step.startswith(("SCAN", "SEARCH")) and "coaching_sessions" in step
        ]
        assert reads[0].startswith("SEARCH coaching_sessions USING COVERING INDEX"), plan
        assert reads[1] == "SEARCH coaching_sessions USING INTEGER PRIMARY KEY (rowid=?)", plan
