"""Support cases (seed 004): open one, read it with its history, and resolve it at tier 2.

With `STATEWRIGHT_ENGINE=asl`, `POST /cases` starts seed 004's own state machine, whose task
handlers write the same case rows; the seed only escalates an unresolved case and fails, so
the policies `retry` and `tier2` need the hand-written workflow. Each request is then its own
execution (named from the Idempotency-Key, or at random), as on AWS: the seed does not hold a
case to one run at a time."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy import select
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import require
from api.deps import ClientDep, SessionDep, SettingsDep, State
from api.errors import UNAVAILABLE_CODES, unprocessable
from api.run_view import describe_run
from api.schemas import (
    CaseAccepted,
    CaseEventOut,
    CaseIdPath,
    CaseIn,
    CaseOut,
    ErrorOut,
    ResolveAccepted,
    ResolveIn,
)
from api.seed_starts import start_seed
from api.starts import IdempotencyKey, RunInProgress, accepted, run_key, run_ref, start_run
from core.models import CaseEventRow, SupportCaseRow
from core.search_attributes import CASE_ID
from workflows.cases import SupportCaseWorkflow
from workflows.contracts import CaseInput, Tier2Resolution, case_workflow_id
from workflows.seeds import SUPPORT_CASE

router = APIRouter(prefix="/cases", tags=["cases"])

UPDATE_TIMEOUT = timedelta(seconds=10)
SEARCHABLE_CASE_ID = re.compile(r"[A-Za-z0-9._:-]+")
# What a case's status says about why it cannot take tier 2's answer.
NOT_WAITING_AS = {
    "OPEN": "it is still being worked",
    "ASSIGNED": "it is still being worked",
    "UNRESOLVED": "it is still being worked",
    "RESOLVED": "it was already resolved",
    "CLOSED": "it was already resolved and closed",
    "ESCALATED": "it was escalated without a tier 2 wait, and its run failed",
    "EXPIRED": "its tier 2 deadline passed",
    "CANCELED": "its run was cancelled",
}


@router.post(
    "",
    dependencies=[require("cases:write")],
    status_code=202,
    response_model=CaseAccepted,
    responses={code: {"model": ErrorOut} for code in (409, 413, 415, 503)},
)
async def open_case(
    body: CaseIn,
    state: State,
    client: ClientDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a `SupportCaseWorkflow`. A case has one run at a time; once that run has closed,
    posting the case again works it again, and its history keeps both runs."""
    if settings.engine == "asl":
        return await _open_seed_case(body, state, settings, key)
    case = CaseInput(
        case_id=body.case_id,
        on_unresolved=body.on_unresolved,
        max_work_attempts=body.max_work_attempts or settings.case_max_work_attempts,
        tier2_deadline_seconds=settings.tier2_deadline_seconds,
    )
    workflow_id = case_workflow_id(case.case_id)
    try:
        started = await start_run(
            client,
            SupportCaseWorkflow.run,
            case,
            workflow_id=workflow_id,
            task_queue=settings.task_queue,
            key=run_key("cases", key) if key else None,
            request=body.model_dump(mode="json"),
            index=TypedSearchAttributes([SearchAttributePair(CASE_ID, case.case_id)]),
            reruns=True,
        )
    except RunInProgress:
        raise HTTPException(
            status_code=409,
            detail=f"case {case.case_id!r} already has a run in progress: /runs/{workflow_id}",
        ) from None
    return accepted({"case_id": case.case_id, **run_ref(settings, started)}, started)


async def _open_seed_case(
    body: CaseIn, state: State, settings: SettingsDep, key: str | None
) -> JSONResponse:
    """Seed 004's machine, with the seed's input `{"inputCaseID": ...}`."""
    if body.on_unresolved != "fail":
        return unprocessable(
            ("body", "on_unresolved"),
            f"{body.on_unresolved!r} needs the hand-written workflow (STATEWRIGHT_ENGINE="
            "workflows): seed 004's state machine escalates an unresolved case and fails",
        )
    execution = await start_seed(
        state,
        SUPPORT_CASE,
        {"inputCaseID": body.case_id},
        name=run_key("cases", key),
        key=key,
        request=body.model_dump(mode="json"),
        index=[SearchAttributePair(CASE_ID, body.case_id)],
    )
    started = execution.started
    return accepted({"case_id": body.case_id, **run_ref(settings, started)}, started)


