"""How an activity's failure becomes the run's failure."""

from __future__ import annotations

from collections.abc import Collection

from temporalio.exceptions import ActivityError, ApplicationError, FailureError

StepError = (ActivityError, ApplicationError)
"""What a failed step raises in a workflow: an `ActivityError` wrapping the cause for a regular
activity; for a local activity, this SDK raises the activity's `ApplicationError` itself."""


def run_failure(err: FailureError, business_types: Collection[str]) -> ApplicationError:
    """A business error keeps its own message and type, so the run shows the real reason;
    anything else is reported as a failed step."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError) and cause.type in business_types:
        return ApplicationError(cause.message, *cause.details, type=cause.type, non_retryable=True)
    step = err.activity_type if isinstance(err, ActivityError) else "a step"
    return ApplicationError(f"{step} failed: {cause or err}", type="StepFailed", non_retryable=True)
