"""The benchmark's baseline: a workflow of no-op regular activities, shaped like a scenario
(for a 2-line cart: 2 in parallel, then 3 in parallel). Its throughput is what a naive
Temporal build of the same shape gets on the same server; `statewright bench` compares."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import NoopShape, NoopStep


@workflow.defn(name="BenchNoopWorkflow")
class BenchNoopWorkflow:
    @workflow.run
    async def run(self, shape: NoopShape) -> int:
        done = 0
        for stage, width in enumerate(shape.stages):
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        "bench_noop",
                        NoopStep(stage=stage, index=index),
                        start_to_close_timeout=timedelta(seconds=30),
                    )
                    for index in range(width)
                )
            )
            done += width
        return done


@workflow.defn(name="BenchEmptyWorkflow")
class BenchEmptyWorkflow:
    """The limit: a workflow that does nothing and returns its input. Temporal must still
    start it, run one workflow task and complete it; no run started the ordinary way costs
    the server less."""

    @workflow.run
    async def run(self, value: dict[str, int]) -> dict[str, int]:
        return value
