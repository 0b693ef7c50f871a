"""Reports of the asynchronous reporting API.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("report_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("ready_at", TZ, nullable=False),
        sa.Column("generated_at", TZ),
        sa.Column("row_count", sa.Integer()),
        sa.Column("csv", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint(
            "status IN ('IN_PROGRESS', 'COMPLETED', 'FAILED')", name="report_status"
        ),
    )


def downgrade() -> None:
    op.drop_table("reports")
