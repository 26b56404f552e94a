"""Programs: site-wide templates (with default documents), bundles, wizard drafts.

Sessions gain ``bundle_id``. SQLite rebuilds ``coaching_sessions`` for the foreign key
(both ways), which would drop its money triggers: they are dropped first and made
again, as in 0002.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 13:29:05.581450
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core.migrations.triggers import kept_through_sqlite_rebuild

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FK_NAME = "fk_coaching_sessions_bundle_id_bundles"
INDEX_NAME = "ix_coaching_sessions_bundle_id"


def _add_bundle_link() -> None:
    dialect = op.get_bind().dialect.name
    if dialect != "sqlite":
        op.add_column("coaching_sessions", sa.Column("bundle_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            FK_NAME, "coaching_sessions", "bundles", ["bundle_id"], ["id"], ondelete="SET NULL"
        )
        op.create_index(INDEX_NAME, "coaching_sessions", ["bundle_id"], unique=False)
        return
    with (
        kept_through_sqlite_rebuild(),
        op.batch_alter_table("coaching_sessions", schema=None) as batch_op,
    ):
        batch_op.add_column(sa.Column("bundle_id", sa.Integer(), nullable=True))
        batch_op.create_index(INDEX_NAME, ["bundle_id"], unique=False)
        batch_op.create_foreign_key(FK_NAME, "bundles", ["bundle_id"], ["id"], ondelete="SET NULL")


def _drop_bundle_link() -> None:
    dialect = op.get_bind().dialect.name
    if dialect != "sqlite":
        op.drop_index(INDEX_NAME, table_name="coaching_sessions")
        op.drop_constraint(FK_NAME, "coaching_sessions", type_="foreignkey")
        op.drop_column("coaching_sessions", "bundle_id")
        return
    with (
        kept_through_sqlite_rebuild(),
        op.batch_alter_table("coaching_sessions", schema=None) as batch_op,
    ):
        batch_op.drop_constraint(FK_NAME, type_="foreignkey")
        batch_op.drop_index(INDEX_NAME)
        batch_op.drop_column("bundle_id")


def upgrade() -> None:
    op.create_table(
        "bundle_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_bundle_drafts_client_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_bundle_drafts_created_by_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundle_drafts")),
    )
    with op.batch_alter_table("bundle_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bundle_drafts_created_by_id"), ["created_by_id"], unique=False
        )

    op.create_table(
        "program_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("planned_count", sa.Integer(), nullable=False),
        sa.Column("total_price", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("video_url", sa.String(length=500), nullable=True),
        sa.Column("archived_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "duration_minutes > 0 AND duration_minutes <= 1440",
            name=op.f("ck_program_templates_duration"),
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_program_templates_currency_code")),
        sa.CheckConstraint(
            "planned_count > 0 AND planned_count <= 60", name=op.f("ck_program_templates_count")
        ),
        sa.CheckConstraint(
            "total_price >= 0", name=op.f("ck_program_templates_price_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_program_templates_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_templates")),
    )
    op.create_table(
        "bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("planned_count", sa.Integer(), nullable=False),
        sa.Column("total_price", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("video_url", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmations_sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'completed')", name=op.f("ck_bundles_status")
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_bundles_currency_code")),
        sa.CheckConstraint(
            "planned_count > 0 AND planned_count <= 60", name=op.f("ck_bundles_count")
        ),
        sa.CheckConstraint("total_price >= 0", name=op.f("ck_bundles_price_non_negative")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_bundles_client_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["coach_id"], ["users.id"], name=op.f("fk_bundles_coach_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_bundles_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["program_templates.id"],
            name=op.f("fk_bundles_template_id_program_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundles")),
    )
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bundles_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_bundles_coach_status", ["coach_id", "status"], unique=False)

    op.create_table(
        "program_template_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("storage_name", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_program_template_documents_size")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["program_templates.id"],
            name=op.f("fk_program_template_documents_template_id_program_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_program_template_documents_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_template_documents")),
        sa.UniqueConstraint(
            "storage_name", name=op.f("uq_program_template_documents_storage_name")
        ),
    )
    with op.batch_alter_table("program_template_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_program_template_documents_template_id"), ["template_id"], unique=False
        )

    _add_bundle_link()


def downgrade() -> None:
    _drop_bundle_link()

    with op.batch_alter_table("program_template_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_program_template_documents_template_id"))

    op.drop_table("program_template_documents")
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.drop_index("ix_bundles_coach_status")
        batch_op.drop_index(batch_op.f("ix_bundles_client_id"))

    op.drop_table("bundles")
    op.drop_table("program_templates")
    with op.batch_alter_table("bundle_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bundle_drafts_created_by_id"))

    op.drop_table("bundle_drafts")
