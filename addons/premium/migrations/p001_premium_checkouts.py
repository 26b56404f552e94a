"""Premium: checkouts opened on Stripe and webhook events handled.

Revision ID: p001
Revises: (none: first revision of the premium branch)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p001"
down_revision = None
branch_labels = ("premium",)
depends_on = None  # the host brings the core to its head first


def upgrade() -> None:
    op.create_table(
        "premium_checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_session_id", sa.String(length=255), nullable=False),
        sa.Column("session_ids", sa.JSON(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("payment_intent", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("basket", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_premium_checkouts_client_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_checkouts")),
        sa.UniqueConstraint("basket", "attempt", name=op.f("uq_premium_checkouts_basket_attempt")),
        sa.UniqueConstraint(
            "stripe_session_id", name=op.f("uq_premium_checkouts_stripe_session_id")
        ),
    )
    op.create_index(
        op.f("ix_premium_checkouts_client_id"), "premium_checkouts", ["client_id"], unique=False
    )
    op.create_index(
        op.f("ix_premium_checkouts_payment_intent"),
        "premium_checkouts",
        ["payment_intent"],
        unique=False,
    )
    op.create_table(
        "premium_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_premium_webhook_events_event_id")),
    )


def downgrade() -> None:
    op.drop_table("premium_webhook_events")
    op.drop_index(op.f("ix_premium_checkouts_payment_intent"), table_name="premium_checkouts")
    op.drop_index(op.f("ix_premium_checkouts_client_id"), table_name="premium_checkouts")
    op.drop_table("premium_checkouts")
