"""Any Amazon States Language definition, run durably: one execution is one workflow run.

The interpreter (`workflows.asl.engine`) runs the definition the execution was started
with. This class gives it a history in AWS's shapes (the `aws_history` query, which the
AWS API's `GetExecutionHistory` reads) and takes callbacks for its waiting tasks (the
`complete_task` update, which `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`
send).
"""

from __future__ import annotations

import functools
from typing import Any

from temporalio import workflow
from temporalio.exceptions import (
    ApplicationError,
    ApplicationErrorCategory,
    ChildWorkflowError,
)

with workflow.unsafe.imports_passed_through():
    from workflows.asl import (
        handler_modes,  # noqa: F401  (one set shared with the sandbox)
        map_chunks,
        redrive,
    )
    from workflows.asl.engine import Interpreter, run_all_or_first_failure
    from workflows.asl.events import EventLog, Thread, payload
    from workflows.asl.state_data import Execution, StatesError
    from workflows.asl.tasks import Callbacks, WorkflowTaskRunner
    from workflows.contracts import (
        ActivityStarted,
        ExecutionInput,
        MapChunk,
        MapChunkResult,
        TaskCallback,
        TestStateResult,
    )
    from workflows.ids import EXECUTION_RUNS

EXECUTION_FAILED = "ExecutionFailed"
EXECUTIONS_METRIC = "statewright_sfn_executions"
"""Executions that ended on their own, by `status` (SUCCEEDED or FAILED) and `state_machine`.
The workflow's metric meter records nothing while a history is replayed, so each execution
counts once; a stopped or timed-out one ends outside its code and is not counted here."""


