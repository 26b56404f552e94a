"""The email log: indexes for its newest-first pages and filters; users.last_locale.

``last_locale`` is the language the browser asked for at the last sign-in, used for
emails when the profile language is automatic.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_outbox_emails_created": ["created_at", "id"],
    "ix_outbox_emails_status_created": ["status", "created_at", "id"],
    "ix_outbox_emails_type_created": ["email_type", "created_at", "id"],
}


def upgrade() -> None:
    # Plain ALTER TABLE (no batch rebuild: it would lose the lower(email) index on SQLite).
    op.add_column("users", sa.Column("last_locale", sa.String(length=10), nullable=True))
    for name, columns in INDEXES.items():
        op.create_index(name, "outbox_emails", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="outbox_emails")
    op.drop_column("users", "last_locale")
