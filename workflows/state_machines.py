"""Any Amazon States Language definition, run durably: one execution is one workflow run.

The interpreter (`workflows.asl.engine`) runs the definition the execution was started
with. This class gives it a history in AWS's shapes (the `aws_history` query, which the
AWS API's `GetExecutionHistory` reads) and takes callbacks for its waiting tasks (the
`complete_task` update, which `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`
send).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

with workflow.unsafe.imports_passed_through():
    from workflows.asl import handler_modes  # noqa: F401  (one set shared with the sandbox)
    from workflows.asl.engine import Execution, Interpreter, StatesError
    from workflows.asl.events import EventLog, Thread, payload
    from workflows.asl.tasks import Callbacks, WorkflowTaskRunner
    from workflows.contracts import ActivityStarted, ExecutionInput, TaskCallback

EXECUTION_FAILED = "ExecutionFailed"


@workflow.defn(name="StateMachineExecution")
class StateMachineWorkflow:
    """One execution of a state machine."""

    def __init__(self) -> None:
        self.log = EventLog()
        self.callbacks = Callbacks(workflow.info().workflow_id)
        self.tasks: WorkflowTaskRunner | None = None

    @workflow.run
    async def run(self, execution: ExecutionInput) -> Any:
        info = Execution(
            arn=execution.execution_arn,
            name=execution.name,
            input=execution.input,
            role_arn=execution.role_arn,
            start_time=workflow.info().start_time,
            state_machine_arn=execution.state_machine_arn,
            state_machine_name=execution.state_machine_name,
        )
        thread = Thread()
        self.log.add(
            thread,
            "ExecutionStarted",
            workflow.now(),
            {**payload("input", execution.input), "roleArn": execution.role_arn},
        )
        tasks = WorkflowTaskRunner(
            info, self.log, self.callbacks, execution.region, execution.account
        )
        self.tasks = tasks
        interpreter = Interpreter(info, tasks, self.log)
        try:
            output = await interpreter.branch(execution.definition, execution.input, thread)
        except StatesError as err:
            details: dict[str, Any] = {}
            if err.error:
                details["error"] = err.error
            if err.cause is not None:
                details["cause"] = err.cause
            self.log.add(thread, EXECUTION_FAILED, workflow.now(), details)
            # The run's failure carries the ASL error and cause exactly; no stack trace.
            raise ApplicationError(
                err.cause or err.error or "the execution failed",
                err.error,
                err.cause,
                type=err.error or EXECUTION_FAILED,
                non_retryable=True,
                category=ApplicationErrorCategory.BENIGN,
            ) from None
        self.log.add(thread, "ExecutionSucceeded", workflow.now(), payload("output", output))
        return output

    @workflow.signal(name="activity_started")
    def activity_started(self, started: ActivityStarted) -> None:
        """`GetActivityTask` handed an activity task of this execution to a worker."""
        if self.tasks is not None:
            self.tasks.activity_started(started.token, started.worker_name)

    @workflow.query(name="aws_history")
    def aws_history(self) -> list[dict[str, Any]]:
        """The execution's events so far, in AWS's `HistoryEvent` shape."""
        return self.log.rendered()

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
