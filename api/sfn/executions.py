"""Execution operations: start (asynchronously or synchronously), describe, list, stop, read
the history, and find the state machine an execution ran. Every execution is a Temporal
workflow run (`workflows.state_machines`), named `execution-<machine>:<name>`."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import (
    ApplicationError,
    TerminatedError,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import TimeoutError as WorkflowTimeout
from temporalio.service import RPCError, RPCStatusCode

from api.sfn import shapes, state_machines
from api.sfn.context import Sfn
from api.sfn.errors import SfnError
from api.sfn.redrivable import refusal
from core.search_attributes import EXECUTION_NAME, STATE_MACHINE
from workflows.asl.events import EventLog, Thread, detail_key, payload_text
from workflows.asl.handler_modes import modes_named_in
from workflows.asl.map_chunks import CHUNK_EVENT
from workflows.contracts import ExecutionInput
from workflows.ids import EXECUTION_RUNS
from workflows.state_machines import StateMachineWorkflow

SYNC_LIMIT: Final = timedelta(minutes=5)
"""How long `StartSyncExecution` waits: an Express workflow's longest run on AWS."""
QUERY_TIMEOUT: Final = timedelta(seconds=30)
STATUS: Final = {
    WorkflowExecutionStatus.RUNNING: "RUNNING",
    WorkflowExecutionStatus.COMPLETED: "SUCCEEDED",
    WorkflowExecutionStatus.FAILED: "FAILED",
    WorkflowExecutionStatus.TIMED_OUT: "TIMED_OUT",
    WorkflowExecutionStatus.TERMINATED: "ABORTED",
    WorkflowExecutionStatus.CANCELED: "ABORTED",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "RUNNING",
}
STATUS_QUERY: Final = {
    "RUNNING": "ExecutionStatus = 'Running'",
    "SUCCEEDED": "ExecutionStatus = 'Completed'",
    "FAILED": "ExecutionStatus = 'Failed'",
    "TIMED_OUT": "ExecutionStatus = 'TimedOut'",
    "ABORTED": "(ExecutionStatus = 'Terminated' OR ExecutionStatus = 'Canceled')",
    # A redrive starts its run at once, so no execution is ever seen waiting for one.
    "PENDING_REDRIVE": "ExecutionStatus = 'Never'",
}


def workflow_id(machine: str, name: str) -> str:
    return EXECUTION_RUNS.of(f"{machine}:{name}")


def search_attributes(machine: str, name: str) -> TypedSearchAttributes:
    """What finds an execution's runs, in `ListExecutions` and the Temporal UI."""
    return TypedSearchAttributes(
        [SearchAttributePair(STATE_MACHINE, machine), SearchAttributePair(EXECUTION_NAME, name)]
    )


@dataclass
class Ending:
    """How a closed execution ended."""

    output: Any = None
    error: str | None = None
    cause: str | None = None


async def handle_of(sfn: Sfn, arn: str) -> tuple[Client, WorkflowHandle[Any, Any]]:
    machine, name = sfn.arns.execution_names(arn)
    client = await sfn.temporal()
    return client, client.get_workflow_handle(workflow_id(machine, name))


async def describe_run(handle: WorkflowHandle[Any, Any], arn: str) -> WorkflowExecutionDescription:
    try:
        return await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise SfnError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'") from None
        raise


async def started_with(client: Client, handle: WorkflowHandle[Any, Any]) -> ExecutionInput:
    """The input the execution's run was started with, from its first history event."""
    async for event in handle.fetch_history_events(page_size=1):
        attributes = event.workflow_execution_started_event_attributes
        (value,) = await client.data_converter.decode(attributes.input.payloads, [ExecutionInput])
        assert isinstance(value, ExecutionInput)
        return value
    raise SfnError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{handle.id}'")


async def ending_of(handle: WorkflowHandle[Any, Any]) -> Ending:
    """How the execution's run ended (waiting for it to end): output, or error and cause."""
    try:
        return Ending(output=await handle.result(follow_runs=False))
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and len(cause.details) == 2:
            error, reason = cause.details
            return Ending(error=error or None, cause=reason)
        if isinstance(cause, TerminatedError):
            # StopExecution terminates with the error and cause as the details.
            details = [*cause.details, None, None]
            return Ending(error=details[0], cause=details[1])
        if isinstance(cause, WorkflowTimeout):
            return Ending(error="States.Timeout")
        return Ending(error="States.Runtime", cause=str(cause))


