"""How an activity's failure becomes the run's failure."""

from __future__ import annotations

from collections.abc import Collection

from temporalio.exceptions import ActivityError, ApplicationError


def run_failure(err: ActivityError, business_types: Collection[str]) -> ApplicationError:
    """A business error keeps its own message and type, so the run shows the real reason;
    anything else is reported as a failed step."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in business_types:
        return ApplicationError(cause.message, *cause.details, type=cause.type, non_retryable=True)
    return ApplicationError(
        f"{err.activity_type} failed: {cause or err}", type="StepFailed", non_retryable=True
    )
