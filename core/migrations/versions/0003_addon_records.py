"""addon_states: the tables and revisions each add-on's migrations created.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("addon_states") as batch:
        batch.add_column(sa.Column("tables", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("revisions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("addon_states") as batch:
        batch.drop_column("revisions")
        batch.drop_column("tables")
