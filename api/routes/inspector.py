"""The graph inspector: `GET /executions/{id}` (an execution, or any run, drawn on its state
machine's graph), `/executions/{id}/progress` (what its page polls), `/state-machines/{name}`
and the pages' static files.

An execution is read through the Step Functions API's own operations (`api.sfn.executions`:
its AWS history, with large Maps' chunks spliced in and closed histories cached), so the
page shows what `GetExecutionHistory` shows. A hand-written workflow's run is read as
`GET /runs/{id}` reads it and drawn on its seed's graph (`workflows.seeds`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from temporalio.service import RPCError, RPCStatusCode

from api.auth import require
from api.deps import AppState, State, StepInputsDep
from api.graph.page import (
    ExecutionRow,
    ExecutionView,
    MachineView,
    execution_page,
    machine_page,
    message_page,
)
from api.graph.progress import history_progress
from api.graph.seed_steps import run_progress
from api.graph.urls import machine_path, page_path
from api.run_view import describe_run
from api.schemas import RunDetail
from api.sfn import executions, state_machines
from api.sfn.context import Sfn
from api.sfn.errors import SfnError
from api.sfn.protocol import sfn_of
from api.step_inputs import StepInputs
from workflows.seeds import seed_for_workflow, seed_named
from workflows.state_machines import StateMachineWorkflow

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
ASSETS: Final = {"inspector.js": "text/javascript", "inspector.css": "text/css"}
RECENT: Final = 50
"""Executions listed on a state machine's page."""
HISTORY_PAGE: Final = 1000
INTERPRETED: Final = "StateMachineExecution"
"""The workflow type of `StateMachineWorkflow`: the interpreter running a definition."""
_EXECUTION_ID: Final = re.compile(r"execution-([^:]+):(.+)", re.DOTALL)
_MISSING: Final = frozenset({"ExecutionDoesNotExist", "InvalidArn", "StateMachineDoesNotExist"})
# A run's status, as AWS would name an execution's.
_AWS_STATUS: Final = {
    "COMPLETED": "SUCCEEDED",
    "FAILED": "FAILED",
    "TIMED_OUT": "TIMED_OUT",
    "TERMINATED": "ABORTED",
    "CANCELED": "ABORTED",
    "CONTINUED_AS_NEW": "RUNNING",
    "RUNNING": "RUNNING",
}

router = APIRouter(dependencies=[require("runs:read")], include_in_schema=False)


class NotFound(Exception):
    """Nothing answers to the id; the message says what was looked for."""


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _execution_names(sfn: Sfn, ref: str) -> tuple[str, str] | None:
    """(state machine, execution) that an execution ARN or workflow id names; None for a
    workflow id of another kind."""
    if ref.startswith("arn:"):
        try:
            return sfn.arns.execution_names(ref)
        except SfnError as err:
            raise NotFound(f"{ref!r} is not an execution ARN of this deployment: {err}") from None
    found = _EXECUTION_ID.fullmatch(ref)
    return (found.group(1), found.group(2)) if found else None


async def _history(sfn: Sfn, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"executionArn": arn, "maxResults": HISTORY_PAGE}
        if token:
            params["nextToken"] = token
        page = await executions.history(sfn, params)
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


async def _aws_execution(sfn: Sfn, machine: str, name: str) -> ExecutionView:
    arn = sfn.arns.execution(machine, name)
    try:
        described = await executions.describe(sfn, {"executionArn": arn})
        machine_of = await executions.describe_machine_for_execution(sfn, {"executionArn": arn})
        events = await _history(sfn, arn)
    except SfnError as err:
        if err.code in _MISSING:
            raise NotFound(
                f"No execution {name!r} of state machine {machine!r}: {err.message}"
            ) from None
        raise
    definition = json.loads(machine_of["definition"])
    progress = history_progress(definition, events, described["status"])
    workflow_id = executions.workflow_id(machine, name)
    return ExecutionView(
        workflow_id=workflow_id,
        title=name,
        subtitle=f"An execution of the state machine {machine} ({arn})",
        progress=progress,
        definition=definition,
        progress_url=page_path(workflow_id) + "/progress",
        redrive_url=_redrive_url(workflow_id),
        started=_epoch(described.get("startDate")),
        closed=_epoch(described.get("stopDate")),
        machine=machine,
        links=[
            ("State machine", machine_path(machine)),
            ("Run (JSON)", _run_url(workflow_id)),
            ("Temporal UI", sfn.settings.run_ui_url(workflow_id, None)),
        ],
    )


def _run_url(workflow_id: str) -> str:
    return f"/runs/{quote(workflow_id, safe=':')}"


def _redrive_url(workflow_id: str) -> str:
    return _run_url(workflow_id) + "/redrive"


async def _run(state: AppState, inputs: StepInputs, workflow_id: str) -> ExecutionView:
    client = await state.temporal.client()
    detail = await describe_run(client, state.settings, workflow_id, step_inputs=inputs)
    if detail is None:
        raise NotFound(
            f"No run or execution {workflow_id!r} here. Open a run by its workflow id "
            "(as `GET /runs` lists them) or an execution by its ARN."
        )
    if detail.workflow_type == INTERPRETED:
        return await _interpreted_run(state, detail)
    seed = seed_for_workflow(detail.workflow_type)
    run = detail.model_dump(mode="json")
    common: dict[str, Any] = {
        "workflow_id": workflow_id,
        "title": workflow_id,
        "progress_url": page_path(workflow_id) + "/progress",
        "redrive_url": _redrive_url(workflow_id),
        "started": detail.started_at,
        "closed": detail.closed_at,
    }
    links = [("Run (JSON)", _run_url(workflow_id)), ("Temporal UI", detail.ui_url)]
    if seed is None:
        return ExecutionView(
            subtitle=f"A run of {detail.workflow_type}",
            progress=run_progress({}, {}, run),
            definition=None,
            links=links,
            note=f"{detail.workflow_type} does no seed's work, so there is no state machine to "
            "draw: its steps are listed below.",
            **common,
        )
    definition = seed.definition()
    return ExecutionView(
        subtitle=f"A run of {detail.workflow_type}, drawn on seed {seed.number}'s state "
        f"machine {seed.name}",
        progress=run_progress(definition, seed.steps, run),
        definition=definition,
        machine=seed.name,
        links=[("Seed state machine", machine_path(seed.name)), *links],
        **common,
    )


