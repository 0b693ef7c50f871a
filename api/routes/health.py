"""Liveness of what the system needs: Postgres and Temporal for every request, and a worker
polling the task queue for any run to make progress."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from api.deps import State
from api.schemas import HealthOut
from core.db import ping
from core.version import VERSION

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 3
WORKER_SEEN_S = 75
"""A worker's pollers wait up to a minute on an idle queue before they poll again, so one that
has not polled for longer than this is gone."""


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "Postgres or Temporal is down"}},
)
async def health(state: State) -> JSONResponse:
    """200 while Postgres and Temporal answer, else 503; each part says `ok` or what is wrong.

    With no worker polling, the API still takes work (runs wait for a worker), so the answer
    stays 200, with status `degraded`.
    """
    postgres, temporal, worker = await asyncio.gather(
        _postgres(state), _temporal(state), _worker(state)
    )
    serving = postgres == "ok" and temporal == "ok"
    status = "unavailable" if not serving else "ok" if worker == "ok" else "degraded"
    body = HealthOut(
        status=status, postgres=postgres, temporal=temporal, worker=worker, version=VERSION
    )
    return JSONResponse(status_code=200 if serving else 503, content=body.model_dump())


async def _postgres(state: State) -> str:
    try:
        await asyncio.wait_for(ping(state.engine), CHECK_TIMEOUT_S)
    except Exception as err:
        return f"unreachable: {type(err).__name__}"
    return "ok"


async def _temporal(state: State) -> str:
    try:
        client = await state.temporal.client()
        ok = await asyncio.wait_for(client.service_client.check_health(), CHECK_TIMEOUT_S)
    except Exception as err:
        return f"unreachable: {type(err).__name__}"
    return "ok" if ok else "not serving"


async def _worker(state: State) -> str:
    queue = state.settings.task_queue
    try:
        client = await state.temporal.client()
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        described = await asyncio.wait_for(
            client.workflow_service.describe_task_queue(request), CHECK_TIMEOUT_S
        )
    except Exception as err:
        return f"unknown: {type(err).__name__}"
    now = time.time()
    if any(now - p.last_access_time.ToSeconds() <= WORKER_SEEN_S for p in described.pollers):
        return "ok"
    return f"none: no worker has polled task queue {queue!r} in the last {WORKER_SEEN_S}s"
