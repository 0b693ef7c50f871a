"""Payments (one per order), recorded orders, and received webhooks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("payment_id", sa.String(64), nullable=False, unique=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("charged_at", TZ, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "order_records",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("recorded_at", TZ, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "webhook_events",
        sa.Column("workflow_id", sa.String(200), primary_key=True),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("stored_at", TZ, server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_events")
    op.drop_table("order_records")
    op.drop_table("payments")
