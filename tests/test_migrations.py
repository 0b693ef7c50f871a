"""The schema comes only from migrations, and they must match the ORM rows exactly."""

from __future__ import annotations

import re
from typing import get_args

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from core.models import Base
from workflows.contracts import CaseStatus


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree; write a migration for: {diff}"


def test_case_statuses_are_the_contracts(database_url: str) -> None:
    """Case statuses are defined once, in the contract; the database's checks allow exactly
    those."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            checks: dict[str, str] = dict(
                conn.execute(
                    text(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conname IN ('case_status', 'case_event_status')"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert sorted(checks) == ["case_event_status", "case_status"]
    for definition in checks.values():
        assert set(re.findall(r"'([A-Z_0-9]+)'", definition)) == set(get_args(CaseStatus))
