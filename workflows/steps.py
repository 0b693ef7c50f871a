"""One step of a workflow, run as a local or a regular activity."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.retry import STEP_TIMEOUT

T = TypeVar("T")


def step(
    local: bool, activity: str, arg: object, result_type: type[T], retry: RetryPolicy
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
            retry_policy=retry,
        )
    return workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        start_to_close_timeout=STEP_TIMEOUT,
        retry_policy=retry,
    )
