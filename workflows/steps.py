"""One step of a workflow, run as a local or a regular activity."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.retry import LOCAL_BACKOFF_AS_TIMER, STEP_TIMEOUT, StepPolicy

T = TypeVar("T")


def step(
    local: bool, activity: str, arg: object, result_type: type[T], policy: StepPolicy
) -> Awaitable[T]:
    """Schedule `activity`. Short database steps run as local activities: the worker runs
    them without a round trip through the server. A workflow takes `local` from a
    `workflow.patched()` check, so runs started on regular activities replay on them."""
    if local:
        return workflow.execute_local_activity(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=STEP_TIMEOUT,
            schedule_to_close_timeout=policy.window,
            retry_policy=policy.retry,
            local_retry_threshold=LOCAL_BACKOFF_AS_TIMER,
        )
    return regular_step(activity, arg, result_type, policy)


def regular_step(
    activity: str, arg: object, result_type: type[T], policy: StepPolicy
) -> Awaitable[T]:
    """Schedule `activity` as a regular activity, for steps whose latency is not ours to
    bound (an outside service) or that must survive the worker's death mid-call."""
    return workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        start_to_close_timeout=STEP_TIMEOUT,
        schedule_to_close_timeout=policy.window,
        retry_policy=policy.retry,
    )