def _execution_input(
    sfn: Sfn, row: Any, definition: dict[str, Any], name: str, value: Any
) -> ExecutionInput:
    return ExecutionInput(
        definition=definition,
        input=value,
        execution_arn=sfn.arns.execution(row.name, name),
        name=name,
        state_machine_arn=sfn.arns.state_machine(row.name),
        state_machine_name=row.name,
        role_arn=row.role_arn,
        region=sfn.arns.region,
        account=sfn.arns.account,
        type=row.type,
        handler_modes=modes_named_in(row.definition) or None,
    )


async def start_or_find(sfn: Sfn, params: dict[str, Any]) -> tuple[ExecutionInput, Any, datetime]:
    """Start the execution `params` describe, or find the same one already running."""
    row, definition = await state_machines.load_for_start(
        sfn, shapes.required(params, "stateMachineArn")
    )
    name = shapes.check_name(shapes.string(params, "name") or str(uuid.uuid4()), "execution")
    text = shapes.string(params, "input", max_length=10 * 1024 * 1024) or "{}"
    value = shapes.json_document(text, "input", "InvalidExecutionInput")
    request = _execution_input(sfn, row, definition, name, value)
    timeout = request.definition.get("TimeoutSeconds")
    client = await sfn.temporal()
    wid = workflow_id(row.name, name)
    try:
        handle = await client.start_workflow(
            StateMachineWorkflow.run,
            request,
            id=wid,
            task_queue=sfn.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            execution_timeout=timedelta(seconds=timeout) if timeout else None,
            memo={"revisionId": row.revision_id},
            search_attributes=search_attributes(row.name, name),
        )
        return request, handle, datetime.now(UTC)
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(wid)
        described = await describe_run(handle, request.execution_arn)
        existing = await started_with(client, handle)
        # AWS: the same name and input while the first still runs is the same execution.
        if described.status == WorkflowExecutionStatus.RUNNING and existing.input == value:
            return existing, handle, described.start_time
        raise SfnError(
            "ExecutionAlreadyExists", f"Execution Already Exists: '{request.execution_arn}'"
        ) from None


