"""The inputs of a run's local steps, recovered by replaying its history.

Temporal records a local activity as one marker with its result, not its input. The input
is a pure function of the run's input and the results before it, so replaying the history
through the same (deterministic) workflow code schedules each local step again with the very
argument it had. An interceptor notes each argument under the step's sequence number, which
the step's marker carries too. Nothing runs but workflow code: during a replay, local steps
take their recorded results.

A closed run's history never changes, so its inputs are kept (LRU).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartLocalActivityInput,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from core.temporal import DATA_CONVERTER

log = logging.getLogger(__name__)

CACHED_RUNS = 512

_lock = threading.Lock()
_noted: dict[str, dict[int, Any]] = {}
_closed: OrderedDict[str, dict[int, Any]] = OrderedDict()
# One replay at a time: the notes are keyed by run id, so two replays of one run would mix.
# A replay takes milliseconds.
_replaying = asyncio.Lock()


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


class _NoteInputs(WorkflowOutboundInterceptor):
    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        handle = super().start_local_activity(input)
        # The SDK's own sequence number, which the step's marker records as `seq`. A retry
        # that waits on a timer goes on under a new one; the run view merges those markers
        # into the step that began under this one.
        seq = getattr(handle, "_seq", None)
        if isinstance(seq, int):
            args = [_json(arg) for arg in input.args]
            with _lock:
                _noted.setdefault(workflow.info().run_id, {})[seq] = (
                    args[0] if len(args) == 1 else args
                )
        return handle


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_NoteInputs(outbound))


class _Interceptor(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Inbound


class StepInputs:
    """Recovers local steps' inputs by replaying histories through `workflows`' code."""

    def __init__(self, workflows: Sequence[type]) -> None:
        self._replayer = Replayer(
            workflows=list(workflows),
            data_converter=DATA_CONVERTER,
            interceptors=[_Interceptor()],
            # Replay only runs workflow code this project wrote and tests for determinism.
            workflow_runner=UnsandboxedWorkflowRunner(),
        )

    async def of(self, history: WorkflowHistory, run_id: str, closed: bool) -> dict[int, Any]:
        """Each local step's input, by its sequence number; empty if the replay fails (the
        run view then shows no input, rather than failing)."""
        with _lock:
            if run_id in _closed:
                _closed.move_to_end(run_id)
                return _closed[run_id]
        async with _replaying:
            try:
                await self._replayer.replay_workflow(history, raise_on_replay_failure=False)
            except Exception:
                log.warning(
                    "could not replay run %s to show its step inputs", run_id, exc_info=True
                )
            with _lock:
                inputs = _noted.pop(run_id, {})
        with _lock:
            if closed:
                _closed[run_id] = inputs
                while len(_closed) > CACHED_RUNS:
                    _closed.popitem(last=False)
        return inputs
