"""Timeouts and retry policies shared by every workflow.

Three kinds of failure, three answers (README: Guarantees):
- a business error (out of stock, invalid amount, declined) is never retried;
- an infrastructure error (the database or a dependency is away, a deadlock, a timeout) is
  retried with backoff for OUTAGE_WINDOW, so accepted work is done once things come back;
- an unexpected error (a bug) is retried a few times, then fails the step: the worker's
  activity interceptor (`activities.failures`) makes it non-retryable.

Step Functions' `MaxAttempts` counts retries; Temporal's `maximum_attempts` counts attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

STEP_TIMEOUT = timedelta(seconds=30)
"""How long one attempt of a step may take."""

OUTAGE_WINDOW = timedelta(hours=24)
"""How long a step keeps retrying infrastructure errors before it fails: the longest outage of
Postgres, the Temporal server's own store aside, that accepted work survives."""

LOCAL_BACKOFF_AS_TIMER = timedelta(seconds=5)
"""A local activity's retry that must wait longer than this waits on a durable timer instead
of inside the worker, so a long outage does not keep a workflow task open."""


def step_retry(*business_errors: str) -> RetryPolicy:
    """Retry everything but the named business errors, with backoff up to 30 s between
    attempts; the step's schedule-to-close timeout (OUTAGE_WINDOW) bounds the whole."""
    return RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=0,
        non_retryable_error_types=list(business_errors),
    )


# Compensation and bookkeeping must happen however long a dependency is away.
UNLIMITED_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)


@dataclass(frozen=True)
class StepPolicy:
    """How a step retries, and for how long."""

    retry: RetryPolicy
    window: timedelta | None
    """The step's schedule-to-close timeout: how long it may keep retrying; None is forever."""


def step_policy(*business_errors: str) -> StepPolicy:
    """A step that fails at once on the named business errors, and retries anything else for
    the outage window."""
    return StepPolicy(step_retry(*business_errors), OUTAGE_WINDOW)


UNTIL_DONE = StepPolicy(UNLIMITED_RETRY, None)
"""Compensation and bookkeeping: retried for as long as it takes."""
