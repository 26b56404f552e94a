"""Migrations are the only path to the schema: empty → head → base → head, matching the models."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import insert, inspect, select, update

from core import create_app
from core.accounts.models import User
from core.db import Base, db, get_database
from core.migrations.runner import applied, current, downgrade, is_up_to_date, upgrade
from core.payments.models import Payment, Refund
from core.sessions.models import CoachingSession
from tests.helpers import fresh_database_url


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a brand-new, empty database of the same kind as the test database."""
    with fresh_database_url(tmp_path) as url:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 40}, instance_path=str(tmp_path))
        yield app
        get_database(app).engine.dispose()


def schema_differences(app: Flask) -> list[object]:
    """What autogenerate would change. (Expression indexes cannot be reflected and are
    skipped with a warning; test_constraints proves the case-insensitive email index.)"""
    with get_database(app).engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(empty_app: Flask) -> None:
    assert current(empty_app) == []
    with warnings.catch_warnings(record=True) as shown:  # what `coachdesk db upgrade` prints
        warnings.simplefilter("always")
        upgrade(empty_app)
    assert [str(w.message) for w in shown] == []
    assert is_up_to_date(empty_app)
    # The core branch and the test add-on's own branch were both applied.
    assert {"0001", "t001"} <= applied(empty_app)
    assert schema_differences(empty_app) == []
    engine = get_database(empty_app).engine
    assert "testaddon_notes" in inspect(engine).get_table_names()

    downgrade(empty_app, "base")
    assert current(empty_app) == []
    leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert leftover == set()

    upgrade(empty_app)
    assert is_up_to_date(empty_app)


def test_earlier_payments_get_their_refunds_0002_and_their_coach_0012(empty_app: Flask) -> None:
    upgrade(empty_app, "0001")
    when = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    with empty_app.app_context():
        # The users table as 0001 made it (later revisions add columns): plain inserts.
        coach_id, client_id = (
            db.execute(
                insert(User.__table__)
                .values(email=f"{role}@example.test", first_name="A", last_name="B", role=role)
                .returning(User.__table__.c.id)
            ).scalar_one()
            for role in ("coach", "client")
        )
        ids = []
        sessions = CoachingSession.__table__
        for status in ("refunded", "paid"):
            # Both tables as 0001 made them, without the columns later revisions add.
            session_id = db.execute(
                insert(sessions)
                .values(
                    coach_id=coach_id, client_id=client_id, client_role="client", title=status,
                    starts_at=when, duration_minutes=60, currency="EUR", status="booked",
                    payment_status="pending", created_at=when, updated_at=when, version=1,
                    schedule_revision=1,
                )
                .returning(sessions.c.id)
            ).scalar_one()  # fmt: skip
            ids.append(session_id)
            columns = {"session_id": session_id, "amount": 4000, "currency": "EUR"}
            db.execute(insert(Payment.__table__).values(**columns, method="cash", paid_at=when))
            db.execute(
                update(sessions).where(sessions.c.id == session_id).values(payment_status=status)
            )
        db.commit()
    upgrade(empty_app)
    with empty_app.app_context():
        refunds = db.execute(
            select(Payment.session_id, Refund.amount).join(Payment, Payment.id == Refund.payment_id)
        ).all()
        coaches = db.scalars(select(Payment.coach_id)).all()  # 0012: the session's coach
    assert [tuple(r) for r in refunds] == [(ids[0], 4000)]
    assert coaches == [coach_id, coach_id]
