"""Payments carry their session's coach: a coach's revenue is one range of an index.

The Statistics tab summed the payments of every session of the coach: one index probe
per session (10,000 for a coach of the benchmark's data set, about 6 ms on SQLite).
``payments.coach_id`` with ``(coach_id, currency, paid_at, amount)`` makes it one range.

The copy cannot drift from the session: ``(session_id, coach_id)`` is a foreign key to
``coaching_sessions (id, coach_id)`` (a unique index), ``ON UPDATE CASCADE``, so the
database carries a change of the session's coach over to its payments and refuses a
payment that names another coach. Existing payments get their session's coach.

SQLite rebuilds ``payments`` for the foreign key, which drops its money trigger: the
triggers are dropped first and made again, as in 0002.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.migrations.triggers import kept_through_sqlite_rebuild

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SESSION_COACH = "uq_coaching_sessions_id_coach"
FK_NAME = "fk_payments_session_coach"
COACH_COVER = "ix_payments_coach_currency_paid"
BACKFILL = """
UPDATE payments SET coach_id =
  (SELECT s.coach_id FROM coaching_sessions s WHERE s.id = payments.session_id)
"""


def upgrade() -> None:
    op.create_index(SESSION_COACH, "coaching_sessions", ["id", "coach_id"], unique=True)
    op.add_column("payments", sa.Column("coach_id", sa.Integer(), nullable=True))
    op.execute(BACKFILL)
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("payments", "coach_id", nullable=False)
        op.create_foreign_key(
            FK_NAME,
            "payments",
            "coaching_sessions",
            ["session_id", "coach_id"],
            ["id", "coach_id"],
            onupdate="CASCADE",
            ondelete="CASCADE",
        )
    else:
        with kept_through_sqlite_rebuild(), op.batch_alter_table("payments") as batch_op:
            batch_op.alter_column("coach_id", existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(
                FK_NAME,
                "coaching_sessions",
                ["session_id", "coach_id"],
                ["id", "coach_id"],
                onupdate="CASCADE",
                ondelete="CASCADE",
            )
    op.create_index(COACH_COVER, "payments", ["coach_id", "currency", "paid_at", "amount"])


def downgrade() -> None:
    op.drop_index(COACH_COVER, table_name="payments")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK_NAME, "payments", type_="foreignkey")
        op.drop_column("payments", "coach_id")
    else:
        with kept_through_sqlite_rebuild(), op.batch_alter_table("payments") as batch_op:
            batch_op.drop_constraint(FK_NAME, type_="foreignkey")
            batch_op.drop_column("coach_id")
    op.drop_index(SESSION_COACH, table_name="coaching_sessions")
