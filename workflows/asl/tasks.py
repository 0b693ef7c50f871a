"""How a Task state runs on Temporal: handlers as activities, callbacks as workflow updates.

- A handler (`statewright.tasks`) runs as the activity `run_task_handler`: local or regular as
  the handler chose (`handler_modes`). A handler's error is the task's error at once; only
  infrastructure failures (a worker lost mid-call, a timeout of one attempt) are retried by
  Temporal, because the state's own `Retry` decides everything else.
- `http:invoke` runs as the regular activity `run_http_task`.
- A `.waitForTaskToken` task and an activity task wait, on the workflow's own clock, for
  `SendTaskSuccess`/`SendTaskFailure` (the `complete_task` update) and for heartbeats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    TimeoutType,
    is_cancelled_exception,
)
from temporalio.exceptions import TimeoutError as ActivityTimeout

from workflows.asl import handler_modes
from workflows.asl.events import EventLog, Json, Thread, payload, to_json
from workflows.asl.resources import function_arn, function_name, lambda_response
from workflows.asl.state_data import TIMEOUT, Execution, StatesError, TaskCall, TaskRunner
from workflows.asl.tokens import make_token, read_token
from workflows.contracts import (
    TASK_FAILED_TYPE,
    ActivityTaskOffer,
    HttpTaskCall,
    TaskHandlerCall,
)
from workflows.step_functions import finish

HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
DEFAULT_TIMEOUT: Final = timedelta(seconds=99_999_999)
"""AWS's default `TimeoutSeconds` of a Task: in effect none."""
WORKER_LOSS: Final = timedelta(seconds=10)
"""How soon a regular handler call whose worker died is tried again: the activity heartbeats
while the handler runs, and misses this when its worker is gone."""
LOCAL_ATTEMPT: Final = timedelta(minutes=5)
"""How long one attempt of a local handler may take before it is tried again."""
INFRASTRUCTURE_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)
"""Retries a lost or timed-out attempt until the state's timeout; handler errors arrive
non-retryable, so this never retries one."""
SINGLE_ATTEMPT: Final = RetryPolicy(maximum_attempts=1)
LOCAL_MARKER: Final = "statewright-local-task-"
QUEUE_STEP: Final = timedelta(seconds=30)
QUEUE_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)
"""Offering and withdrawing an activity task retry until the database answers."""


@dataclass
class Callback:
    """A task waiting for `SendTaskSuccess`/`SendTaskFailure`."""

    thread: Thread | None = None
    """Where an activity task's events go; None for other tasks."""
    beats: int = 0
    outcome: dict[str, Any] | None = None
    open: bool = True


@dataclass
class Callbacks:
    """The execution's task tokens and what became of them.

    A token names the workflow id, so an answer reaches the right execution; here tasks are
    found by the token's key alone, because a replay may run under another workflow id."""

    workflow_id: str
    issued: int = 0
    by_key: dict[str, Callback] = field(default_factory=dict)

    def new_token(self) -> str:
        self.issued += 1
        key = str(self.issued)
        self.by_key[key] = Callback()
        return make_token(self.workflow_id, key)

    def find(self, token: str) -> Callback | None:
        try:
            _, key = read_token(token)
        except ValueError:
            return None
        return self.by_key.get(key)

    def of(self, token: str) -> Callback:
        callback = self.find(token)
        assert callback is not None, "a token this execution issued"
        return callback

    def refusal(self, token: str) -> str | None:
        """Why a callback for `token` cannot be taken, in AWS's error code; None if it can."""
        callback = self.find(token)
        if callback is None:
            return "TaskDoesNotExist"
        if not callback.open or callback.outcome is not None:
            return "TaskTimedOut"
        return None


