"""Cases gain two statuses: AWAITING_TIER2 (escalated, waiting for a person) and CANCELED
(its run was cancelled).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("OPEN", "ASSIGNED", "RESOLVED", "UNRESOLVED", "ESCALATED", "CLOSED", "EXPIRED")
AFTER = (*BEFORE[:5], "AWAITING_TIER2", *BEFORE[5:], "CANCELED")
CONSTRAINTS = {"support_cases": "case_status", "case_events": "case_event_status"}


def _check(statuses: Sequence[str]) -> str:
    return "status IN ({})".format(", ".join(f"'{s}'" for s in statuses))


def _replace(statuses: Sequence[str]) -> None:
    for table, name in CONSTRAINTS.items():
        op.drop_constraint(name, table, type_="check")
        op.create_check_constraint(name, table, _check(statuses))


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    _replace(BEFORE)
