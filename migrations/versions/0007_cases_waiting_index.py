"""A partial index on the cases waiting for tier 2, so that `GET /metrics` counts them by
reading only those rows, however many cases have closed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_support_cases_awaiting_tier2",
        "support_cases",
        ["updated_at"],
        postgresql_where=sa.text("status = 'AWAITING_TIER2'"),
    )


def downgrade() -> None:
    op.drop_index("ix_support_cases_awaiting_tier2", table_name="support_cases")
