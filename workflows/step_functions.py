"""The Step Functions vocabulary every workflow here is written in, once.

- Task: a step, run as a local activity (`local_step`) or a regular one (`regular_step`).
- Retry: how a step retries and for how long (`step_policy`, `UNTIL_DONE`).
- Parallel and Map: branches that fail as a whole (`all_or_cancel`).
- Catch: a step's failure becomes the run's, and goes to a handler (`catch`); a Fail state
  (`fail`).
- And what Step Functions has no word for: work that a cancel must not cut short (`finish`).

An ASL interpreter will take these as its toolkit. Workflow-side only: the standard library
and temporalio's workflow APIs, no I/O, so it runs inside workflow code and stays
deterministic.

Three kinds of failure, three answers (README: Guarantees):
- a business error (out of stock, invalid amount, declined) is never retried;
- an infrastructure error (the database or a dependency is away, a deadlock, a timeout) is
  retried with backoff for OUTAGE_WINDOW, so accepted work is done once things come back;
- an unexpected error (a bug) is retried a few times, then fails the step: the worker's
  activity interceptor (`activities.failures`) makes it non-retryable.

Step Functions' `MaxAttempts` counts retries; Temporal's `maximum_attempts` counts attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ApplicationErrorCategory,
    FailureError,
    TimeoutError,
    is_cancelled_exception,
)

T = TypeVar("T")

# Retry: timeouts and policies.

STEP_TIMEOUT = timedelta(seconds=30)
"""How long one attempt of a step may take."""

OUTAGE_WINDOW = timedelta(hours=24)
"""How long a step keeps retrying infrastructure errors before it fails: the longest outage of
Postgres, the Temporal server's own store aside, that accepted work survives."""

LOCAL_BACKOFF_AS_TIMER = timedelta(seconds=5)
"""A local activity's retry that must wait longer than this waits on a durable timer instead
of inside the worker, so a long outage does not keep a workflow task open."""


def _step_retry(*business_errors: str) -> RetryPolicy:
    """Retry everything but the named business errors, with backoff up to 30 s between
    attempts; the step's schedule-to-close timeout (OUTAGE_WINDOW) bounds the whole."""
    return RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=0,
        non_retryable_error_types=list(business_errors),
    )


UNLIMITED_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)
"""Every error retried, forever: compensation and bookkeeping must happen however long a
dependency is away."""


@dataclass(frozen=True)
class StepPolicy:
    """How a step retries, and for how long."""

    retry: RetryPolicy
    window: timedelta | None
    """The step's schedule-to-close timeout: how long it may keep retrying; None is forever."""


def step_policy(*business_errors: str) -> StepPolicy:
    """A step that fails at once on the named business errors, and retries anything else for
    the outage window."""
    return StepPolicy(_step_retry(*business_errors), OUTAGE_WINDOW)


UNTIL_DONE = StepPolicy(UNLIMITED_RETRY, None)
"""Compensation and bookkeeping: retried for as long as it takes. The worker's interceptor
never gives up on a bug in such a step either: it has no retry window."""

# Task: one step.


def local_step(
    activity: str, arg: object, result_type: type[T], policy: StepPolicy
) -> Awaitable[T]:
    """Schedule `activity` as a local activity: the worker runs it without a round trip
    through the server. For short database steps, whose latency is ours to bound."""
    return workflow.execute_local_activity(
        activity,
        arg,
        result_type=result_type,
        local_retry_threshold=LOCAL_BACKOFF_AS_TIMER,
        **_bounds(policy),
    )


def regular_step(
    activity: str, arg: object, result_type: type[T], policy: StepPolicy
) -> Awaitable[T]:
    """Schedule `activity` as a regular activity, for steps whose latency is not ours to
    bound (an outside service) or that must survive the worker's death mid-call."""
    return workflow.execute_activity(activity, arg, result_type=result_type, **_bounds(policy))


def _bounds(policy: StepPolicy) -> dict[str, Any]:
    """How long a step's attempt may take, how it retries, and for how long: the same for a
    local and a regular step."""
    return {
        "start_to_close_timeout": STEP_TIMEOUT,
        "schedule_to_close_timeout": policy.window,
        "retry_policy": policy.retry,
    }


# Parallel and Map; and finishing through a cancel.


async def all_or_cancel(steps: Iterable[Awaitable[T]]) -> list[T]:
    """Run steps concurrently; on the first failure cancel the rest and raise that failure.

    A Map or Parallel state fails as a whole when one branch fails, and its siblings stop.
    """
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


