"""Expected business outcomes, logged as one line at info from inside the step where they
happened: out of stock, declined, invalid amount, escalated. Tracebacks are for bugs.

Lines go to `statewright.steps`, not to the SDK's `temporalio.activity` logger, which the
processes keep at warning (`core.logs.configure`), and carry the same `temporal_activity`
fields the SDK's logger would, so a JSON line names its workflow, run, step and attempt.
"""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity

log = logging.getLogger("statewright.steps")


def step_fields() -> dict[str, Any]:
    """The running step's fields for a log line's `extra`; empty outside a step."""
    if not activity.in_activity():
        return {}
    info = activity.info()
    return {
        "temporal_activity": {
            "workflow_id": info.workflow_id,
            "workflow_run_id": info.workflow_run_id,
            "workflow_type": info.workflow_type,
            "activity_type": info.activity_type,
            "attempt": info.attempt,
        }
    }


def outcome(message: str, *args: object) -> None:
    """Log one expected outcome of the running step, at info."""
    log.info(message, *args, extra=step_fields())
