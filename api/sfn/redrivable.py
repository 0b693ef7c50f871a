"""Whether an execution can be redriven, as `DescribeExecution` and `RedriveExecution` both
need to say."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from temporalio.client import WorkflowExecutionDescription
from temporalio.client import WorkflowExecutionStatus as Status

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
