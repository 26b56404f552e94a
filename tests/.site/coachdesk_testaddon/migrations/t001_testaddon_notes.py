"""testaddon: its notes table (its own migration branch)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t001"
down_revision = None
branch_labels = ("testaddon",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "testaddon_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testaddon_notes")),
    )


def downgrade() -> None:
    op.drop_table("testaddon_notes")
