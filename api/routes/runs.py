"""Runs, as the Step Functions console shows executions: list, describe, stop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.auth import require
from api.deps import ClientDep, SettingsDep
from api.runs import describe_run
from api.schemas import (
    CancelAccepted,
    ErrorOut,
    RunDetail,
    RunStatus,
    RunSummary,
    WorkflowIdPath,
    WorkflowType,
)

router = APIRouter(prefix="/runs", tags=["runs"])
EPOCH = datetime.fromtimestamp(0, UTC)

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


@router.get("", dependencies=[require("runs:read")], response_model=list[RunSummary])
async def list_runs(
    client: ClientDep,
    settings: SettingsDep,
    workflow_type: WorkflowType | None = None,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RunSummary]:
    """Recent runs on this deployment's task queue, newest first."""
    # Every value placed in the query comes from an enum or from settings, never from raw input.
    clauses = [f"TaskQueue = '{settings.task_queue}'"]
    if workflow_type is not None:
        clauses.append(f"WorkflowType = '{workflow_type.value}'")
    if status is not None:
        clauses.append(f"ExecutionStatus = '{VISIBILITY_STATUS[status]}'")
    runs = [
        RunSummary(
            workflow_id=run.id,
            run_id=run.run_id,
            workflow_type=run.workflow_type,
            status=run.status.name if run.status else "UNKNOWN",
            started_at=run.start_time,
            closed_at=run.close_time,
            status_url=f"/runs/{run.id}",
            ui_url=settings.run_ui_url(run.id, run.run_id),
        )
        async for run in client.list_workflows(" AND ".join(clauses), limit=limit)
    ]
    runs.sort(key=lambda run: run.started_at or EPOCH, reverse=True)
    return runs


@router.get(
    "/{workflow_id}",
    dependencies=[require("runs:read")],
    response_model=RunDetail,
    responses={404: {"model": ErrorOut}},
)
async def get_run(
    workflow_id: WorkflowIdPath, client: ClientDep, settings: SettingsDep
) -> RunDetail:
    """Status, input, result, error, and one row per step with its attempts and times."""
    detail = await describe_run(client, settings, workflow_id)
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
