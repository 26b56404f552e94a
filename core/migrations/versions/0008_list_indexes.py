"""Indexes for the admin's lists: sessions by status or payment, latest first; sessions never
confirmed to their client, and flagged payments (two small partial indexes); the id added to
the client's sessions index, so that a search by client sorts from the index alone.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SESSION_INDEXES = {
    "ix_coaching_sessions_status_start": ["status", "starts_at", "id"],
    "ix_coaching_sessions_payment_start": ["payment_status", "starts_at", "id"],
}
#: name → (table, columns, the rows it holds); the conditions match the models'.
PARTIAL_INDEXES = {
    "ix_coaching_sessions_unconfirmed": (
        "coaching_sessions",
        ["status", "starts_at"],
        "confirmation_sent_at IS NULL",
    ),
    "ix_payments_attention": ("payments", ["id"], "attention IS NOT NULL"),
}


#: An index of 0001 that gains a column: (before, after).
CLIENT_START = "ix_coaching_sessions_client_start"
CLIENT_START_COLUMNS = (["client_id", "starts_at"], ["client_id", "starts_at", "id"])


def upgrade() -> None:
    op.drop_index(CLIENT_START, table_name="coaching_sessions")
    op.create_index(CLIENT_START, "coaching_sessions", CLIENT_START_COLUMNS[1])
    for name, columns in SESSION_INDEXES.items():
        op.create_index(name, "coaching_sessions", columns)
    for name, (table, columns, where) in PARTIAL_INDEXES.items():
        condition = sa.text(where)
        op.create_index(name, table, columns, sqlite_where=condition, postgresql_where=condition)


def downgrade() -> None:
    for name, (table, _columns, _where) in PARTIAL_INDEXES.items():
        op.drop_index(name, table_name=table)
    for name in SESSION_INDEXES:
        op.drop_index(name, table_name="coaching_sessions")
    op.drop_index(CLIENT_START, table_name="coaching_sessions")
    op.create_index(CLIENT_START, "coaching_sessions", CLIENT_START_COLUMNS[0])