async def _interpreted_run(state: AppState, detail: RunDetail) -> ExecutionView:
    """A state machine execution under an id of its own (not `execution-<machine>:<name>`):
    read its history from the workflow directly."""
    started = detail.input if isinstance(detail.input, dict) else {}
    definition = started.get("definition") or {}
    client = await state.temporal.client()
    try:
        events: list[dict[str, Any]] = await client.get_workflow_handle(detail.workflow_id).query(
            StateMachineWorkflow.aws_history
        )
    except RPCError as err:
        # Stopped before a worker first ran it: it has no events.
        if err.status != RPCStatusCode.FAILED_PRECONDITION:
            raise
        events = []
    status = _AWS_STATUS.get(detail.status, detail.status)
    workflow_id = detail.workflow_id
    machine = started.get("state_machine_name")
    return ExecutionView(
        workflow_id=workflow_id,
        title=str(started.get("name") or workflow_id),
        subtitle=f"An execution of the state machine {machine}",
        progress=history_progress(definition, events, status),
        definition=definition or None,
        progress_url=page_path(workflow_id) + "/progress",
        redrive_url=_redrive_url(workflow_id),
        started=detail.started_at,
        closed=detail.closed_at,
        machine=str(machine) if machine else None,
        links=[("Run (JSON)", _run_url(workflow_id)), ("Temporal UI", detail.ui_url)],
    )


async def load_execution(state: AppState, inputs: StepInputs, ref: str) -> ExecutionView:
    """The execution or run that `ref` (an execution ARN or a workflow id) names."""
    sfn = sfn_of(state)
    names = _execution_names(sfn, ref)
    if names is not None:
        return await _aws_execution(sfn, *names)
    return await _run(state, inputs, ref)


@router.get("/static/{name}")
async def static_asset(name: str) -> FileResponse:
    """The inspector's stylesheet and script."""
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail=f"no static file {name!r}")
    return FileResponse(
        STATIC_DIR / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"}
    )


# Declared before the page: a workflow id may hold a slash, so the page's path takes the
# rest of the URL, and would otherwise swallow `/progress`.
@router.get("/executions/{ref:path}/progress")
async def execution_progress(ref: str, state: State, inputs: StepInputsDep) -> JSONResponse:
    """What the execution page polls: every state's status and details, as JSON."""
    try:
        view = await load_execution(state, inputs, ref)
    except NotFound as err:
        return JSONResponse({"detail": str(err)}, status_code=404)
    body = view.progress.to_json()
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/executions/{ref:path}", response_class=HTMLResponse)
async def execution(ref: str, state: State, inputs: StepInputsDep) -> HTMLResponse:
    """An execution (by ARN or workflow id) or a hand-written run (by workflow id), drawn."""
    try:
        view = await load_execution(state, inputs, ref)
    except NotFound as err:
        return HTMLResponse(message_page("Execution not found", str(err)), status_code=404)
    return HTMLResponse(execution_page(view), headers={"Cache-Control": "no-store"})


@router.get("/state-machines/{ref}", response_class=HTMLResponse)
async def state_machine(ref: str, state: State) -> HTMLResponse:
    """A state machine (by name or ARN): its graph and its recent executions."""
    sfn = sfn_of(state)
    try:
        view = await _machine(sfn, ref)
    except NotFound as err:
        return HTMLResponse(message_page("State machine not found", str(err)), status_code=404)
    return HTMLResponse(machine_page(view))


async def _machine(sfn: Sfn, ref: str) -> MachineView:
    try:
        name = sfn.arns.state_machine_name(ref) if ref.startswith("arn:") else ref
        arn = sfn.arns.state_machine(name)
        described = await state_machines.describe(sfn, {"stateMachineArn": arn})
        listed = await executions.list_executions(
            sfn, {"stateMachineArn": arn, "maxResults": RECENT}
        )
    except SfnError as err:
        if err.code not in _MISSING:
            raise
        seed = seed_named(ref)
        if seed is None:
            raise NotFound(f"No state machine {ref!r} on this deployment: {err.message}") from None
        return MachineView(
            name=seed.name,
            arn=sfn.arns.state_machine(seed.name),
            type=seed.type,
            definition=seed.definition(),
            note=f"Seed {seed.number}'s state machine, not registered on this deployment "
            "(`statewright sfn seed` registers the seeds). Its hand-written workflow is "
            f"{seed.workflow_type}.",
        )
    rows = [
        ExecutionRow(
            name=e["name"],
            status=e["status"],
            href=page_path(e["executionArn"]),
            started=_epoch(e.get("startDate")),
            stopped=_epoch(e.get("stopDate")),
        )
        for e in listed["executions"]
    ]
    return MachineView(
        name=described["name"],
        arn=described["stateMachineArn"],
        type=described["type"],
        definition=json.loads(described["definition"]),
        executions=rows,
        created=_epoch(described.get("creationDate")),
    )
