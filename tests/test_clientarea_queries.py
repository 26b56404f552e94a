"""Each client-area tab runs the same number of SQL statements for 5 sessions as for 200."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from bench.clientarea_bench import add_sessions
from core.accounts.models import Role, User
from core.db import db, get_database
from tests.helpers import sqlite_plans
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


#: Indexes that lead with something else than the client: through them SQLite reads every
#: client's sessions of a status, a payment status or a date range.
NOT_THE_CLIENTS = re.compile(
    r"(SCAN coaching_sessions\b(?! USING (COVERING )?INDEX ix_coaching_sessions_client_))"
    r"|(coaching_sessions USING (COVERING )?INDEX ix_coaching_sessions_(status|payment|start)_)"
)


def test_client_pages_read_sessions_through_the_clients_indexes(
    app: Flask, as_role, make_user
) -> None:  # type: ignore[no-untyped-def]
    """Every statement of every tab reads the client's own sessions, never those of all
    clients of a status (SQLite without statistics chose the status and payment indexes:
    100 ms for the Payments tab and 1.3 ms a query for My sessions at 100,000 sessions)."""
    browser, client = as_role(Role.CLIENT)
    seed(app, client, [make_user(Role.COACH)], 30)
    pages = [f"{AREA}/{key}" for key in TABS]
    plans = sqlite_plans(app, browser, *pages)
    for page in pages:
        assert any("coaching_sessions" in s for p, s, _plan in plans if p == page), page
    for page, statement, plan in plans:
        assert not NOT_THE_CLIENTS.search(plan), (page, statement, plan)


def test_lists_take_their_totals_from_the_figures(app: Flask, as_role, make_user) -> None:  # type: ignore[no-untyped-def]
    """The figures count each list as its query selects it, at the same instant, so the
    tabs run no count of their own."""
    from sqlalchemy import select

    from core.db import utcnow
    from core.sessions.models import CoachingSession as S
    from core.sessions.queries import client_stats, past_clause, unpaid_clause, upcoming_clause

    browser, client = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    seed(app, client, [coach], 45)
    with app.app_context():
        db.add(S(coach_id=coach.id, title="Open", starts_at=utcnow(), status="available"))
        db.add(S(coach_id=coach.id, client_id=client.id, title="Started", starts_at=utcnow()))
        db.commit()
        now = utcnow()
        stats = client_stats(client.id, now)
        mine = select(S.id).where(S.client_id == client.id)
        for figure, clause in [
            (stats.upcoming, upcoming_clause(now)),
            (stats.past, past_clause(now)),
            (stats.unpaid, unpaid_clause()),
        ]:
            assert figure == len(db.scalars(mine.where(clause)).all()) > 0
    for key in ("sessions", "payments", "history"):
        with counting(app) as statements:
            assert browser.get(f"{AREA}/{key}").status_code == 200
        assert not [s for s in statements if "count(*) AS count_1 \nFROM (SELECT" in s], key


def test_card_files_load_as_selectinload_loads_them(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    """Links in their position's order, documents in upload order, none for a bare session."""
    from datetime import timedelta

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from core.db import utcnow
    from core.sessions.models import CoachingSession as S
    from core.sessions.models import SessionDocument, SessionLink
    from core.sessions.queries import upcoming_sessions

    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    with app.app_context():
        for n in range(4):
            session = S(
                coach_id=coach.id, client_id=client.id, title=f"S{n}",
                starts_at=utcnow() + timedelta(days=n + 1),
            )  # fmt: skip
            db.add(session)
            db.flush()
            for position in range(n, 0, -1):  # added last-first: the position orders them
                db.add(
                    SessionLink(
                        session_id=session.id,
                        label=f"L{position}",
                        url="https://x.test",
                        position=position,
                    )
                )
            for k in range(n % 3):
                db.add(
                    SessionDocument(
                        session_id=session.id,
                        filename=f"d{k}.pdf",
                        storage_name=f"{session.id}-{k}",
                        size_bytes=1,
                        sha256="0" * 64,
                    )
                )
        db.commit()

    def shown(sessions: list[S]) -> list[tuple[str, list[str], list[str]]]:
        return [
            (s.title, [link.label for link in s.links], [d.filename for d in s.documents])
            for s in sessions
        ]

    with app.app_context():
        loaded = shown(upcoming_sessions(client.id, utcnow()).items)
        db.expunge_all()
        query = select(S).where(S.client_id == client.id).order_by(S.starts_at)
        expected = shown(
            list(db.scalars(query.options(selectinload(S.links), selectinload(S.documents))))
        )
    assert loaded == expected
    assert loaded[0] == ("S0", [], []) and loaded[3][1] == ["L1", "L2", "L3"]
