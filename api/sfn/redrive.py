"""`RedriveExecution`: continue a failed, aborted or timed-out execution from where it ended.

A redrive is a new Temporal run under the execution's own workflow id, so the execution ARN,
`DescribeExecution` and the Temporal UI all follow it. The new run gets the old run's input
and definition, and where the old run stood (its `redrive_plan` query, `workflows.asl.
redrive`): states that succeeded are not run again, and inside a Parallel or an inline Map
only the branches and iterations that did not succeed run again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.sfn import executions, shapes
from api.sfn.context import Sfn
from api.sfn.errors import SfnError
from api.sfn.redrivable import one_redrive_at_a_time, refusal
from workflows.contracts import ExecutionInput, Redrive
from workflows.state_machines import StateMachineWorkflow


async def redrive(sfn: Sfn, params: dict[str, Any]) -> dict[str, Any]:
    arn = shapes.required(params, "executionArn")
    token = shapes.string(params, "clientToken", max_length=64)
    client, handle = await executions.handle_of(sfn, arn)
    async with one_redrive_at_a_time(sfn.sessions, handle.id):
        return await _redrive(sfn, client, handle, arn, token)


async def _redrive(
    sfn: Sfn, client: Client, handle: WorkflowHandle[Any, Any], arn: str, token: str | None
) -> dict[str, Any]:
    described = await executions.describe_run(handle, arn)
    started = await executions.started_with(client, handle)
    earlier = started.redrive
    if token is not None and earlier is not None and earlier.client_token == token:
        # The same request again: it was already done.
        return {"redriveDate": shapes.epoch(earlier.at)}
    now = datetime.now(UTC)
    reason = refusal(started, described, now)
    if reason is not None:
        raise SfnError("ExecutionNotRedrivable", reason)
    plan = await _plan(client, described)
    request = started.model_copy(
        update={
            "redrive": Redrive(
                count=(earlier.count if earlier else 0) + 1,
                at=now,
                first_start=earlier.first_start if earlier else described.start_time,
                earlier_runs=[*(earlier.earlier_runs if earlier else []), described.run_id],
                plan=plan,
                client_token=token,
            )
        }
    )
    await _start(sfn, client, request, described)
    return {"redriveDate": shapes.epoch(now)}


async def _plan(client: Client, described: WorkflowExecutionDescription) -> dict[str, Any]:
    """Where the run stood when it ended, read by replaying it on a worker."""
    run = client.get_workflow_handle(described.id, run_id=described.run_id)
    try:
        plan: dict[str, Any] = await run.query(
            StateMachineWorkflow.redrive_plan, rpc_timeout=executions.QUERY_TIMEOUT
        )
    except RPCError as err:
        # Stopped before a worker first ran it: nothing ran, so it starts from the start.
        if err.status != RPCStatusCode.FAILED_PRECONDITION:
            raise
        return {}
    return plan


async def _start(
    sfn: Sfn, client: Client, request: ExecutionInput, described: WorkflowExecutionDescription
) -> None:
    redriven = request.redrive
    assert redriven is not None
    timeout = request.definition.get("TimeoutSeconds")
    memo = await described.memo()
    try:
        await client.start_workflow(
            StateMachineWorkflow.run,
            request,
            id=described.id,
            task_queue=sfn.settings.task_queue,
            # Only this execution's own earlier runs hold the id, and they have all ended.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            execution_timeout=timedelta(seconds=timeout) if timeout else None,
            memo={
                **memo,
                "redriveCount": redriven.count,
                "redriveDate": redriven.at.isoformat(),
                "firstStartDate": redriven.first_start.isoformat(),
            },
            search_attributes=executions.search_attributes(
                request.state_machine_name, request.name
            ),
        )
    except WorkflowAlreadyStartedError:
        # Another redrive won the race: this execution is running again already.
        raise SfnError(
            "ExecutionNotRedrivable", "Execution is RUNNING and cannot be redriven."
        ) from None
