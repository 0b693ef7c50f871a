"""Webhook intake (seed 003): answer fast, or with `?wait=true`, with the result.

With `STATEWRIGHT_ENGINE=asl`, `POST /webhooks` starts seed 003's own (Express) state machine
with the payload as its input; `?wait=true` then waits for the execution's output as
`StartSyncExecution` does, within the same bound. Its task handler stores the payload under
the execution's workflow id, so `GET /webhooks/{workflow_id}` reads both alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from api.auth import require
from api.deps import ClientDep, SessionDep, SettingsDep, State
from api.errors import UNAVAILABLE_CODES
from api.gateway import TemporalUnavailable
from api.run_view import describe_run
from api.schemas import (
    ErrorOut,
    WebhookAccepted,
    WebhookFailed,
    WebhookOut,
    WebhookProcessed,
    WorkflowIdPath,
)
from api.seed_starts import execution_name, start_seed, wait_for_ending
from api.sfn.errors import SfnError
from api.starts import IdempotencyKey, Started, accepted, run_key, run_ref, start_run
from core.models import WebhookEventRow
from workflows.contracts import WebhookInput
from workflows.ids import WEBHOOK_RUNS
from workflows.seeds import WEBHOOK
from workflows.webhooks import WebhookWorkflow

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks",
    dependencies=[require("webhooks:write")],
    status_code=202,
    response_model=WebhookAccepted,
    responses={
        200: {"model": WebhookProcessed, "description": "with `wait=true`: the run's result"},
        409: {"model": ErrorOut},
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        502: {"model": WebhookFailed, "description": "with `wait=true`: the run failed"},
        503: {"model": WebhookFailed, "description": "Temporal is unreachable"},
        504: {"model": WebhookAccepted, "description": "with `wait=true`: no result in time"},
    },
)
async def submit_webhook(
    payload: Annotated[dict[str, Any], Body(description="any JSON object, at most 256 KiB")],
    state: State,
    settings: SettingsDep,
    wait: Annotated[bool, Query(description="wait (bounded) for the run's result")] = False,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a `WebhookWorkflow` that stores the payload."""
    asl = settings.engine == "asl"
    try:
        if asl:
            started = await _start_seed(state, payload, key)
        else:
            client = await state.temporal.client()
            queue = state.eager.start_queue(settings.task_queue)
            started = await start_run(
                client,
                WebhookWorkflow.run,
                WebhookInput(payload=payload, received_at=datetime.now(UTC)),
                workflow_id=WEBHOOK_RUNS.of(run_key("webhooks", key)),
                task_queue=queue.task_queue,
                eager=queue.eager,
                key=key,
                request=payload,
            )
    except (TemporalUnavailable, RPCError) as err:
        if isinstance(err, RPCError) and err.status not in UNAVAILABLE_CODES:
            raise
        return JSONResponse(
            status_code=503,
            content={"status": "webhook failed", "detail": "Temporal is unreachable"},
        )
    except SfnError as err:
        if err.code != "ValidationException":
            raise
        # The execution input's limit (256 KiB), which the body's limit nearly always meets.
        return JSONResponse(status_code=413, content={"detail": err.message})
    if not wait:
        return accepted({"status": "webhook submitted", **run_ref(settings, started)}, started)
    if asl:
        return await _wait_for_output(state, settings, started)
    return await _wait_for_result(state, settings, started)


async def _start_seed(state: State, payload: dict[str, Any], key: str | None) -> Started:
    """Seed 003's machine, with the payload as its input."""
    execution = await start_seed(
        state, WEBHOOK, payload, name=run_key("webhooks", key), key=key, request=payload
    )
    return execution.started


async def _wait_for_output(state: State, settings: SettingsDep, started: Started) -> JSONResponse:
    """The execution's output, as `StartSyncExecution` gives it, within the webhook bound."""
    ref = run_ref(settings, started)
    ending = await wait_for_ending(state, started, settings.webhook_wait_seconds)
    if ending is None:
        return JSONResponse(status_code=504, content={"status": "webhook pending", **ref})
    if ending.error is not None or ending.cause is not None:
        detail = f"{ending.error}: {ending.cause}" if ending.cause else str(ending.error)
        return JSONResponse(
            status_code=502, content={"status": "webhook failed", "detail": detail, **ref}
        )
    content = {"status": "webhook processed", **ref, "result": ending.output}
    return JSONResponse(status_code=200, content=content)


async def _wait_for_result(state: State, settings: SettingsDep, started: Started) -> JSONResponse:
    client = await state.temporal.client()
    handle = client.get_workflow_handle_for(
        WebhookWorkflow.run, started.workflow_id, run_id=started.run_id
    )
    ref = run_ref(settings, started)
    try:
        result = await asyncio.wait_for(handle.result(), settings.webhook_wait_seconds)
    except TimeoutError:
        # The run carries on; the caller can follow it with the reference.
        return JSONResponse(status_code=504, content={"status": "webhook pending", **ref})
    except WorkflowFailureError as err:
        detail = str(err.cause or err)
        return JSONResponse(
            status_code=502, content={"status": "webhook failed", "detail": detail, **ref}
        )
    content = {"status": "webhook processed", **ref, "result": result.model_dump(mode="json")}
    return JSONResponse(status_code=200, content=content)


@router.get(
    "/webhooks/{workflow_id}",
    dependencies=[require("runs:read")],
    response_model=WebhookOut,
    responses={404: {"model": ErrorOut}},
)
async def get_webhook(
    workflow_id: WorkflowIdPath, session: SessionDep, client: ClientDep, settings: SettingsDep
) -> WebhookOut:
    """A webhook by the `workflow_id` its 202 gave: the payload as stored, and its run."""
    event = await session.get(WebhookEventRow, workflow_id)
    await session.close()
    run = await describe_run(client, settings, workflow_id, with_steps=False)
    ours = run is not None and (
        run.workflow_type == "WebhookWorkflow" or execution_name(WEBHOOK, workflow_id) is not None
    )
    if event is None and not ours:
        raise HTTPException(status_code=404, detail=f"webhook {workflow_id!r} not found")
    return WebhookOut(
        workflow_id=workflow_id,
        status=run.status if run else "STORED",
        payload=event.payload if event else None,
        received_at=event.received_at if event else None,
        stored_at=event.stored_at if event else None,
        status_url=f"/runs/{workflow_id}",
    )
