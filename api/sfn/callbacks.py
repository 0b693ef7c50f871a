"""`SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`: answers for tasks waiting on
a task token, delivered as the execution's `complete_task` update. The workflow's validator
refuses a token it does not wait for, so a caller learns at once that its answer was not
taken."""

from __future__ import annotations

from typing import Any, Literal

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.sfn import shapes
from api.sfn.context import Sfn
from api.sfn.errors import SfnError
from workflows.asl.tokens import read_token
from workflows.contracts import TaskCallback
from workflows.state_machines import StateMachineWorkflow

_REFUSALS = {
    "TaskDoesNotExist": "Task Does Not Exist: 'Provided task does not exist'",
    "TaskTimedOut": "Task Timed Out: 'Provided task does not exist anymore'",
}


async def _send(sfn: Sfn, params: dict[str, Any], callback: TaskCallback) -> dict[str, Any]:
    try:
        workflow_id, _ = read_token(callback.token)
    except ValueError as err:
        raise SfnError("InvalidToken", f"Invalid Token: '{err}'") from None
    client = await sfn.temporal()
    handle = client.get_workflow_handle(workflow_id)
    try:
        await handle.execute_update(StateMachineWorkflow.complete_task, callback)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        code = cause.message if isinstance(cause, ApplicationError) else ""
        if code in _REFUSALS:
            raise SfnError(code, _REFUSALS[code]) from None
        raise
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            # The execution has ended (or never was): nothing waits for this token.
            raise SfnError("TaskTimedOut", _REFUSALS["TaskTimedOut"]) from None
        raise
    return {}


def _token(params: dict[str, Any]) -> str:
    return shapes.required(params, "taskToken", max_length=1024)


async def send_success(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    text = shapes.required(params, "output", max_length=10 * 1024 * 1024)
    output = shapes.json_document(text, "output", "InvalidOutput")
    return await _send(sfn, params, _callback(params, "success", output=output))


async def send_failure(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    error = shapes.string(params, "error", max_length=256)
    cause = shapes.string(params, "cause", max_length=32768)
    return await _send(sfn, params, _callback(params, "failure", error=error, cause=cause))


async def send_heartbeat(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    return await _send(sfn, params, _callback(params, "heartbeat"))


def _callback(
    params: dict[str, Any],
    kind: Literal["success", "failure", "heartbeat"],
    **fields: Any,
) -> TaskCallback:
    return TaskCallback(token=_token(params), kind=kind, **fields)
