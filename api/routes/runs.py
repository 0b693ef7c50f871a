"""Runs, as the Step Functions console shows executions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import ClientDep, SettingsDep
from api.runs import describe_run
from api.schemas import ErrorOut, RunDetail, WorkflowIdPath

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("/{workflow_id}", response_model=RunDetail, responses={404: {"model": ErrorOut}})
async def get_run(
    workflow_id: WorkflowIdPath, client: ClientDep, settings: SettingsDep
) -> RunDetail:
    detail = await describe_run(client, settings, workflow_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"run {workflow_id!r} not found")
    return detail
