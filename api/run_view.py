"""Describe a run as the Step Functions console would: status, input, result, error, steps."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecution
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.graph.urls import page_path
from api.schemas import RunDetail, RunError, RunStep, RunSummary
from api.step_inputs import StepInputs
from core.json_limits import depth_of
from core.settings import Settings
from core.temporal import DATA_CONVERTER

LOCAL_ACTIVITY_MARKER = "core_local_activity"


def _time(ts: Timestamp) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


# What a run description can carry back to a client: pydantic's serializer stops at 255
# levels, and the description wraps each value in a few of its own.
SHOWN_DEPTH_LIMIT = 200


def _values(payloads: Payloads) -> Any:
    """The payloads' values, or, for one that cannot be decoded or shown, a note saying so:
    describing a run must never fail because of what the run carries."""
    try:
        values = DATA_CONVERTER.payload_converter.from_payloads(payloads.payloads)
    except ApplicationError:
        values = [_raw_json(payload.data) for payload in payloads.payloads]
    values = [_showable(value) for value in values]
    return values[0] if len(values) == 1 else values or None


def _raw_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return f"(a payload of {len(data)} bytes that cannot be decoded)"


def _showable(value: Any) -> Any:
    if depth_of(value) > SHOWN_DEPTH_LIMIT:
        return f"(a value nested more than {SHOWN_DEPTH_LIMIT} levels deep, not shown)"
    return value


def _error(failure: Failure) -> RunError:
    kind = failure.application_failure_info.type or None
    if failure.HasField("timeout_failure_info"):
        kind = "Timeout"
    elif failure.HasField("canceled_failure_info"):
        kind = "Canceled"
    cause = failure.cause.message if failure.HasField("cause") else None
    return RunError(message=failure.message, type=kind, cause=cause or None)


@dataclass
class _Step:
    activity_id: str
    name: str
    input: Any
    scheduled_at: datetime | None
    status: str = "SCHEDULED"
    attempts: int = 0
    result: Any = None
    error: RunError | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    local: bool = False
    seq: int | None = None
    """A local step's sequence number, under which its replayed input is found."""


def summary(settings: Settings, run: WorkflowExecution) -> RunSummary:
    """One line of a run list: what it is, how it stands, where to look."""
    return RunSummary(
        workflow_id=run.id,
        run_id=run.run_id,
        workflow_type=run.workflow_type,
        status=run.status.name if run.status else "UNKNOWN",
        started_at=run.start_time,
        closed_at=run.close_time,
        status_url=f"/runs/{run.id}",
        ui_url=settings.run_ui_url(run.id, run.run_id),
        page_url=page_path(run.id),
    )