@router.get(
    "/{case_id}",
    dependencies=[require("runs:read")],
    response_model=CaseOut,
    responses={404: {"model": ErrorOut}},
)
async def get_case(case_id: CaseIdPath, session: SessionDep) -> CaseOut:
    """The case as it stands, and every status change with its time, oldest first."""
    case = await session.get(SupportCaseRow, case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=f"case {case_id!r} not found")
    events = await session.scalars(
        select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
    )
    return CaseOut(
        case_id=case.case_id,
        status=case.status,
        message=case.message,
        workflow_id=case.workflow_id,
        run_id=case.run_id,
        status_url=f"/runs/{case.workflow_id}",
        created_at=case.created_at,
        updated_at=case.updated_at,
        history=[
            CaseEventOut(
                step=e.step,
                status=e.status,
                message=e.message,
                detail=e.detail,
                run_id=e.run_id,
                at=e.created_at,
            )
            for e in events
        ],
    )


@router.post(
    "/{case_id}/resolve",
    dependencies=[require("cases:write")],
    status_code=202,
    response_model=ResolveAccepted,
    responses={code: {"model": ErrorOut} for code in (404, 409, 503)},
)
async def resolve_case(
    case_id: CaseIdPath,
    body: ResolveIn,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
) -> ResolveAccepted:
    """Tier 2's answer to an escalated case that is waiting for it."""
    workflow_id = case_workflow_id(case_id)
    run = await describe_run(client, settings, workflow_id, with_steps=False)
    case = await session.get(SupportCaseRow, case_id)
    await session.close()
    if run is None:
        # A case worked by seed 004's machine names its execution in its row, or, before
        # its first step has run, is found by its search attribute.
        seed_run = case.workflow_id if case is not None else None
        if seed_run is None and settings.engine == "asl":
            seed_run = await _latest_run(client, case_id)
        if seed_run is not None and seed_run != workflow_id:
            workflow_id = seed_run
            run = await describe_run(client, settings, workflow_id, with_steps=False)
    if run is None:
        raise HTTPException(status_code=404, detail=f"case {case_id!r} not found")
    if run.status != WorkflowExecutionStatus.RUNNING.name:
        reason = NOT_WAITING_AS.get(case.status if case else "", f"its run is {run.status}")
        raise _not_waiting(case_id, reason)
    if case is None or case.status != "AWAITING_TIER2":
        status = case.status if case else "OPEN"  # a run whose first step has not run yet
        raise _not_waiting(case_id, NOT_WAITING_AS.get(status, "it is still being worked"))
    # The workflow has the last word, in order: it accepts one answer while it waits, and
    # refuses any other, saying why.
    handle = client.get_workflow_handle_for(SupportCaseWorkflow.run, workflow_id, run_id=run.run_id)
    try:
        await handle.execute_update(
            SupportCaseWorkflow.tier2_resolution,
            Tier2Resolution(resolution=body.resolution, agent=body.agent),
            rpc_timeout=UPDATE_TIMEOUT,
        )
    except WorkflowUpdateFailedError as err:
        refused = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
        raise _not_waiting(case_id, refused) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise HTTPException(
            status_code=503, detail="no worker answered for this case; try again shortly"
        ) from err
    except RPCError as err:
        if err.status in UNAVAILABLE_CODES:
            raise HTTPException(
                status_code=503, detail="no worker answered for this case; try again shortly"
            ) from err
        if err.status == RPCStatusCode.NOT_FOUND:  # the run ended a moment ago
            raise _not_waiting(case_id, "its run has just ended") from None
        raise
    return ResolveAccepted(
        case_id=case_id,
        status="RESOLUTION_SENT",
        workflow_id=workflow_id,
        run_id=run.run_id,
        status_url=f"/runs/{workflow_id}",
    )


async def _latest_run(client: ClientDep, case_id: str) -> str | None:
    """The workflow id of the case's newest run, as visibility lists it."""
    if not SEARCHABLE_CASE_ID.fullmatch(case_id):
        return None  # `POST /cases` takes no such id, and it could not be quoted safely
    async for run in client.list_workflows(f"{CASE_ID.name} = '{case_id}'", limit=1):
        return run.id
    return None


def _not_waiting(case_id: str, reason: str) -> HTTPException:
    return HTTPException(
        status_code=409, detail=f"case {case_id!r} is not waiting for tier 2: {reason}"
    )