class WorkflowTaskRunner(TaskRunner):
    def __init__(
        self,
        execution: Execution,
        log: EventLog,
        callbacks: Callbacks,
        region: str,
        account: str,
        handler_modes: dict[str, bool] | None = None,
    ) -> None:
        self.handler_modes = handler_modes
        self.execution = execution
        self.log = log
        self.callbacks = callbacks
        self.region = region
        self.account = account

    def new_token(self) -> str:
        return self.callbacks.new_token()

    async def run(self, call: TaskCall) -> Any:
        kind = call.target.kind
        if kind == "lambda":
            return await self._lambda(call)
        if kind == "lambda:invoke":
            return await self._lambda_invoke(call)
        if kind == "http:invoke":
            return await self._integration(call, self._http(call))
        return await self._activity(call)

    # --- An activity: offered to outside workers, answered with its token. ---

    async def _activity(self, call: TaskCall) -> Any:
        assert call.target.name is not None and call.token is not None
        scheduled: dict[str, Any] = {
            "resource": call.target.resource,
            **payload("input", call.parameters),
        }
        if call.timeout is not None:
            scheduled["timeoutInSeconds"] = int(call.timeout)
        if call.heartbeat is not None:
            scheduled["heartbeatInSeconds"] = int(call.heartbeat)
        self.log.add(call.thread, "ActivityScheduled", workflow.now(), scheduled)
        self.callbacks.of(call.token).thread = call.thread
        offer = ActivityTaskOffer(
            token=call.token, activity_name=call.target.name, input=to_json(call.parameters)
        )
        await workflow.execute_local_activity(
            "offer_activity_task",
            offer,
            start_to_close_timeout=QUEUE_STEP,
            retry_policy=QUEUE_RETRY,
        )
        try:
            result = await self._callback(call)
        except StatesError as err:
            kind = (
                "ActivityTimedOut"
                if err.error in (TIMEOUT, HEARTBEAT_TIMEOUT)
                else "ActivityFailed"
            )
            self.log.add(call.thread, kind, workflow.now(), _error_details(err))
            raise
        finally:
            self.callbacks.of(call.token).open = False
            # Answered, timed out or cancelled: no worker may take the task any more.
            await finish(
                workflow.execute_local_activity(
                    "withdraw_activity_task",
                    call.token,
                    start_to_close_timeout=QUEUE_STEP,
                    retry_policy=QUEUE_RETRY,
                )
            )
        self.log.add(call.thread, "ActivitySucceeded", workflow.now(), payload("output", result))
        return result

    def activity_started(self, token: str, worker_name: str | None) -> None:
        """A worker took the task (`GetActivityTask`): AWS records it as started."""
        callback = self.callbacks.find(token)
        if callback is None or callback.thread is None or not callback.open:
            return
        details = {"workerName": worker_name} if worker_name else {}
        self.log.add(callback.thread, "ActivityStarted", workflow.now(), details)

    # --- A Lambda function by its ARN: LambdaFunction* events. ---

    async def _lambda(self, call: TaskCall) -> Any:
        assert call.target.name is not None
        details: dict[str, Any] = {
            "resource": call.target.resource,
            **payload("input", call.parameters),
        }
        if call.timeout is not None:
            details["timeoutInSeconds"] = int(call.timeout)
        self.log.add(call.thread, "LambdaFunctionScheduled", workflow.now(), details)
        self.log.add(call.thread, "LambdaFunctionStarted", workflow.now())
        try:
            result = await self._handler(call, call.target.name, call.parameters)
        except StatesError as err:
            kind = "LambdaFunctionTimedOut" if err.error == TIMEOUT else "LambdaFunctionFailed"
            self.log.add(call.thread, kind, workflow.now(), _error_details(err))
            raise
        self.log.add(
            call.thread, "LambdaFunctionSucceeded", workflow.now(), payload("output", result)
        )
        return result

    # --- Service integrations: Task* events. ---

    async def _lambda_invoke(self, call: TaskCall) -> Any:
        parameters = call.parameters if isinstance(call.parameters, dict) else {}
        name = function_name(parameters.get("FunctionName"))

        async def invoke() -> Any:
            if name is None:
                raise StatesError(
                    "Lambda.InvalidParameterValueException",
                    f"The FunctionName {parameters.get('FunctionName')!r} names no function",
                )
            result = await self._handler(call, name, parameters.get("Payload", {}))
            return lambda_response(result, str(workflow.uuid4()))

        return await self._integration(call, invoke())

    async def _http(self, call: TaskCall) -> Any:
        request = HttpTaskCall(
            parameters=call.parameters,
            execution_arn=self.execution.arn,
            state_name=call.state_name,
        )
        try:
            return await workflow.execute_activity(
                "run_http_task",
                request,
                schedule_to_close_timeout=_timeout(call.timeout),
                start_to_close_timeout=_timeout(call.timeout),
                retry_policy=INFRASTRUCTURE_RETRY,
            )
        except ActivityError as err:
            _reraise_cancellation(err)
            raise _states_error(err) from None

    async def _integration(self, call: TaskCall, work: Any) -> Any:
        target = call.target
        where = {"resourceType": target.resource_type, "resource": target.short_resource}
        scheduled: dict[str, Any] = {
            **where,
            "region": self.region,
            "parameters": Json(call.parameters),
        }
        if call.timeout is not None:
            scheduled["timeoutInSeconds"] = int(call.timeout)
        if call.heartbeat is not None:
            scheduled["heartbeatInSeconds"] = int(call.heartbeat)
        self.log.add(call.thread, "TaskScheduled", workflow.now(), scheduled)
        self.log.add(call.thread, "TaskStarted", workflow.now(), where)
        started = workflow.now()
        try:
            result = await work
            if call.token is not None:
                self.log.add(
                    call.thread,
                    "TaskSubmitted",
                    workflow.now(),
                    {**where, **payload("output", result)},
                )
                # AWS: TimeoutSeconds "begins after the task has been started", so the call
                # that handed the token out counts against it.
                result = await self._callback(call, started)
        except StatesError as err:
            kind = "TaskTimedOut" if err.error in (TIMEOUT, HEARTBEAT_TIMEOUT) else "TaskFailed"
            self.log.add(call.thread, kind, workflow.now(), {**where, **_error_details(err)})
            raise
        finally:
            if call.token is not None:
                self.callbacks.of(call.token).open = False
        self.log.add(
            call.thread, "TaskSucceeded", workflow.now(), {**where, **payload("output", result)}
        )
        return result

    async def _callback(self, call: TaskCall, started: datetime | None = None) -> Any:
        """Wait for the answer to `call.token`: at most `call.timeout` seconds from `started`
        (default: now), and at most `call.heartbeat` seconds between signs of life."""
        assert call.token is not None
        callback = self.callbacks.of(call.token)
        deadline = (started or workflow.now()) + _timeout(call.timeout)
        while callback.outcome is None:
            remaining = (deadline - workflow.now()).total_seconds()
            wait = remaining if call.heartbeat is None else min(remaining, call.heartbeat)
            if wait <= 0:
                raise StatesError(TIMEOUT)
            try:
                await workflow.wait_condition(
                    _answered_or_beat(callback), timeout=timedelta(seconds=wait)
                )
            except TimeoutError:
                if workflow.now() >= deadline:
                    raise StatesError(TIMEOUT) from None
                raise StatesError(HEARTBEAT_TIMEOUT) from None
        outcome = callback.outcome
        if "error" in outcome:
            raise StatesError(outcome["error"] or "", outcome.get("cause"))
        return outcome["output"]

    # --- Handlers, run as activities. ---

    async def _handler(self, call: TaskCall, function: str, handler_input: Any) -> Any:
        request = TaskHandlerCall(
            function=function,
            payload=handler_input,
            execution_arn=self.execution.arn,
            state_name=call.state_name,
        )
        timeout = _timeout(call.timeout)
        try:
            if _runs_locally(function, self.handler_modes):
                attempt = min(timeout, LOCAL_ATTEMPT)
                return await workflow.execute_local_activity(
                    "run_task_handler",
                    request,
                    schedule_to_close_timeout=timeout,
                    start_to_close_timeout=attempt,
                    # An attempt the state's own TimeoutSeconds cut off is the state's timeout.
                    # Retried, it would outlive TimeoutSeconds: the SDK tries a local activity
                    # again after a start-to-close timeout even when its schedule-to-close
                    # timeout, the same instant, has passed (seen: States.Timeout after 19 s
                    # for TimeoutSeconds 1).
                    retry_policy=INFRASTRUCTURE_RETRY if attempt < timeout else SINGLE_ATTEMPT,
                    local_retry_threshold=timedelta(seconds=5),
                )
            return await workflow.execute_activity(
                "run_task_handler",
                request,
                schedule_to_close_timeout=timeout,
                start_to_close_timeout=timeout,
                heartbeat_timeout=WORKER_LOSS,
                retry_policy=INFRASTRUCTURE_RETRY,
            )
        except (ActivityError, ApplicationError, ActivityTimeout) as err:
            # A local activity's failure is an ActivityError when it happens, but on replay
            # the SDK raises what the marker recorded: the bare ApplicationError or
            # TimeoutError. Both must map to the same ASL error, or replay takes another path.
            _reraise_cancellation(err)
            error = _states_error(err)
            if error.error == "Lambda.ResourceNotFoundException":
                error = StatesError(
                    error.error,
                    f"Function not found: {function_arn(function, self.region, self.account)} "
                    "(Service: AWSLambda; Status Code: 404; Error Code: "
                    "ResourceNotFoundException)",
                )
            raise error from None


