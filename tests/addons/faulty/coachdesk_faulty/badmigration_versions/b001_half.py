"""Creates a table, then runs SQL that every database refuses."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b001"
down_revision = None
branch_labels = ("badmigration",)
depends_on = None


def upgrade() -> None:
    op.create_table("badmigration_half", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("SELECT * FROM no_such_table_anywhere")


def downgrade() -> None:
    op.drop_table("badmigration_half")