async def describe_run(
    client: Client,
    settings: Settings,
    workflow_id: str,
    *,
    with_steps: bool = True,
    step_inputs: StepInputs | None = None,
) -> RunDetail | None:
    """Everything a person needs to see about a run, or None for an unknown id. Local steps
    show their inputs only given `step_inputs`, which replays the history to find them."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    detail = RunDetail(
        workflow_id=workflow_id,
        run_id=description.run_id,
        workflow_type=description.workflow_type,
        status=description.status.name if description.status else "UNKNOWN",
        input=None,
        result=None,
        error=None,
        started_at=description.start_time,
        closed_at=description.close_time,
        steps=[],
        ui_url=settings.run_ui_url(workflow_id, description.run_id),
        page_url=page_path(workflow_id),
    )
    # A redrive is a new run of the same id; it carries its count and date in the memo.
    memo = await description.memo()
    if "redriveCount" in memo:
        detail.redrive_count = int(memo["redriveCount"])
        detail.redrive_date = datetime.fromisoformat(memo["redriveDate"])
    if not with_steps:
        return detail
    history = await handle.fetch_history()
    found: dict[int, _Step] = {}
    for event in history.events:
        _apply(event, detail, found)
    local = [step for step in found.values() if step.local and step.seq is not None]
    if local and step_inputs is not None:
        inputs = await step_inputs.of(
            history, description.run_id, closed=detail.status != "RUNNING"
        )
        for step in local:
            step.input = inputs.get(step.seq) if step.seq is not None else None
    for pending in description.raw_description.pending_activities:
        for step in found.values():
            if step.activity_id == pending.activity_id and step.closed_at is None:
                step.attempts = pending.attempt
                if pending.HasField("last_failure"):
                    step.error = _error(pending.last_failure)
                if pending.attempt > 1 or pending.HasField("last_started_time"):
                    step.status = "RUNNING" if step.started_at else "RETRYING"
    detail.steps = [
        RunStep(**{k: v for k, v in asdict(step).items() if k != "seq"}) for step in found.values()
    ]
    return detail


def _apply(event: HistoryEvent, detail: RunDetail, steps: dict[int, _Step]) -> None:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        detail.input = _values(event.workflow_execution_started_event_attributes.input)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        detail.result = _values(event.workflow_execution_completed_event_attributes.result)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        detail.error = _error(event.workflow_execution_failed_event_attributes.failure)
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        reason = event.workflow_execution_terminated_event_attributes.reason
        detail.error = RunError(message=reason or "terminated", type="Terminated")
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        detail.error = RunError(message="workflow run timed out", type="Timeout")
    elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        detail.error = RunError(message="workflow run was canceled", type="Canceled")
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        attrs = event.activity_task_scheduled_event_attributes
        steps[event.event_id] = _Step(
            activity_id=attrs.activity_id,
            name=attrs.activity_type.name,
            input=_values(attrs.input),
            scheduled_at=_time(event.event_time),
        )
    elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
        _apply_local_activity(event, steps)
    else:
        _apply_activity_progress(event, steps)


def _apply_local_activity(event: HistoryEvent, steps: dict[int, _Step]) -> None:
    """A local activity leaves one marker when it ends, with its result or failure, its
    attempts and times, but not its input, which Temporal does not record for these.

    A retry that must wait long leaves a marker with its `backoff`, waits on a timer, and
    goes on under a new sequence number with the same original schedule time: those markers
    are one step, shown RETRYING until the next one lands."""
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in marker.details:
        return
    data = json.loads(marker.details["data"].payloads[0].data)
    failed = marker.HasField("failure")
    name = str(data.get("activity_type", "?"))
    scheduled_at = _json_time(data.get("original_schedule_time"))
    # A local step starts in the worker as soon as it is scheduled; it is done when its
    # marker is recorded. (The marker's own complete_time is not on the same clock: it can
    # read earlier than the schedule time.)
    recorded_at = _time(event.event_time)
    closed_at = max(recorded_at, scheduled_at) if recorded_at and scheduled_at else recorded_at
    step = _Step(
        activity_id=str(data.get("activity_id", "")),
        name=name,
        input=None,
        scheduled_at=scheduled_at,
        status="FAILED" if failed else "COMPLETED",
        attempts=int(data.get("attempt", 1)),
        result=None
        if failed or "result" not in marker.details
        else _values(marker.details["result"]),
        error=_error(marker.failure) if failed else None,
        started_at=scheduled_at,
        closed_at=closed_at,
        local=True,
        seq=data.get("seq") if isinstance(data.get("seq"), int) else None,
    )
    if failed and data.get("backoff"):
        step.status, step.closed_at = "RETRYING", None
    earlier = next(
        (
            key
            for key, seen in steps.items()
            if seen.local
            and seen.status == "RETRYING"
            and seen.name == name
            and seen.scheduled_at == scheduled_at
        ),
        None,
    )
    if earlier is not None:
        step.seq = steps.pop(earlier).seq  # the sequence number the step began under
    steps[event.event_id] = step


def _json_time(value: Any) -> datetime | None:
    if not isinstance(value, dict):
        return None
    return datetime.fromtimestamp(value.get("seconds", 0) + value.get("nanos", 0) / 1e9, UTC)


def _apply_activity_progress(event: HistoryEvent, steps: dict[int, _Step]) -> None:
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        started = event.activity_task_started_event_attributes
        step = steps[started.scheduled_event_id]
        step.status, step.attempts = "RUNNING", started.attempt
        step.started_at = _time(event.event_time)
        if started.HasField("last_failure"):
            step.error = _error(started.last_failure)
        return
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        done = event.activity_task_completed_event_attributes
        step = steps[done.scheduled_event_id]
        step.status, step.result, step.error = "COMPLETED", _values(done.result), None
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        failed = event.activity_task_failed_event_attributes
        step = steps[failed.scheduled_event_id]
        step.status, step.error = "FAILED", _error(failed.failure)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        timed_out = event.activity_task_timed_out_event_attributes
        step = steps[timed_out.scheduled_event_id]
        step.status, step.error = "TIMED_OUT", _error(timed_out.failure)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        canceled = event.activity_task_canceled_event_attributes
        step = steps[canceled.scheduled_event_id]
        step.status = "CANCELED"
    else:
        return
    step.closed_at = _time(event.event_time)
