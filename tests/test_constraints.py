"""Rules the database itself enforces, whatever the Python code does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.accounts.models import Role
from core.db import db, get_database
from core.payments.service import record_payment
from core.sessions.models import CoachingSession


def insert_session(conn, coach_id: int, client_id: int | None, **values) -> int:  # type: ignore[no-untyped-def]
    row = {
        "coach_id": coach_id,
        "client_id": client_id,
        "client_role": "client",
        "title": "T",
        "starts_at": datetime(2030, 1, 1, 9, tzinfo=UTC),
        "duration_minutes": 60,
        "currency": "EUR",
        "status": "booked",
        "payment_status": "pending",
        "price_amount": 1000,
        "version": 1,
        "schedule_revision": 1,
        "created_at": datetime(2030, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2030, 1, 1, tzinfo=UTC),
    } | values
    table = CoachingSession.__table__
    return int(conn.execute(table.insert().values(**row)).inserted_primary_key[0])


def insert_payment(  # type: ignore[no-untyped-def]
    conn, session_id: int, amount: int = 5, method: str = "cash", coach_id: int | None = None
) -> None:
    """A payment row; its coach is the session's unless ``coach_id`` says otherwise."""
    conn.execute(
        text(
            "INSERT INTO payments"
            " (session_id, coach_id, amount, currency, method, paid_at, provider, created_at)"
            " VALUES (:s, coalesce(:c, (SELECT coach_id FROM coaching_sessions WHERE id = :s)),"
            " :a, 'EUR', :m, '2030-01-01', 'manual', '2030-01-01')"
        ),
        {"s": session_id, "c": coach_id, "a": amount, "m": method},
    )


@pytest.fixture
def people(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.COACH), make_user(Role.CLIENT)


def refused(app: Flask, statement) -> None:  # type: ignore[no-untyped-def]
    """The statement fails in the database and leaves nothing behind."""
    engine = get_database(app).engine
    with pytest.raises(DBAPIError), engine.begin() as conn:
        statement(conn)


def test_emails_are_unique_whatever_the_case(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.CLIENT, email="Same@Example.test")
    refused(
        app,
        lambda c: c.execute(
            text(
                "INSERT INTO users"
                " (email, first_name, last_name, role, is_active, session_token, created_at)"
                " VALUES ('same@EXAMPLE.test', 'a', 'b', 'client', true, 'tok-x', '2030-01-01')"
            )
        ),
    )


def test_a_sessions_client_must_be_a_client(app: Flask, people) -> None:  # type: ignore[no-untyped-def]
    coach, client = people
    refused(app, lambda c: insert_session(c, coach.id, coach.id))  # a coach as client
    refused(app, lambda c: insert_session(c, coach.id, None))  # no client, not an open slot
    with get_database(app).engine.begin() as conn:
        insert_session(conn, coach.id, None, status="available")  # an open slot needs none
        insert_session(conn, coach.id, client.id)


@pytest.mark.parametrize(
    "values",
    [
        {"price_amount": -1},
        {"duration_minutes": 0},
        {"status": "maybe"},
        {"payment_status": "owed"},
        {"currency": "EURO"},
    ],
)
def test_session_values_are_checked(app: Flask, people, values) -> None:  # type: ignore[no-untyped-def]
    coach, client = people
    refused(app, lambda c: insert_session(c, coach.id, client.id, **values))


def test_a_paid_session_has_a_payment(app: Flask, people) -> None:  # type: ignore[no-untyped-def]
    coach, client = people
    refused(app, lambda c: insert_session(c, coach.id, client.id, payment_status="paid"))
    with get_database(app).engine.begin() as conn:
        session_id = insert_session(conn, coach.id, client.id)
    refused(
        app,
        lambda c: c.execute(
            text(f"UPDATE coaching_sessions SET payment_status='paid' WHERE id={session_id}")
        ),
    )
    refused(app, lambda c: insert_payment(c, session_id, amount=-5))  # negative
    refused(app, lambda c: insert_payment(c, session_id, method="bitcoin"))  # unknown method
    with get_database(app).engine.begin() as conn:  # control: the same insert, valid, goes in
        insert_payment(conn, session_id)
        conn.execute(text(f"DELETE FROM payments WHERE session_id={session_id}"))
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        assert session is not None
        record_payment(session, method="cash")
        db.commit()
    # Its only payment cannot disappear while it is paid.
    refused(app, lambda c: c.execute(text(f"DELETE FROM payments WHERE session_id={session_id}")))
    with get_database(app).engine.begin() as conn:
        assert (
            conn.execute(
                text(f"SELECT count(*) FROM payments WHERE session_id={session_id}")
            ).scalar()
            == 1
        )


def test_a_payment_follows_its_sessions_coach(app: Flask, people, make_user) -> None:  # type: ignore[no-untyped-def]
    """Payments copy their session's coach (for revenue by coach): the database keeps the
    copy right, whatever the code does."""
    coach, client = people
    other = make_user(Role.COACH)
    with get_database(app).engine.begin() as conn:
        session_id = insert_session(conn, coach.id, client.id)
    refused(app, lambda c: insert_payment(c, session_id, coach_id=other.id))
    engine = get_database(app).engine
    with engine.begin() as conn:
        insert_payment(conn, session_id)
        conn.execute(
            text(f"UPDATE coaching_sessions SET coach_id={other.id} WHERE id={session_id}")
        )
    with engine.begin() as conn:
        rows = conn.execute(text(f"SELECT coach_id FROM payments WHERE session_id={session_id}"))
        assert rows.scalars().all() == [other.id]
    refused(
        app,
        lambda c: c.execute(
            text(f"UPDATE payments SET coach_id={coach.id} WHERE session_id={session_id}")
        ),
    )


def test_naive_datetimes_are_refused(app: Flask, people) -> None:  # type: ignore[no-untyped-def]
    coach, client = people
    with app.app_context(), pytest.raises(Exception, match="naive datetime"):
        db.add(
            CoachingSession(
                coach_id=coach.id, client_id=client.id, title="x", starts_at=datetime(2030, 1, 1, 9)
            )
        )
        db.flush()


def test_names_are_kept_on_one_line(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    """Names end up in email headers: a smuggled line break must not survive."""
    user = make_user(Role.CLIENT, first_name="Ann\r\nBcc: x@evil.test", last_name="  Lee  ")
    assert user.first_name == "Ann Bcc: x@evil.test"
    assert user.last_name == "Lee"
    assert user.full_name == "Ann Bcc: x@evil.test Lee"
