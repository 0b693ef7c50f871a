"""How an activity's failure becomes the run's failure."""

from __future__ import annotations

from collections.abc import Collection

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ApplicationErrorCategory,
    FailureError,
    TimeoutError,
)

StepError = (ActivityError, ApplicationError)
"""What a failed step raises in a workflow: an `ActivityError` wrapping the cause for a regular
activity; for a local activity, this SDK raises the activity's `ApplicationError` itself."""

STEP_FAILED = "StepFailed"
"""Error type of a run whose step failed for a reason other than a business rule."""


def expected(error: ApplicationError) -> ApplicationError:
    """`error`, marked as expected (category BENIGN): a business rule, or an outage being
    retried. It travels without a stack trace (`core.temporal`), and the worker logs one line
    for it instead of a traceback."""
    if error.category == ApplicationErrorCategory.BENIGN:
        return error
    marked = ApplicationError(
        error.message,
        *error.details,
        type=error.type,
        non_retryable=error.non_retryable,
        next_retry_delay=error.next_retry_delay,
        category=ApplicationErrorCategory.BENIGN,
    )
    marked.__cause__ = error.__cause__
    return marked


def run_failure(err: FailureError, business_types: Collection[str]) -> ApplicationError:
    """A business error keeps its own message and type, so the run shows the real reason;
    anything else is reported as a failed step, in words a client may see.

    Activity errors reach here already cleaned by the worker's interceptor
    (`activities.failures`): their messages carry no SQL and no server internals.
    """
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError) and cause.type in business_types:
        return expected(
            ApplicationError(cause.message, *cause.details, type=cause.type, non_retryable=True)
        )
    # A local activity's failure comes without its activity's name; the interceptor's
    # messages name it where it matters.
    step = err.activity_type if isinstance(err, ActivityError) else "a step"
    if isinstance(cause, TimeoutError):
        message = f"{step} did not succeed within its retry window"
        last = cause.cause
        if isinstance(last, ApplicationError):
            message += f" (last error: {last.message})"
        return expected(ApplicationError(message, type=STEP_FAILED, non_retryable=True))
    elif isinstance(cause, ApplicationError):
        message = f"{step} failed: {cause.message}" if step != "a step" else cause.message
    else:
        message = f"{step} failed unexpectedly"
    return ApplicationError(message, type=STEP_FAILED, non_retryable=True)
