"""A workflow that breaks determinism on purpose, for tests/test_replay.py. It lives alone so
that the sandbox, which imports a workflow's module, sees nothing here but workflow code."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.bench import BenchNoopWorkflow
    from workflows.contracts import NoopShape


@workflow.defn(name="BenchNoopWorkflow")
class ClockReadingNoop:
    """The baseline workflow, but reading the wall clock: the same commands, so a plain replay
    passes, while a second run of it could take another path."""

    @workflow.run
    async def run(self, shape: NoopShape) -> int:
        if datetime.now().year < 2000:
            return -1
        return await BenchNoopWorkflow().run(shape)
