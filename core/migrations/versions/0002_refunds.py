"""Refunds, payments that need staff attention, one provider payment for several sessions.

``payments.provider_reference`` was unique on its own; a provider payment (one
checkout) may now pay several sessions, one row each, so the unique key becomes
(provider, provider_reference, session_id). On SQLite the payments table is rebuilt
for that, which drops the money triggers: they are dropped first and made again.
Sessions already marked refunded get a full refund row per payment, so that every
money view can count refunds from one table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 12:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
from core.migrations.triggers import kept_through_sqlite_rebuild

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


#: Sessions marked refunded before refunds were recorded: their payments were given back in full.
LEGACY_REFUNDS = """
INSERT INTO refunds (payment_id, amount, currency, provider, refunded_at, created_at)
SELECT p.id, p.amount, p.currency, 'manual', s.updated_at, s.updated_at
FROM payments p JOIN coaching_sessions s ON s.id = p.session_id
WHERE s.payment_status = 'refunded' AND p.amount > 0
"""


def upgrade() -> None:
    with kept_through_sqlite_rebuild(), op.batch_alter_table("payments") as batch_op:
        batch_op.add_column(sa.Column("attention", sa.String(length=20), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_payments_provider_reference"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_payments_provider_provider_reference_session_id"),
            ["provider", "provider_reference", "session_id"],
        )

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("refunded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_refunds_currency_code")),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_refunds_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_refunds_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "provider", "provider_reference", name=op.f("uq_refunds_provider_provider_reference")
        ),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)
    op.execute(LEGACY_REFUNDS)


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))
    op.drop_table("refunds")

    with kept_through_sqlite_rebuild(), op.batch_alter_table("payments") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_payments_provider_provider_reference_session_id"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_payments_provider_reference"), ["provider_reference"]
        )
        batch_op.drop_column("attention")