async def finish(step: Awaitable[T]) -> T:
    """Await `step` to its end, even if the run is cancelled meanwhile.

    For work whose outcome must be known once it has begun: a completion that may already be
    written, a charge already sent, a compensation. A cancel that arrives meanwhile is
    absorbed here; the caller decides what the run reports.
    """
    task = asyncio.ensure_future(step)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise


# Catch: how a step's failure becomes the run's.

StepError = (ActivityError, ApplicationError)
"""What a failed step raises in a workflow: an `ActivityError` wrapping the cause for a regular
activity; for a local activity, this SDK raises the activity's `ApplicationError` itself."""

STEP_FAILED = "StepFailed"
"""Error type of a run whose step failed for a reason other than a business rule."""


class RunFailure(ApplicationError):
    """The failure a run ends with, once decided: by a catch, from a step's failure, or by the
    workflow itself (`fail`). A catch around it lets it pass as it is, as a Fail state's error
    leaves a state machine."""


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


def fail(error_type: str, message: str) -> RunFailure:
    """Step Functions' Fail state: the run fails with this error type and message, an expected
    failure that carries no cause into the history."""
    failure = RunFailure(
        message, type=error_type, non_retryable=True, category=ApplicationErrorCategory.BENIGN
    )
    failure.__suppress_context__ = True
    return failure


def run_failure(err: FailureError, business_types: Collection[str]) -> RunFailure:
    """A business error keeps its own message and type, so the run shows the real reason;
    anything else is reported as a failed step, in words a client may see.

    Activity errors reach here already cleaned by the worker's interceptor
    (`activities.failures`): their messages carry no SQL and no server internals.
    """
    cause = err.cause if isinstance(err, ActivityError) else err
    benign = ApplicationErrorCategory.BENIGN
    if isinstance(cause, ApplicationError) and cause.type in business_types:
        return RunFailure(
            cause.message, *cause.details, type=cause.type, non_retryable=True, category=benign
        )
    # A local activity's failure comes without its activity's name; the interceptor's
    # messages name it where it matters.
    step = err.activity_type if isinstance(err, ActivityError) else "a step"
    if isinstance(cause, TimeoutError):
        message = f"{step} did not succeed within its retry window"
        last = cause.cause
        if isinstance(last, ApplicationError):
            message += f" (last error: {last.message})"
        return RunFailure(message, type=STEP_FAILED, non_retryable=True, category=benign)
    elif isinstance(cause, ApplicationError):
        message = f"{step} failed: {cause.message}" if step != "a step" else cause.message
    else:
        message = f"{step} failed unexpectedly"
    # Unexpected: not marked, so the run's failure keeps the trace that leads to the bug.
    return RunFailure(message, type=STEP_FAILED, non_retryable=True)


async def catch(
    block: Awaitable[T],
    business_errors: Collection[str] = (),
    *,
    on_failure: Callable[[RunFailure], Awaitable[T]] | None = None,
    on_cancel: Callable[[BaseException], Awaitable[T]] | None = None,
) -> T:
    """Step Functions' Catch around `block`, a state or a sequence of them.

    - A step's failure becomes the run's (`run_failure`: a business error keeps its type and
      message; anything else is StepFailed), chained to the step's error, and goes to
      `on_failure`: it compensates and raises the failure, or recovers and returns the
      block's result. Without a handler, the failure is raised.
    - A cancel of the run goes to `on_cancel`, which undoes what it must and raises the
      cancel, or returns the block's result if what it finds says the run did its work.
      Without a handler, the cancel propagates and the run ends CANCELED.
    - A `RunFailure` raised in the block, decided by an inner catch or a Fail state, passes
      as it is.

    Either handler runs while the error is being handled, so whatever it raises is chained to
    it.
    """
    try:
        return await block
    except RunFailure:
        raise
    except (*StepError, asyncio.CancelledError) as err:
        # A run's cancel reaches a block either way, depending on whether an activity's
        # cancellation or the run's own arrives first.
        if is_cancelled_exception(err):
            if on_cancel is None:
                raise
            return await on_cancel(err)
        assert isinstance(err, StepError)
        failure = run_failure(err, business_errors)
        if on_failure is None:
            raise failure from err
        failure.__cause__ = err
        return await on_failure(failure)
