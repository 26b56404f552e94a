"""ghost: its items table."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "g001"
down_revision = None
branch_labels = ("ghost",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ghost_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ghost_items")),
    )


def downgrade() -> None:
    op.drop_table("ghost_items")