def _reraise_cancellation(err: BaseException) -> None:
    """Raise `asyncio.CancelledError` if `err` is an activity's cancellation.

    When the state is stopped (a sibling Parallel branch or Map iteration failed), the SDK
    cancels the activity and reports that as an `ActivityError` caused by `CancelledError`. It
    must stay a cancellation: as an ASL error, a Retry or Catch of the stopped state could take
    it and run on."""
    if is_cancelled_exception(err):
        raise asyncio.CancelledError from None


def _answered_or_beat(callback: Callback) -> Callable[[], bool]:
    beats = callback.beats
    return lambda: callback.outcome is not None or callback.beats != beats


def _timeout(seconds: float | None) -> timedelta:
    return DEFAULT_TIMEOUT if seconds is None else timedelta(seconds=seconds)


def _error_details(err: StatesError) -> dict[str, Any]:
    details: dict[str, Any] = {"error": err.error}
    if err.cause is not None:
        details["cause"] = err.cause
    return details


def _states_error(err: ActivityError | ApplicationError | ActivityTimeout) -> StatesError:
    """A failed handler or HTTP call, as the ASL error the state sees."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ActivityTimeout):
        if cause.type == TimeoutType.HEARTBEAT:
            return StatesError(HEARTBEAT_TIMEOUT)
        return StatesError(TIMEOUT)
    if isinstance(cause, ApplicationError):
        if cause.type == TASK_FAILED_TYPE and len(cause.details) == 2:
            error, message = cause.details
            return StatesError(str(error), None if message is None else str(message))
        return StatesError("States.TaskFailed", cause.message)
    return StatesError("States.TaskFailed", str(err))


def _runs_locally(function: str, pinned: dict[str, bool] | None) -> bool:
    """Whether `function`'s handler runs as a local activity, the same on every replay.

    The choice belongs to the handler (`@task(local=True)`), which a deployment may change
    while executions run. The execution's input pins the modes the API knew at its start.
    For a handler it did not know, the first run records a marker when it chooses local; a
    replay reads the marker instead of the handler, so it schedules what the history holds.
    Measured: the markers were 3 of an interpreted order's 15 history events."""
    if pinned is not None and function in pinned:
        return pinned[function]
    marker = LOCAL_MARKER + function
    if workflow.unsafe.is_replaying():
        return workflow.patched(marker)
    if handler_modes.is_local(function):
        return workflow.patched(marker)
    return False
