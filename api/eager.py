"""Eager starts: a worker inside the API process takes a run's first workflow task in the
start call's own answer, so the run needs no task-queue match and no poll.

The worker serves only the flows the manifest marks `eager` (short runs of local steps), on
`Settings.eager_task_queue`. The worker process polls that queue too: a task the API could
not take, or one it lost by dying mid-task, times out there and is finished by the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.worker import Worker

from core.db import SessionFactory

log = logging.getLogger(__name__)

WorkerFactory = Callable[[Client, SessionFactory], Worker]
"""Builds the API's worker on a connected client; the top layer (`statewright.eager_api`)
supplies it, since only it may pair the API with workflows and activities."""


@dataclass(frozen=True)
class StartQueue:
    """Where a route starts a run, and whether it asks for an eager start."""

    task_queue: str
    eager: bool


class EagerStarts:
    """The API's own worker, running from the Temporal client's first connection until the
    app shuts down. Without a factory, or after its worker stopped, starts are ordinary."""

    def __init__(self, build: WorkerFactory | None, task_queue: str) -> None:
        self._build = build
        self._task_queue = task_queue
        self._worker: Worker | None = None
        self._running: asyncio.Task[None] | None = None

    async def attach(self, client: Client, sessions: SessionFactory) -> None:
        """Start the worker on `client`, the one the routes start runs with: the SDK hands an
        eager task only to a worker on the starting client."""
        if self._build is None or self._worker is not None:
            return
        try:
            self._worker = self._build(client, sessions)
        except Exception:
            # A worker that cannot be built must not take the API down with it.
            log.exception("could not build the eager-start worker; starts are ordinary")
            self._build = None
            return
        self._running = asyncio.create_task(self._worker.run(), name="eager-start worker")
        self._running.add_done_callback(_report_stop)
        log.info("eager starts on: this process runs task queue %r", self._task_queue)

    @property
    def active(self) -> bool:
        return self._running is not None and not self._running.done()

    def start_queue(self, ordinary: str) -> StartQueue:
        """The eager queue while the worker runs, else `ordinary` with an ordinary start."""
        if self.active:
            return StartQueue(self._task_queue, eager=True)
        return StartQueue(ordinary, eager=False)

    async def close(self) -> None:
        """Stop polling and let the tasks in hand finish (the worker's graceful timeout)."""
        if self._worker is not None and self.active:
            await self._worker.shutdown()


def _report_stop(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        # Starts turn ordinary (`active` is false), so the API keeps working without it.
        log.error("the eager-start worker stopped: %s; starts are ordinary now", error)
