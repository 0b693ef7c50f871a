"""An executor on Temporal's time-skipping test server, for the tests that check long
durations exactly (retry backoff of 1 + 2 + 4 s, a Wait of an hour) without waiting for them:
the server jumps its clock to the next timer whenever the execution only waits. Durations show
in the history's timestamps, which come from the workflow's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory
from tests.helpers import worker_with
from tests.sfn.harness import Executor


@pytest.fixture
async def sfn_skipping(
    time_skipping_env: WorkflowEnvironment, sessions: SessionFactory, task_queue: str
) -> AsyncIterator[Executor]:
    """Like `sfn`, on the time-skipping server: only for fast handlers, since its clock may jump
    past a running activity's timeouts."""
    client = time_skipping_env.client
    async with worker_with(client, task_queue, sessions):
        yield Executor(client, task_queue)
