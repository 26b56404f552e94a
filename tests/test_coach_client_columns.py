"""My clients' session columns and the profile header: the viewer's own sessions of each client,
read through the client's indexes, whichever sort chose the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.helpers import sqlite_plans
from tests.test_coach_support import add_session, assign, tomorrow_at_ten

SORTS = ("name", "-name", "next", "recent")


def rows(html: str) -> dict[str, tuple[str, str]]:
    """Each client's (next session, session count) cells, by the client's name."""
    found = re.findall(
        r'<td data-label="Name"><a [^>]*>([^<]+)</a>.*?'
        r'<td data-label="Next session">([^<]*)</td>\s*'
        r'<td data-label="Sessions" class="num">(\d+)</td>',
        html,
        re.S,
    )
    return {name: (when, count) for name, when, count in found}


@pytest.fixture
def shared(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> dict[str, Any]:
    """Coach A with two clients; one of them also books with coach B, earlier and more often."""
    browser_a, coach_a = as_role("coach", first_name="Anna")
    browser_b, coach_b = as_role("coach", first_name="Bruno")
    alice = make_user("client", first_name="Alice", last_name="Adams")
    carl = make_user("client", first_name="Carl", last_name="Cole")
    assign(app, coach_a.id, alice.id)
    assign(app, coach_a.id, carl.id)
    soon = tomorrow_at_ten()
    add_session(app, coach_a.id, alice.id, starts_at=soon + timedelta(days=3))
    add_session(app, coach_a.id, alice.id, starts_at=soon - timedelta(days=9), status="completed")
    for days in (1, 2):
        add_session(app, coach_b.id, alice.id, starts_at=soon + timedelta(days=days))
    add_session(app, coach_a.id, carl.id, starts_at=soon + timedelta(days=5), status="cancelled")
    admin_browser, _admin = as_role("admin")
    return {"a": browser_a, "b": browser_b, "admin": admin_browser, "alice": alice, "carl": carl}


def test_each_sort_shows_the_viewers_own_next_session_and_count(shared: dict[str, Any]) -> None:
    seen = {
        sort: rows(shared["a"].get(f"/mes-clients?sort={sort}").get_data(as_text=True))
        for sort in SORTS
    }
    first = seen["name"]
    assert set(first) == {"Adams Alice", "Cole Carl"}
    assert first["Adams Alice"][1] == "2" and first["Adams Alice"][0] != "—"
    assert first["Cole Carl"] == ("—", "1")  # a cancelled session is not the next one
    assert all(found == first for found in seen.values()), seen
    everyone = rows(shared["admin"].get("/mes-clients").get_data(as_text=True))
    assert (
        everyone["Adams Alice"][1] == "4" and everyone["Adams Alice"][0] != first["Adams Alice"][0]
    )
    assert rows(shared["b"].get("/mes-clients").get_data(as_text=True))["Adams Alice"][1] == "2"


def test_the_next_sort_puts_clients_without_an_upcoming_session_last(
    shared: dict[str, Any],
) -> None:
    html = shared["a"].get("/mes-clients?sort=next").get_data(as_text=True)
    assert html.index("Adams Alice") < html.index("Cole Carl")


def test_the_profile_header_shows_the_viewers_own_next_session(shared: dict[str, Any]) -> None:
    def header(browser: Any, client: Any) -> str:
        html = browser.get(f"/customer/{client.id}").get_data(as_text=True)
        return html.split('<ul class="session-meta">', 1)[1].split("</ul>", 1)[0]

    listed = rows(shared["a"].get("/mes-clients").get_data(as_text=True))
    assert f"Next session: {listed['Adams Alice'][0]}" in header(shared["a"], shared["alice"])
    assert "No upcoming session" in header(shared["a"], shared["carl"])
    by_b = rows(shared["b"].get("/mes-clients").get_data(as_text=True))["Adams Alice"][0]
    assert by_b != listed["Adams Alice"][0]
    assert f"Next session: {by_b}" in header(shared["b"], shared["alice"])
    assert shared["b"].get(f"/customer/{shared['carl'].id}").status_code == 404


#: The (coach, start) index: through it SQLite read every upcoming session of the coach for
#: each client (2,500 rows at 100,000 sessions), and did so for every client before sorting.
COACH_INDEX = re.compile(
    r"coaching_sessions USING (COVERING )?INDEX ix_coaching_sessions_coach_start"
)


def test_client_columns_and_header_read_the_clients_own_sessions(
    app: Flask, shared: dict[str, Any]
) -> None:
    clients = (shared["alice"], shared["carl"])  # header, session cards and lists
    pages = [f"/mes-clients?sort={sort}" for sort in SORTS] + [
        f"/customer/{c.id}/{tab}" for c in clients for tab in ("contact", "overview", "sessions")
    ]
    for _page, statement, plan in sqlite_plans(app, shared["a"], *pages):
        assert not COACH_INDEX.search(plan), (statement, plan)
