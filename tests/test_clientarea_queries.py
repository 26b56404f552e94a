"""Each client-area tab runs the same number of SQL statements for 5 sessions as for 200."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from bench.clientarea_bench import add_sessions
from core.accounts.models import Role, User
from core.db import db, get_database
from tests.test_clientarea_pages import AREA

TABS = ("sessions", "payments", "history", "history?page=2", "profile")


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block."""
    statements: list[str] = []
    engine = get_database(app).engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def seed(app: Flask, client: User, coaches: list[User], count: int) -> None:
    with app.app_context():
        add_sessions(
            client.id, [c.id for c in coaches], past=count - count // 3, upcoming=count // 3
        )
        db.commit()


def statements_per_tab(app: Flask, browser: Any) -> dict[str, int]:
    counts = {}
    for key in TABS:
        browser.get(f"{AREA}/{key}")  # warm caches (add-on states, options) like a live site
        with counting(app) as statements:
            response = browser.get(f"{AREA}/{key}")
        assert response.status_code == 200, key
        counts[key] = len(statements)
    return counts


@pytest.mark.parametrize("many", [200])
def test_query_count_does_not_grow_with_sessions(app: Flask, as_role, make_user, many: int) -> None:
    coaches = [make_user(Role.COACH) for _ in range(3)]
    few_browser, few = as_role(Role.CLIENT)
    many_browser, lots = as_role(Role.CLIENT)
    seed(app, few, coaches, 5)
    seed(app, lots, coaches, many)
    few_counts = statements_per_tab(app, few_browser)
    many_counts = statements_per_tab(app, many_browser)
    assert few_counts == many_counts
    assert max(many_counts.values()) <= 12, many_counts


def test_what_a_client_owes_is_read_through_a_client_index(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    """Not through the payment-status index, which reads every client's pending sessions
    (SQLite without statistics chose it: 100 ms a query with 100,000 sessions)."""
    if get_database(app).dialect != "sqlite":
        pytest.skip("SQLite's planner without statistics; PostgreSQL plans from its own")
    from sqlalchemy import select, text

    from core.sessions.models import CoachingSession as S
    from core.sessions.queries import unpaid_clause

    client = make_user(Role.CLIENT)
    query = (
        select(S.id)
        .where(S.client_id == client.id, unpaid_clause())
        .order_by(S.starts_at, S.id)
        .limit(20)
    )
    with app.app_context():
        compiled = query.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row) for row in db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        db.rollback()
    assert "USING INDEX ix_coaching_sessions_client_" in plan, plan
