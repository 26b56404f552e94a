"""A client's sessions by payment status: what they owe, from one index.

The client's Payments tab (and the amount due on every client page) asks for one
client's unpaid sessions, oldest first. With only ``(client_id, starts_at, id)`` and
``(payment_status, starts_at, id)`` to choose from, SQLite without statistics (sites
never run ``ANALYZE``) took the payment index, which sorts for it but reads every
pending session of every client: 100 ms a query with 100,000 sessions. This index
answers both conditions and the order (0.1 ms).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NAME = "ix_coaching_sessions_client_payment_start"


def upgrade() -> None:
    op.create_index(NAME, "coaching_sessions", ["client_id", "payment_status", "starts_at", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="coaching_sessions")
