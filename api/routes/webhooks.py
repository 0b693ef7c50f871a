"""Webhook intake (seed 003): answer fast, or with `?wait=true`, with the result."""

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
from api.starts import IdempotencyKey, Started, accepted, run_key, run_ref, start_run
from core.models import WebhookEventRow
from workflows.contracts import WebhookInput
from workflows.ids import WEBHOOK_RUNS
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
    webhook = WebhookInput(payload=payload, received_at=datetime.now(UTC))
    try:
        client = await state.temporal.client()
        started = await start_run(
            client,
            WebhookWorkflow.run,
            webhook,
            workflow_id=WEBHOOK_RUNS.of(run_key("webhooks", key)),
            task_queue=settings.task_queue,
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
    if not wait:
        return accepted({"status": "webhook submitted", **run_ref(settings, started)}, started)
    return await _wait_for_result(state, settings, started)


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
    if event is None and (run is None or run.workflow_type != "WebhookWorkflow"):
        raise HTTPException(status_code=404, detail=f"webhook {workflow_id!r} not found")
    return WebhookOut(
        workflow_id=workflow_id,
        status=run.status if run else "STORED",
        payload=event.payload if event else None,
        received_at=event.received_at if event else None,
        stored_at=event.stored_at if event else None,
        status_url=f"/runs/{workflow_id}",
    )
