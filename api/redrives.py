"""`POST /runs/{id}/redrive`: what redrive means for each workflow.

A state machine's execution is redriven as AWS redrives it (`api.sfn.redrive`). A
hand-written workflow has no states to continue from; its steps are idempotent, so a redrive
is a new run of the same workflow id with the same input, and each step's ledger makes what
already happened happen once. Whether that is right depends on how the run ended:

- an order that did not complete was compensated: its stock was given back and the order
  marked failed, so running the cart again would apply an order the customer was told
  failed. Refused: start a new order;
- a payment that failed a business rule (invalid amount, declined, conflict) would fail the
  same way. One that failed on a step (the provider unreachable past its retry window), was
  cancelled or timed out is redriven: the charge is keyed by the order id, so it never moves
  money twice;
- a webhook is stored once per run id, so a redrive stores it at most once;
- a support case that did not close was escalated, cancelled or expired, and its status
  history says so; the seed's Fail state would fail again. Refused: open the case again;
- the report runner starts a fresh report each run; redriving it publishes once more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import HTTPException
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowFailureError
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AppState
from api.sfn.errors import SfnError
from api.sfn.protocol import sfn_of
from api.sfn.redrivable import one_redrive_at_a_time
from api.sfn.redrive import redrive as redrive_execution
from core.search_attributes import ALL as SEARCH_ATTRIBUTES
from workflows.contracts import INVALID_ORDER, PAYMENT_CONFLICT, PAYMENT_DECLINED
from workflows.ids import EXECUTION_RUNS

ENDED_UNSUCCESSFULLY: Final = frozenset(
    {Status.FAILED, Status.TIMED_OUT, Status.CANCELED, Status.TERMINATED}
)


@dataclass(frozen=True)
class Policy:
    """Whether a hand-written workflow's runs may be redriven, and why not."""

    refused: str | None = None
    """Why no run of this workflow is redriven; None if runs are."""
    business_errors: frozenset[str] = field(default_factory=frozenset)
    """Failures that a redrive would only repeat."""


POLICIES: Final[dict[str, Policy]] = {
    "CreateOrderWorkflow": Policy(
        refused="an order that did not complete was compensated (its stock given back and "
        "the order marked failed); start a new order instead"
    ),
    "ProcessOrderWorkflow": Policy(
        business_errors=frozenset({INVALID_ORDER, PAYMENT_DECLINED, PAYMENT_CONFLICT})
    ),
    "WebhookWorkflow": Policy(),
    "SupportCaseWorkflow": Policy(
        refused="a case that did not close was escalated, cancelled or expired, and its "
        "history says so; open the case again with POST /cases instead"
    ),
    "ReportRunnerWorkflow": Policy(),
}


@dataclass
class Redriven:
    workflow_id: str
    run_id: str
    redrive_count: int
    redrive_date: datetime


async def redrive_run(state: AppState, client: Client, workflow_id: str) -> Redriven:
    """Redrive the run `workflow_id`, or raise 404 / 409 saying why not."""
    described = await _describe(client, workflow_id)
    _check_ended(described)
    if described.workflow_type == "StateMachineExecution":
        return await _redrive_execution(state, client, workflow_id)
    async with one_redrive_at_a_time(state.sessions, workflow_id):
        return await _redrive_hand_written(state, client, workflow_id)


def _check_ended(described: WorkflowExecutionDescription) -> None:
    if described.status not in ENDED_UNSUCCESSFULLY:
        status = described.status.name if described.status else "RUNNING"
        raise HTTPException(
            409,
            f"run {described.id!r} is {status}: only a run that failed, timed out or was "
            "cancelled can be redriven",
        )


async def _describe(client: Client, workflow_id: str) -> WorkflowExecutionDescription:
    try:
        return await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"run {workflow_id!r} not found") from None
        raise


async def _redrive_hand_written(state: AppState, client: Client, workflow_id: str) -> Redriven:
    # Read again under the lock: another redrive may have started a run meanwhile.
    described = await _describe(client, workflow_id)
    _check_ended(described)
    policy = POLICIES.get(described.workflow_type)
    if policy is None:
        raise HTTPException(409, f"{described.workflow_type} runs cannot be redriven")
    if policy.refused is not None:
        raise HTTPException(409, f"run {workflow_id!r} cannot be redriven: {policy.refused}")
    error_type = await _error_type(client, described)
    if error_type in policy.business_errors:
        raise HTTPException(
            409,
            f"run {workflow_id!r} failed a business rule ({error_type}); a redrive would "
            "fail the same way",
        )
    return await _rerun(state, client, described)


async def _redrive_execution(state: AppState, client: Client, workflow_id: str) -> Redriven:
    name = workflow_id.removeprefix(EXECUTION_RUNS.of(""))
    machine, _, execution = name.partition(":")
    sfn = sfn_of(state)
    try:
        await redrive_execution(sfn, {"executionArn": sfn.arns.execution(machine, execution)})
    except SfnError as err:
        raise HTTPException(409, f"run {workflow_id!r} cannot be redriven: {err}") from None
    described = await client.get_workflow_handle(workflow_id).describe()
    memo = await described.memo()
    return Redriven(
        workflow_id,
        described.run_id,
        int(memo.get("redriveCount", 0)),
        datetime.fromisoformat(memo["redriveDate"]),
    )


async def _error_type(client: Client, described: WorkflowExecutionDescription) -> str | None:
    if described.status != Status.FAILED:
        return None
    handle = client.get_workflow_handle(described.id, run_id=described.run_id)
    try:
        await handle.result(follow_runs=False)
    except WorkflowFailureError as err:
        cause = err.cause
        return cause.type if isinstance(cause, ApplicationError) else None
    return None


async def _rerun(
    state: AppState, client: Client, described: WorkflowExecutionDescription
) -> Redriven:
    """A new run of the same workflow id, with the same input, task queue and attributes."""
    first: Any = None
    handle = client.get_workflow_handle(described.id, run_id=described.run_id)
    async for event in handle.fetch_history_events(page_size=1):
        first = event.workflow_execution_started_event_attributes
        break
    assert first is not None, "every run's history starts with its start event"
    args = await client.data_converter.decode(first.input.payloads)
    memo = await described.memo()
    count = int(memo.get("redriveCount", 0)) + 1
    now = datetime.now(UTC)
    attributes = [
        SearchAttributePair(key, value)
        for key in SEARCH_ATTRIBUTES
        if (value := described.typed_search_attributes.get(key)) is not None
    ]
    try:
        started = await client.start_workflow(
            described.workflow_type,
            args=args,
            id=described.id,
            task_queue=described.raw_description.execution_config.task_queue.name,
            # Only this workflow's own earlier runs hold the id, and they have all ended.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            memo={
                **memo,
                "redriveCount": count,
                "redriveDate": now.isoformat(),
                "firstStartDate": memo.get("firstStartDate", described.start_time.isoformat()),
            },
            search_attributes=TypedSearchAttributes(attributes),
        )
    except WorkflowAlreadyStartedError:
        raise HTTPException(409, f"run {described.id!r} was redriven already") from None
    return Redriven(described.id, started.run_id or "", count, now)
