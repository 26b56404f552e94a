"""Physical: measures, entries, values, targets, units (built-in measures: on activation).

Revision ID: ph001
Revises: (none: first revision of the physical branch)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ph001"
down_revision = None
branch_labels = ("physical",)
depends_on = None  # the host brings the core to its head first


def upgrade() -> None:
    op.create_table(
        "physical_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_measures")),
        sa.UniqueConstraint("key", name=op.f("uq_physical_measures_key")),
    )
    op.create_table(
        "physical_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_physical_entries_client_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_physical_entries_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_entries")),
        sa.UniqueConstraint(
            "client_id", "measured_on", name=op.f("uq_physical_entries_client_id_measured_on")
        ),
    )
    op.create_index(
        op.f("ix_physical_entries_client_id"), "physical_entries", ["client_id"], unique=False
    )
    op.create_table(
        "physical_values",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["physical_entries.id"],
            name=op.f("fk_physical_values_entry_id_physical_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["physical_measures.id"],
            name=op.f("fk_physical_values_measure_id_physical_measures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "measure_id", name=op.f("pk_physical_values")),
    )
    op.create_index(
        op.f("ix_physical_values_measure_id"), "physical_values", ["measure_id"], unique=False
    )
    op.create_table(
        "physical_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_physical_targets_client_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["physical_measures.id"],
            name=op.f("fk_physical_targets_measure_id_physical_measures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["users.id"],
            name=op.f("fk_physical_targets_set_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_targets")),
        sa.UniqueConstraint(
            "client_id", "measure_id", name=op.f("uq_physical_targets_client_id_measure_id")
        ),
    )
    op.create_index(
        op.f("ix_physical_targets_client_id"), "physical_targets", ["client_id"], unique=False
    )
    op.create_table(
        "physical_preferences",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("units", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_physical_preferences_client_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_physical_preferences")),
    )


def downgrade() -> None:
    op.drop_table("physical_preferences")
    op.drop_index(op.f("ix_physical_targets_client_id"), table_name="physical_targets")
    op.drop_table("physical_targets")
    op.drop_index(op.f("ix_physical_values_measure_id"), table_name="physical_values")
    op.drop_table("physical_values")
    op.drop_index(op.f("ix_physical_entries_client_id"), table_name="physical_entries")
    op.drop_table("physical_entries")
    op.drop_table("physical_measures")
