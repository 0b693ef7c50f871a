"""State machines for the Step Functions API: their current definitions, every revision, and
the activities and activity tasks workers poll with `GetActivityTask`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(80)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "state_machines",
        sa.Column("name", NAME, primary_key=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("role_arn", sa.Text(), nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("logging_configuration", JSONB(), nullable=True),
        sa.Column("tracing_configuration", JSONB(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("type IN ('STANDARD', 'EXPRESS')", name="state_machine_type"),
    )
    op.create_table(
        "state_machine_revisions",
        sa.Column(
            "name",
            NAME,
            sa.ForeignKey("state_machines.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("revision_id", sa.String(64), primary_key=True),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("role_arn", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "sfn_activities",
        sa.Column("name", NAME, primary_key=True),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "sfn_activity_tasks",
        sa.Column("token", sa.String(1024), primary_key=True),
        sa.Column("activity_name", NAME, nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("worker_name", sa.Text(), nullable=True),
    )
    op.create_index(
        "sfn_activity_tasks_waiting",
        "sfn_activity_tasks",
        ["activity_name", "created_at"],
        postgresql_where=sa.text("claimed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("sfn_activity_tasks_waiting", table_name="sfn_activity_tasks")
    op.drop_table("sfn_activity_tasks")
    op.drop_table("sfn_activities")
    op.drop_table("state_machine_revisions")
    op.drop_table("state_machines")
