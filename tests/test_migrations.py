"""The schema comes only from migrations, and they must match the ORM rows exactly."""

from __future__ import annotations

import re
from typing import get_args

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from core.models import Base
from workflows.contracts import CaseStatus, OrderStatus, ReportState


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree; write a migration for: {diff}"


STATUS_CHECKS = {
    "case_status": CaseStatus,
    "case_event_status": CaseStatus,
    "order_status": OrderStatus,
    "report_status": ReportState,
}
"""Each status column's check constraint, and the contract type that defines its values."""


def test_status_sets_are_the_contracts(database_url: str) -> None:
    """Each status set is defined once, in the contracts; the database's checks allow exactly
    those values."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            checks: dict[str, str] = dict(
                conn.execute(
                    text(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conname = ANY(:names)"
                    ),
                    {"names": list(STATUS_CHECKS)},
                ).all()
            )
    finally:
        engine.dispose()
    assert sorted(checks) == sorted(STATUS_CHECKS)
    for name, definition in checks.items():
        allowed = set(re.findall(r"'([A-Z_0-9]+)'", definition))
        assert allowed == set(get_args(STATUS_CHECKS[name])), name
