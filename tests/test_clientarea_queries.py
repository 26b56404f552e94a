"""Each client-area tab runs the same number of SQL statements for 5 sessions as for 200."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from core.accounts.models import Role, User
from core.db import db, get_database, utcnow
from core.payments.models import Payment
from core.sessions.models import CoachingSession, SessionDocument, SessionLink
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
    """``count`` sessions of every kind (upcoming, past, paid, cancelled…), with attachments."""
    now = utcnow()
    with app.app_context():
        for n in range(count):
            upcoming = n % 3 == 0
            session = CoachingSession(
                coach_id=coaches[n % len(coaches)].id,
                client_id=client.id,
                title=f"Session {n}",
                starts_at=now + timedelta(days=n + 2) if upcoming else now - timedelta(days=n + 1),
                price_amount=None if n % 7 == 0 else 4000 + n,
                status=("cancelled" if n % 5 == 0 else "booked") if upcoming else "completed",
                cancelled_by_id=coaches[0].id if upcoming and n % 5 == 0 else None,
                cancelled_at=now if upcoming and n % 5 == 0 else None,
                currency="EUR" if n % 4 else "CHF",
            )
            db.add(session)
            db.flush()
            db.add(SessionLink(session_id=session.id, label="Link", url="https://example.com/x"))
            db.add(
                SessionDocument(
                    session_id=session.id,
                    filename="plan.pdf",
                    storage_name=f"{session.id:032d}",
                    size_bytes=1,
                    sha256="0" * 64,
                )
            )
            if not upcoming and n % 2:
                db.add(
                    Payment(
                        session_id=session.id,
                        amount=4000,
                        currency="EUR",
                        method="cash",
                        paid_at=now,
                    )
                )
                db.flush()
                session.payment_status = "paid"
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
