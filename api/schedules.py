"""The report runner's Temporal Schedule, created or updated idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.settings import Settings
from workflows.contracts import ReportRunInput
from workflows.reports import ReportRunnerWorkflow

REPORT_SCHEDULE_ID = "report-runner"


@dataclass(frozen=True)
class Applied:
    schedule_id: str
    created: bool


def report_schedule(
    settings: Settings, *, every: timedelta | None = None, workflow_id: str = REPORT_SCHEDULE_ID
) -> Schedule:
    """Every minute by cron (or `every`, for tests), never two runs at once (SKIP)."""
    spec = (
        ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)])
        if every
        else ScheduleSpec(cron_expressions=[settings.report_schedule_cron])
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReportRunnerWorkflow.run,
            ReportRunInput(
                wait_seconds=settings.report_wait_seconds, max_polls=settings.report_max_polls
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
        ),
        spec=spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def apply_report_schedule(
    client: Client,
    settings: Settings,
    *,
    schedule_id: str = REPORT_SCHEDULE_ID,
    every: timedelta | None = None,
) -> Applied:
    """Create the schedule, or bring an existing one up to date. Paused stays paused."""
    wanted = report_schedule(settings, every=every, workflow_id=schedule_id)
    try:
        await client.create_schedule(schedule_id, wanted)
        return Applied(schedule_id, created=True)
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule = current.description.schedule
        schedule.action, schedule.spec, schedule.policy = wanted.action, wanted.spec, wanted.policy
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(update)
    return Applied(schedule_id, created=False)
