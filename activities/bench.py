"""The baseline's activity: does nothing, so its cost is Temporal's alone."""

from __future__ import annotations

from temporalio import activity

from workflows.contracts import NoopStep


@activity.defn(name="bench_noop")
async def bench_noop(step: NoopStep) -> int:
    return step.index