async def start(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    request, _, started = await start_or_find(sfn, params)
    return {"executionArn": request.execution_arn, "startDate": shapes.epoch(started)}


async def start_sync(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    row, _ = await state_machines.load_for_start(sfn, shapes.required(params, "stateMachineArn"))
    if row.type != "EXPRESS":
        raise SfnError(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        )
    request, handle, started = await start_or_find(sfn, params)
    try:
        ending = await asyncio.wait_for(ending_of(handle), SYNC_LIMIT.total_seconds())
        status = "SUCCEEDED" if ending.error is None else "FAILED"
        if ending.error == "States.Timeout":
            status = "TIMED_OUT"
    except TimeoutError:
        ending, status = Ending(error="States.Timeout"), "TIMED_OUT"
    stopped = datetime.now(UTC)
    response: dict[str, Any] = {
        "executionArn": request.execution_arn,
        "stateMachineArn": request.state_machine_arn,
        "name": request.name,
        "startDate": shapes.epoch(started),
        "stopDate": shapes.epoch(stopped),
        "status": status,
        **payload_text("input", request.input),
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": int((stopped - started).total_seconds() * 1000),
        },
    }
    if status == "SUCCEEDED":
        response.update(payload_text("output", ending.output))
    return shapes.without_none({**response, "error": ending.error, "cause": ending.cause})


async def describe(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "executionArn")
    client, handle = await handle_of(sfn, arn)
    described = await describe_run(handle, arn)
    started = await started_with(client, handle)
    status = STATUS[described.status] if described.status else "RUNNING"
    redriven = started.redrive
    not_redrivable = refusal(started, described, datetime.now(UTC))
    response: dict[str, Any] = {
        "executionArn": arn,
        "stateMachineArn": started.state_machine_arn,
        "name": started.name,
        "status": status,
        "startDate": shapes.epoch(redriven.first_start if redriven else described.start_time),
        "stopDate": shapes.epoch(described.close_time),
        **payload_text("input", started.input),
        "redriveCount": redriven.count if redriven else 0,
        "redriveDate": shapes.epoch(redriven.at) if redriven else None,
        "redriveStatus": "NOT_REDRIVABLE" if not_redrivable else "REDRIVABLE",
        "redriveStatusReason": not_redrivable,
    }
    if status != "RUNNING":
        ending = await ending_of(handle)
        if status == "SUCCEEDED":
            response.update(payload_text("output", ending.output))
        response.update({"error": ending.error, "cause": ending.cause})
    return shapes.without_none(response)


async def list_executions(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "stateMachineArn")
    machine = sfn.arns.state_machine_name(arn)
    await state_machines.load(sfn, arn)
    limit = shapes.integer(params, "maxResults", low=0, high=1000) or 100
    status = shapes.string(params, "statusFilter")
    clauses = [f"{STATE_MACHINE.name} = '{machine}'"]
    if status is not None:
        if status not in STATUS_QUERY:
            raise SfnError(
                "ValidationException",
                f"1 validation error detected: Value '{status}' at 'statusFilter' failed to "
                f"satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(STATUS_QUERY)}]",
            )
        clauses.append(STATUS_QUERY[status])
    token = shapes.string(params, "nextToken", max_length=3096)
    client = await sfn.temporal()
    runs = client.list_workflows(
        " AND ".join(clauses),
        page_size=limit,
        next_page_token=_token_bytes(token) if token else None,
    )
    try:
        await runs.fetch_next_page()
    except RPCError as err:
        if err.status == RPCStatusCode.INVALID_ARGUMENT and token:
            raise SfnError("InvalidToken", f"Invalid Token: '{token}'") from None
        raise
    executions = []
    for run in runs.current_page or []:
        _, _, name = run.id.partition(":")
        memo = await run.memo()
        first_start = memo.get("firstStartDate")
        executions.append(
            shapes.without_none(
                {
                    "executionArn": sfn.arns.execution(machine, name),
                    "stateMachineArn": arn,
                    "name": name,
                    "status": STATUS[run.status] if run.status else "RUNNING",
                    "startDate": shapes.epoch(
                        datetime.fromisoformat(first_start) if first_start else run.start_time
                    ),
                    "stopDate": shapes.epoch(run.close_time),
                    "redriveCount": memo.get("redriveCount"),
                    "redriveDate": shapes.epoch(datetime.fromisoformat(memo["redriveDate"]))
                    if "redriveDate" in memo
                    else None,
                }
            )
        )
    result: dict[str, Any] = {"executions": executions}
    if runs.next_page_token:
        result["nextToken"] = base64.urlsafe_b64encode(runs.next_page_token).decode()
    return result


def _token_bytes(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token.encode())
    except ValueError:
        raise SfnError("InvalidToken", f"Invalid Token: '{token}'") from None


async def stop(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "executionArn")
    error = shapes.string(params, "error", max_length=256)
    cause = shapes.string(params, "cause", max_length=32768)
    _, handle = await handle_of(sfn, arn)
    described = await describe_run(handle, arn)
    if described.status != WorkflowExecutionStatus.RUNNING:
        # Stopping an execution that has ended changes nothing; AWS answers the same way.
        return {"stopDate": shapes.epoch(described.close_time)}
    try:
        await handle.terminate(error, cause, reason=f"StopExecution: {error or 'stopped'}")
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    return {"stopDate": shapes.epoch(datetime.now(UTC))}


async def history(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "executionArn")
    limit = shapes.integer(params, "maxResults", low=0, high=1000) or 100
    reverse = shapes.boolean(params, "reverseOrder", False)
    with_data = shapes.boolean(params, "includeExecutionData", True)
    token = shapes.string(params, "nextToken", max_length=3096)
    client, handle = await handle_of(sfn, arn)
    described = await describe_run(handle, arn)
    key = f"{described.id}/{described.run_id}"
    cached = sfn.histories.get(key)
    if cached is not None:
        events = list(cached)
    else:
        events = await _all_runs_events(sfn, client, handle, described)
        if described.status not in (None, WorkflowExecutionStatus.RUNNING):
            sfn.histories.put(key, list(events))
    if reverse:
        events.reverse()
    start = 0
    if token:
        try:
            start = int(_token_bytes(token).decode())
        except ValueError:
            raise SfnError("InvalidToken", f"Invalid Token: '{token}'") from None
    page = events[start : start + limit]
    if not with_data:
        page = [_without_data(event) for event in page]
    result: dict[str, Any] = {"events": page}
    if start + limit < len(events):
        result["nextToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return result


async def _all_runs_events(
    sfn: Sfn,
    client: Client,
    handle: WorkflowHandle[Any, Any],
    described: WorkflowExecutionDescription,
) -> list[dict[str, Any]]:
    """The execution's whole history: each earlier run's (a redriven execution has them),
    then this run's, numbered on from one run to the next as AWS numbers them."""
    started = await started_with(client, handle)
    events: list[dict[str, Any]] = []
    for run_id in started.redrive.earlier_runs if started.redrive else []:
        key = f"{described.id}/{run_id}"
        earlier = sfn.histories.get(key)
        if earlier is None:
            run = client.get_workflow_handle(described.id, run_id=run_id)
            earlier = await _events(client, run, await run.describe())
            sfn.histories.put(key, list(earlier))
        events = _continued(events, earlier)
    return _continued(events, await _events(client, handle, described))


def _continued(events: list[dict[str, Any]], more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events`, then `more` numbered on from them; `more`'s first event follows the last."""
    offset = len(events)
    if not offset:
        return list(more)
    return [
        *events,
        *(
            {
                **event,
                "id": event["id"] + offset,
                "previousEventId": event["previousEventId"] + offset,
            }
            for event in more
        ),
    ]


async def _events(
    client: Client, handle: WorkflowHandle[Any, Any], described: WorkflowExecutionDescription
) -> list[dict[str, Any]]:
    try:
        events: list[dict[str, Any]] = await handle.query(
            StateMachineWorkflow.aws_history, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as err:
        # Stopped before a worker first ran it: no code ran, so it has no events of its own.
        if err.status != RPCStatusCode.FAILED_PRECONDITION or described.status in (
            None,
            WorkflowExecutionStatus.RUNNING,
        ):
            raise
        started = await started_with(client, handle)
        opening = EventLog()
        opening.add(
            Thread(),
            "ExecutionStarted",
            described.start_time,
            {**payload_text("input", started.input), "roleArn": started.role_arn},
        )
        events = opening.events
    status = described.status
    # The interpreter cannot write how the run was stopped from outside: add it here.
    log = EventLog(events)
    thread = Thread(last=len(events))
    at = described.close_time or datetime.now(UTC)
    if status in (WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.CANCELED):
        ending = await ending_of(handle)
        details = shapes.without_none({"error": ending.error, "cause": ending.cause})
        log.add(thread, "ExecutionAborted", at, details)
    elif status == WorkflowExecutionStatus.TIMED_OUT:
        log.add(thread, "ExecutionTimedOut", at, {"error": "States.Timeout"})
    if any(event["type"] == CHUNK_EVENT for event in log.events):
        return await _with_chunks(client, log.events)
    return log.events


async def _with_chunks(client: Client, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with each large-Map chunk's events in place of its placeholder, and every
    event numbered again in that order (`workflows.asl.map_chunks`)."""
    out: list[dict[str, Any]] = []
    renumbered: dict[int, int] = {0: 0}
    for event in events:
        before = renumbered.get(event["previousEventId"], 0)
        if event["type"] != CHUNK_EVENT:
            renumbered[event["id"]] = len(out) + 1
            out.append({**event, "id": len(out) + 1, "previousEventId": before})
            continue
        # An event that followed the placeholder follows what the placeholder followed.
        renumbered[event["id"]] = before
        child = event[detail_key(CHUNK_EVENT)]["workflowId"]
        try:
            inner: list[dict[str, Any]] = await client.get_workflow_handle(child).query(
                StateMachineWorkflow.aws_history, rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                continue  # not started yet, or stopped before it ran: no events
            raise
        own: dict[int, int] = {0: before}
        for child_event in inner:
            own[child_event["id"]] = len(out) + 1
            out.append(
                {
                    **child_event,
                    "id": len(out) + 1,
                    "previousEventId": own.get(child_event["previousEventId"], before),
                }
            )
    return out


_DATA_MEMBERS: Final = ("input", "output", "parameters")


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    trimmed = dict(event)
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            trimmed[key] = {k: v for k, v in value.items() if k not in _DATA_MEMBERS}
    return trimmed


async def describe_machine_for_execution(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "executionArn")
    client, handle = await handle_of(sfn, arn)
    described = await describe_run(handle, arn)
    started = await started_with(client, handle)
    memo = await described.memo()
    return shapes.without_none(
        {
            "stateMachineArn": started.state_machine_arn,
            "name": started.state_machine_name,
            "definition": json.dumps(started.definition),
            "roleArn": started.role_arn,
            "updateDate": shapes.epoch(described.start_time),
            "revisionId": memo.get("revisionId"),
        }
    )
