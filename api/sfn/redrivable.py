"""Whether an execution can be redriven, as `DescribeExecution` and `RedriveExecution` both
need to say."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import text
from temporalio.client import WorkflowExecutionDescription
from temporalio.client import WorkflowExecutionStatus as Status

from core.db import SessionFactory
from workflows.contracts import ExecutionInput

REDRIVABLE_FOR: Final = timedelta(days=14)
"""AWS redrives an execution for 14 days after it ended."""
REDRIVABLE: Final = frozenset({Status.FAILED, Status.TIMED_OUT, Status.TERMINATED, Status.CANCELED})


def refusal(
    started: ExecutionInput, described: WorkflowExecutionDescription, now: datetime
) -> str | None:
    """Why this execution cannot be redriven now, in AWS's words; None if it can."""
    if started.type == "EXPRESS":
        return "Redrive is not supported for EXPRESS state machines."
    status = described.status
    if status in (None, Status.RUNNING, Status.CONTINUED_AS_NEW):
        return "Execution is RUNNING and cannot be redriven."
    if status not in REDRIVABLE:
        return "Execution is SUCCEEDED and cannot be redriven."
    closed = described.close_time
    if closed is not None and now - closed > REDRIVABLE_FOR:
        return "Execution redrivable period exceeded."
    return None


@asynccontextmanager
async def one_redrive_at_a_time(sessions: SessionFactory, workflow_id: str) -> AsyncIterator[None]:
    """Hold the workflow id's redrive lock, across every API process (a Postgres advisory
    lock). A redrive reads the latest run, then starts the next one: two at once could
    both read the same run, and the second would continue it again from a stale position,
    leaving the first redrive's run out of the execution's history."""
    async with sessions.begin() as session:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"redrive:{workflow_id}"},
        )
        yield
