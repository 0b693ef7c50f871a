"""Our report runner's controls: its Temporal Schedule (read, pause, resume) and a run now.

The reporting API the runner polls is someone else's in seed 001; its stand-in is in
`api.routes.reporting`, on its own path. With `STATEWRIGHT_ENGINE=asl`, a run now is an
execution of seed 001's own state machine (its Wait of 10 s included); the schedule is
unchanged."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import JSONResponse
from temporalio.client import ScheduleCalendarSpec, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from api.auth import require
from api.deps import ClientDep, SettingsDep, State
from api.schedules import REPORT_SCHEDULE_ID
from api.schemas import (
    ErrorOut,
    RunRef,
    ScheduleOut,
)
from api.seed_starts import start_seed
from api.starts import IdempotencyKey, accepted, run_key, run_ref, start_run
from workflows.contracts import ReportRunInput
from workflows.ids import REPORT_RUNS
from workflows.reports import ReportRunnerWorkflow
from workflows.seeds import REPORT_RUNNER

router = APIRouter(prefix="/report-runner", tags=["reports"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}


@router.get(
    "/schedule",
    dependencies=[require("runs:read")],
    response_model=ScheduleOut,
    responses=NOT_FOUND,
)
async def get_schedule(client: ClientDep) -> ScheduleOut:
    """The runner's schedule: paused or not, and its next run times."""
    return await _describe(client.get_schedule_handle(REPORT_SCHEDULE_ID))


@router.post(
    "/schedule/{action}",
    dependencies=[require("reports:write")],
    response_model=ScheduleOut,
    responses=NOT_FOUND,
)
async def control_schedule(
    action: Annotated[Literal["pause", "resume"], Path()], client: ClientDep
) -> ScheduleOut:
    """Pause the runner's schedule, or resume it. Either is safe to repeat."""
    handle = client.get_schedule_handle(REPORT_SCHEDULE_ID)
    await _describe(handle)  # 404 before acting on a schedule that does not exist
    if action == "pause":
        await handle.pause(note="paused through the API")
    else:
        await handle.unpause(note="resumed through the API")
    return await _describe(handle)


# The server keeps a cron expression as calendar ranges; these are each field's full range.
CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day_of_month", 1, 31),
    ("month", 1, 12),
    ("day_of_week", 0, 6),
)


def as_cron(calendar: ScheduleCalendarSpec) -> str:
    """A calendar spec written back as the five-field cron expression it came from."""
    fields = []
    for name, low, high in CRON_FIELDS:
        parts = []
        for r in getattr(calendar, name):
            end = max(r.end, r.start)
            step = f"/{r.step}" if r.step > 1 else ""
            if (r.start, end) == (low, high):
                parts.append(f"*{step}")
            elif r.start == end:
                parts.append(str(r.start))
            else:
                parts.append(f"{r.start}-{end}{step}")
        fields.append(",".join(parts) or "*")
    return " ".join(fields)


async def _describe(handle: ScheduleHandle) -> ScheduleOut:
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        raise HTTPException(
            status_code=404,
            detail=f"schedule {handle.id!r} does not exist; `statewright schedules apply` makes it",
        ) from err
    schedule, info = description.schedule, description.info
    return ScheduleOut(
        schedule_id=handle.id,
        paused=schedule.state.paused,
        note=schedule.state.note or None,
        cron_expressions=[
            *schedule.spec.cron_expressions,
            *(as_cron(calendar) for calendar in schedule.spec.calendars),
        ],
        intervals_seconds=[i.every.total_seconds() for i in schedule.spec.intervals],
        overlap=schedule.policy.overlap.name,
        # Temporal lists the times a paused schedule would run at; none of them will happen.
        next_run_times=[] if schedule.state.paused else list(info.next_action_times),
        recent_runs=[
            {
                "workflow_id": action.action.workflow_id,  # type: ignore[attr-defined]
                "run_id": action.action.first_execution_run_id,  # type: ignore[attr-defined]
                "scheduled_at": action.scheduled_at.isoformat(),
            }
            for action in info.recent_actions
        ],
    )


@router.post(
    "/runs",
    dependencies=[require("reports:write")],
    status_code=202,
    response_model=RunRef,
    responses={code: {"model": ErrorOut} for code in (409, 503)},
)
async def run_now(
    state: State, client: ClientDep, settings: SettingsDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Start the report runner now, outside its schedule."""
    if settings.engine == "asl":
        execution = await start_seed(
            state, REPORT_RUNNER, {}, name=run_key("report-runs", key), key=key, request={}
        )
        return accepted(run_ref(settings, execution.started), execution.started)
    started = await start_run(
        client,
        ReportRunnerWorkflow.run,
        ReportRunInput(
            wait_seconds=settings.report_wait_seconds, max_polls=settings.report_max_polls
        ),
        workflow_id=REPORT_RUNS.of(run_key("report-runs", key)),
        task_queue=settings.task_queue,
        key=key,
        request={},
    )
    return accepted(run_ref(settings, started), started)
