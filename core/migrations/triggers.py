"""The triggers that keep money honest in the database: a paid session needs a payment.

Shared by the revisions that create them (0001) and that must rebuild them (0002, 0005,
0012: SQLite drops a table's triggers when a batch migration rebuilds the table).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op

_NO_PAYMENT = "NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = {sid})"
PAID_NEEDS_PAYMENT = {
    "sqlite": [
        f"""CREATE TRIGGER trg_session_paid_insert BEFORE INSERT ON coaching_sessions
        WHEN NEW.payment_status = 'paid' AND {_NO_PAYMENT.format(sid="NEW.id")}
        BEGIN SELECT RAISE(ABORT, 'a paid session needs a payment'); END""",
        f"""CREATE TRIGGER trg_session_paid_update BEFORE UPDATE OF payment_status
        ON coaching_sessions
        WHEN NEW.payment_status = 'paid' AND {_NO_PAYMENT.format(sid="NEW.id")}
        BEGIN SELECT RAISE(ABORT, 'a paid session needs a payment'); END""",
        """CREATE TRIGGER trg_payment_delete AFTER DELETE ON payments
        WHEN EXISTS (SELECT 1 FROM coaching_sessions s
                     WHERE s.id = OLD.session_id AND s.payment_status = 'paid')
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = OLD.session_id)
        BEGIN SELECT RAISE(ABORT, 'a paid session needs a payment'); END""",
    ],
    "postgresql": [
        f"""CREATE FUNCTION coachdesk_session_paid_check() RETURNS trigger AS $$
        BEGIN
          IF NEW.payment_status = 'paid' AND {_NO_PAYMENT.format(sid="NEW.id")} THEN
            RAISE EXCEPTION 'a paid session needs a payment' USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER trg_session_paid BEFORE INSERT OR UPDATE OF payment_status
        ON coaching_sessions FOR EACH ROW EXECUTE FUNCTION coachdesk_session_paid_check()""",
        """CREATE FUNCTION coachdesk_payment_delete_check() RETURNS trigger AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM coaching_sessions s
                     WHERE s.id = OLD.session_id AND s.payment_status = 'paid')
             AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = OLD.session_id) THEN
            RAISE EXCEPTION 'a paid session needs a payment' USING ERRCODE = 'check_violation';
          END IF;
          RETURN OLD;
        END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER trg_payment_delete AFTER DELETE ON payments
        FOR EACH ROW EXECUTE FUNCTION coachdesk_payment_delete_check()""",
    ],
}
DROP_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER trg_session_paid_insert",
        "DROP TRIGGER trg_session_paid_update",
        "DROP TRIGGER trg_payment_delete",
    ],
    "postgresql": [
        "DROP TRIGGER trg_payment_delete ON payments",
        "DROP FUNCTION coachdesk_payment_delete_check()",
        "DROP TRIGGER trg_session_paid ON coaching_sessions",
        "DROP FUNCTION coachdesk_session_paid_check()",
    ],
}


@contextmanager
def kept_through_sqlite_rebuild() -> Iterator[None]:
    """Around a batch migration of ``payments`` or ``coaching_sessions``: on SQLite, which
    rebuilds the table (and loses its triggers), drop the triggers first and create them
    again after; other databases alter the table in place and keep them."""
    rebuilt = op.get_bind().dialect.name == "sqlite"
    if rebuilt:
        for statement in DROP_TRIGGERS["sqlite"]:
            op.execute(statement)
    yield
    if rebuilt:
        for statement in PAID_NEEDS_PAYMENT["sqlite"]:
            op.execute(statement)
