"""Timeouts and retry policies shared by every workflow.

Step Functions' `MaxAttempts` counts retries; Temporal's `maximum_attempts` counts attempts.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

STEP_TIMEOUT = timedelta(seconds=30)


def step_retry(*business_errors: str, attempts: int = 5) -> RetryPolicy:
    """Transient faults retry with backoff; the named business errors never do."""
    return RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=attempts,
        non_retryable_error_types=list(business_errors),
    )


# Compensation and bookkeeping must happen however long a dependency is away.
UNLIMITED_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)