@workflow.defn(name="StateMachineExecution")
class StateMachineWorkflow:
    """One execution of a state machine."""

    def __init__(self) -> None:
        self.log = EventLog()
        self.callbacks = Callbacks(workflow.info().workflow_id)
        self.tasks: WorkflowTaskRunner | None = None
        self.execution: ExecutionInput | None = None
        self.map_runs = 0
        self.language = "JSONPath"
        self.position: dict[str, Any] = {}
        """Where the execution stands (`asl.redrive`): what a redrive continues from."""

    @workflow.run
    async def run(self, execution: ExecutionInput) -> Any:
        chunk = execution.map_chunk
        redriven = execution.redrive
        if chunk is not None:
            started_at = chunk.execution_start
        elif redriven is not None:
            started_at = redriven.first_start
        else:
            started_at = workflow.info().start_time
        info = Execution(
            arn=execution.execution_arn,
            name=execution.name,
            input=execution.input,
            role_arn=execution.role_arn,
            start_time=started_at,
            state_machine_arn=execution.state_machine_arn,
            state_machine_name=execution.state_machine_name,
            redrive_count=redriven.count if redriven is not None else 0,
            redrive_time=redriven.at if redriven is not None else None,
        )
        self.execution = execution
        tasks = WorkflowTaskRunner(
            info,
            self.log,
            self.callbacks,
            execution.region,
            execution.account,
            execution.handler_modes,
        )
        self.tasks = tasks
        self.language = (
            chunk.query_language
            if chunk is not None
            else execution.definition.get("QueryLanguage", "JSONPath")
        )
        interpreter = Interpreter(
            info, tasks, self.log, map_chunks=self._run_chunks, language=self.language
        )
        if chunk is not None:
            return await self._run_chunk(interpreter, chunk)
        if execution.test_state is not None:
            name = execution.test_state
            report = await interpreter.test_state(
                name, execution.definition["States"][name], execution.input
            )
            return TestStateResult(
                status=report.status,
                output=report.output,
                next_state=report.next_state,
                error=report.error,
                cause=report.cause,
                inspection=report.inspection,
            )
        thread = Thread(node=self.position)
        if redriven is not None:
            self.log.add(
                thread, "ExecutionRedriven", workflow.now(), {"redriveCount": redriven.count}
            )
            thread.resume = redriven.plan
        else:
            self.log.add(
                thread,
                "ExecutionStarted",
                workflow.now(),
                {**payload("input", execution.input), "roleArn": execution.role_arn},
            )
        try:
            output = await interpreter.branch(execution.definition, execution.input, thread)
        except StatesError as err:
            details: dict[str, Any] = {}
            if err.error:
                details["error"] = err.error
            if err.cause is not None:
                details["cause"] = err.cause
            self.log.add(thread, EXECUTION_FAILED, workflow.now(), details)
            _count_ending(execution, "FAILED")
            raise _failure(err) from None
        self.log.add(thread, "ExecutionSucceeded", workflow.now(), payload("output", output))
        _count_ending(execution, "SUCCEEDED")
        return output

    async def _run_chunk(self, interpreter: Interpreter, chunk: MapChunk) -> MapChunkResult:
        """Some iterations of a large Map: the child's side of `_run_chunks`."""
        try:
            results, failures = await interpreter.iterations(
                chunk.state_name,
                chunk.processor,
                chunk.inputs,
                chunk.first_index,
                chunk.concurrency,
                len(chunk.inputs) if chunk.tolerant else None,
                0,
                chunk.variables,
            )
        except StatesError as err:
            raise _failure(err) from None
        return MapChunkResult(results=results, failures=failures)

    async def _run_chunks(
        self,
        name: str,
        processor: dict[str, Any],
        inputs: list[Any],
        limit: int,
        tolerant: bool,
        thread: Thread,
        variables: dict[str, Any],
    ) -> tuple[list[Any], int]:
        """A large Map's iterations, in child runs of this workflow (`asl.map_chunks`)."""
        execution = self.execution
        assert execution is not None, "set when the run began"
        self.map_runs += 1
        chunks = map_chunks.plan(len(inputs), limit)
        started = thread.last
        with_input = map_chunks.uses_execution_input(processor)
        interpreter_language = self.language
        # Chunk ids follow from the input, not from this run's id, so that a replay under
        # another id (as the replay tests do) schedules the same children.
        parent = (
            execution.map_chunk.workflow_id
            if execution.map_chunk is not None
            else EXECUTION_RUNS.of(f"{execution.state_machine_name}:{execution.name}")
        )
        if execution.redrive is not None and execution.map_chunk is None:
            # The earlier runs' chunks keep their ids, so their histories still read back.
            parent = f"{parent}/redrive-{execution.redrive.count}"
        # A redrive runs again only the chunks that did not finish (`asl.redrive`).
        nodes = redrive.branches_of(thread.node, name)
        plans = thread.pending.pop(name, None) if thread.pending else None

        async def run_chunk(index: int, span: range) -> MapChunkResult:
            plan, node = redrive.claim(nodes, plans, f"chunk-{index}")
            if plan is not None and redrive.is_done(plan):
                return MapChunkResult.model_validate(plan["output"])
            child = map_chunks.chunk_id(parent, self.map_runs, index)
            # Where the chunk's own events go when the history is read.
            self.log.add(
                Thread(last=started), map_chunks.CHUNK_EVENT, workflow.now(), {"workflowId": child}
            )
            request = execution.model_copy(
                update={
                    "definition": {},
                    "input": execution.input if with_input else None,
                    "map_chunk": MapChunk(
                        workflow_id=child,
                        state_name=name,
                        processor=processor,
                        first_index=span.start,
                        inputs=inputs[span.start : span.stop],
                        concurrency=chunks.per_chunk,
                        tolerant=tolerant,
                        variables=variables,
                        query_language=interpreter_language,
                        execution_start=workflow.info().start_time
                        if execution.map_chunk is None
                        else execution.map_chunk.execution_start,
                    ),
                }
            )
            try:
                done: MapChunkResult = await workflow.execute_child_workflow(
                    "StateMachineExecution", request, id=child, result_type=MapChunkResult
                )
                redrive.finished(node, done.model_dump(mode="json"))
                return done
            except ChildWorkflowError as err:
                raise _states_error(err) from None

        runs = [
            functools.partial(run_chunk, index, span) for index, span in enumerate(chunks.chunks)
        ]
        done = await run_all_or_first_failure(runs, limit=chunks.chunks_at_once)
        results = [result for chunk in done for result in chunk.results]
        return results, sum(chunk.failures for chunk in done)

    @workflow.signal(name="activity_started")
    def activity_started(self, started: ActivityStarted) -> None:
        """`GetActivityTask` handed an activity task of this execution to a worker."""
        if self.tasks is not None:
            self.tasks.activity_started(started.token, started.worker_name)

    @workflow.query(name="aws_history")
    def aws_history(self) -> list[dict[str, Any]]:
        """The execution's events so far, in AWS's `HistoryEvent` shape."""
        return self.log.rendered()

    @workflow.query(name="redrive_plan")
    def redrive_plan(self) -> dict[str, Any]:
        """Where the execution stood when it ended: what `RedriveExecution` continues from."""
        return self.position

    @workflow.update(name="complete_task")
    def complete_task(self, callback: TaskCallback) -> None:
        """`SendTaskSuccess`, `SendTaskFailure` or `SendTaskHeartbeat` for a waiting task."""
        waiting = self.callbacks.of(callback.token)
        if callback.kind == "heartbeat":
            waiting.beats += 1
        elif callback.kind == "failure":
            waiting.outcome = {"error": callback.error, "cause": callback.cause}
        else:
            waiting.outcome = {"output": callback.output}

    @complete_task.validator
    def _check_callback(self, callback: TaskCallback) -> None:
        refusal = self.callbacks.refusal(callback.token)
        if refusal is not None:
            raise ValueError(refusal)


def _count_ending(execution: ExecutionInput, status: str) -> None:
    counter = workflow.metric_meter().create_counter(
        EXECUTIONS_METRIC, "State machine executions that ended, by status."
    )
    counter.add(1, {"status": status, "state_machine": execution.state_machine_name})


def _failure(err: StatesError) -> ApplicationError:
    """How a run fails with an ASL error: its error and cause exactly, and no stack trace."""
    return ApplicationError(
        err.cause or err.error or "the execution failed",
        err.error,
        err.cause,
        type=err.error or EXECUTION_FAILED,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


def _states_error(err: ChildWorkflowError) -> StatesError:
    """A chunk's failure: the first failed iteration's ASL error."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and len(cause.details) == 2:
        error, reason = cause.details
        return StatesError(str(error or ""), None if reason is None else str(reason))
    return StatesError("States.Runtime", f"a Map chunk failed: {cause}")
