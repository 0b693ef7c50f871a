"""Store items, orders and their lines, the stock ledger and manual stock adjustments.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "store_items",
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
    )
    op.create_table(
        "stock_adjustments",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("store_items.item_id"), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("stock_after", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_stock_adjustments_item_id", "stock_adjustments", ["item_id"])
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.Text()),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('PENDING', 'COMPLETED', 'FAILED')", name="order_status"),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id"), primary_key=True),
        sa.Column("line_no", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("store_items.item_id"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="line_quantity_positive"),
        sa.UniqueConstraint("order_id", "item_id", name="uq_order_lines_item"),
    )
    op.create_table(
        "stock_ledger",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("store_items.item_id"), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("stock_after", sa.Integer()),
        sa.Column("reserved_at", TZ),
        sa.Column("released_at", TZ),
        sa.CheckConstraint("state IN ('reserved', 'released')", name="ledger_state"),
        sa.CheckConstraint("quantity > 0", name="ledger_quantity_positive"),
    )
    op.create_index("ix_stock_ledger_item_id", "stock_ledger", ["item_id"])


def downgrade() -> None:
    op.drop_table("stock_ledger")
    op.drop_table("order_lines")
    op.drop_table("orders")
    op.drop_table("stock_adjustments")
    op.drop_table("store_items")
