"""Runs, as the Step Functions console shows executions: list, describe, stop."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import require
from api.deps import ClientDep, SettingsDep, State, StepInputsDep
from api.redrives import redrive_run
from api.run_view import describe_run, summary
from api.schemas import (
    ID_MAX,
    CancelAccepted,
    ErrorOut,
    RedriveAccepted,
    RunDetail,
    RunPage,
    RunStatus,
    WorkflowIdPath,
)
from core.search_attributes import CASE_ID, ORDER_ID, PAYMENT_ORDER_ID
from core.temporal import on_task_queues

router = APIRouter(prefix="/runs", tags=["runs"])

# Visibility query names of each status, as the API spells it.
VISIBILITY_STATUS = {
    RunStatus.RUNNING: "Running",
    RunStatus.COMPLETED: "Completed",
    RunStatus.FAILED: "Failed",
    RunStatus.CANCELED: "Canceled",
    RunStatus.TERMINATED: "Terminated",
    RunStatus.TIMED_OUT: "TimedOut",
    RunStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
}


MAX_PAGE = 500
BUSINESS_IDS = {"order_id": ORDER_ID, "payment_order_id": PAYMENT_ORDER_ID, "case_id": CASE_ID}
# A business id goes into the visibility query inside single quotes: it may hold anything
# printable but a quote or a backslash.
QueryId = Annotated[
    str | None, Query(min_length=1, max_length=ID_MAX, pattern=r"^[^\x00-\x1f\x7f'\\]+$")
]


def listing_router(workflow_types: Sequence[str]) -> APIRouter:
    """`GET /runs`, filtering by the workflow types of this deployment's flows."""
    listing = APIRouter(prefix="/runs", tags=["runs"])
    WorkflowType = StrEnum("WorkflowType", {name: name for name in workflow_types})  # type: ignore[misc]

    async def list_runs(
        client: ClientDep,
        settings: SettingsDep,
        workflow_type: str | None = None,  # an enum of the deployed types: see below
        status: RunStatus | None = None,
        order_id: Annotated[QueryId, Query(description="an order's runs")] = None,
        payment_order_id: Annotated[QueryId, Query(description="an order's payment runs")] = None,
        case_id: Annotated[QueryId, Query(description="a case's runs")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="runs per page, 1 to 500")] = 50,
        page_token: Annotated[
            str | None,
            Query(max_length=4096, description="the `next_page_token` of the page before"),
        ] = None,
    ) -> RunPage:
        """Runs on this deployment's task queues, a page at a time, in Temporal's visibility
        order: running ones first, then closed ones, the most recently closed first.

        Filter by type, status, or a business id (the same search attributes work in the
        Temporal UI: `OrderId`, `PaymentOrderId`, `CaseId`). Ask for the next page with the
        `next_page_token` of this one; it is null on the last page."""
        # Every value placed in the query comes from an enum, from settings, or from a business
        # id whose pattern admits no quote.
        clauses = [on_task_queues(settings.task_queues)]
        if workflow_type is not None:
            clauses.append(f"WorkflowType = '{workflow_type}'")
        if status is not None:
            clauses.append(f"ExecutionStatus = '{VISIBILITY_STATUS[status]}'")
        ids = {"order_id": order_id, "payment_order_id": payment_order_id, "case_id": case_id}
        clauses += [
            f"{BUSINESS_IDS[name].name} = '{value}'" for name, value in ids.items() if value
        ]
        runs = client.list_workflows(
            " AND ".join(clauses), page_size=limit, next_page_token=_token_bytes(page_token)
        )
        try:
            await runs.fetch_next_page()
        except RPCError as err:
            if err.status != RPCStatusCode.INVALID_ARGUMENT or page_token is None:
                raise
            raise _foreign_token() from None
        page = [summary(settings, run) for run in runs.current_page or []]
        token = runs.next_page_token
        return RunPage(
            runs=page, next_page_token=base64.urlsafe_b64encode(token).decode() if token else None
        )

    # The enum exists only in this call, where a string annotation cannot find it.
    list_runs.__annotations__["workflow_type"] = WorkflowType | None
    listing.get(
        "",
        dependencies=[require("runs:read")],
        response_model=RunPage,
        responses={422: {"model": ErrorOut}},
    )(list_runs)

    return listing


def _foreign_token() -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "loc": ("query", "page_token"),
                "msg": "not a page token this API gave out",
                "type": "value_error",
            }
        ]
    )


def _token_bytes(page_token: str | None) -> bytes | None:
    if page_token is None:
        return None
    try:
        return base64.urlsafe_b64decode(page_token.encode())
    except (ValueError, binascii.Error):
        raise _foreign_token() from None


@router.get(
    "/{workflow_id}",
    dependencies=[require("runs:read")],
    response_model=RunDetail,
    responses={404: {"model": ErrorOut}},
)
async def get_run(
    workflow_id: WorkflowIdPath, client: ClientDep, settings: SettingsDep, inputs: StepInputsDep
) -> RunDetail:
    """Status, input, result, error, and one row per step with its attempts and times."""
    detail = await describe_run(client, settings, workflow_id, step_inputs=inputs)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"run {workflow_id!r} not found")
    return detail


@router.post(
    "/{workflow_id}/cancel",
    dependencies=[require("runs:cancel")],
    status_code=202,
    response_model=CancelAccepted,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def cancel_run(
    workflow_id: WorkflowIdPath, client: ClientDep, settings: SettingsDep
) -> CancelAccepted:
    """Ask a running run to stop. Its workflow decides how: an order gives back its stock."""
    detail = await describe_run(client, settings, workflow_id, with_steps=False)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"run {workflow_id!r} not found")
    if detail.status != RunStatus.RUNNING:
        raise HTTPException(
            status_code=409, detail=f"run {workflow_id!r} is already {detail.status}"
        )
    await client.get_workflow_handle(workflow_id, run_id=detail.run_id).cancel()
    return CancelAccepted(
        workflow_id=workflow_id,
        run_id=detail.run_id,
        status="CANCEL_REQUESTED",
        status_url=f"/runs/{workflow_id}",
    )


@router.post(
    "/{workflow_id}/redrive",
    dependencies=[require("runs:cancel")],
    status_code=202,
    response_model=RedriveAccepted,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def redrive(
    workflow_id: WorkflowIdPath, state: State, client: ClientDep, settings: SettingsDep
) -> RedriveAccepted:
    """Continue a run that failed, timed out or was cancelled, as Step Functions' redrive
    does. A state machine's execution continues from the state that did not succeed; a
    hand-written workflow runs again where that is safe, and answers 409 saying why where it
    is not (see the README's "Redrive")."""
    done = await redrive_run(state, client, workflow_id)
    return RedriveAccepted(
        workflow_id=done.workflow_id,
        run_id=done.run_id,
        status_url=f"/runs/{done.workflow_id}",
        ui_url=settings.run_ui_url(done.workflow_id, done.run_id),
        redrive_count=done.redrive_count,
        redrive_date=done.redrive_date,
    )
