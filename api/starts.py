"""Starting runs: workflow ids, run references, and idempotent starts by `Idempotency-Key`."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Header
from fastapi.responses import JSONResponse
from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.schemas import RunRef
from core.settings import Settings

FINGERPRINT = "request_fingerprint"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a request safely: the same key returns the same run and never "
        "starts a second one, even after the first has closed. Visible ASCII, 1-200 chars.",
    ),
]

In = TypeVar("In")
Out = TypeVar("Out")


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


def run_key(scope: str, key: str | None) -> str:
    """A new random id, or one derived from the key so that a repeat lands on the same run."""
    if key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:32]


def fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Started:
    workflow_id: str
    run_id: str
    replayed: bool
    """True when an earlier request with the same key had already started this run."""
    temporal_ms: float | None = None
    """Time spent in Temporal calls to start the run, answered as `Server-Timing`."""


async def start_run(
    client: Client,
    run: Callable[[Any, In], Awaitable[Out]],
    arg: In,
    *,
    workflow_id: str,
    task_queue: str,
    key: str | None,
    request: Any,
    index: TypedSearchAttributes = TypedSearchAttributes.empty,
) -> Started:
    """Start a run; with a key, a repeat returns the existing run, and a changed body is 409.
    `index`: the search attributes that let the run be found by its business id."""
    began = time.perf_counter()
    if key is None:
        handle = await client.start_workflow(
            run, arg, id=workflow_id, task_queue=task_queue, search_attributes=index
        )
        return Started(workflow_id, _run_id(handle), replayed=False, temporal_ms=since(began))
    print_ = fingerprint(request)
    try:
        handle = await client.start_workflow(
            run,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={FINGERPRINT: print_},
            search_attributes=index,
        )
        return Started(workflow_id, _run_id(handle), replayed=False, temporal_ms=since(began))
    except WorkflowAlreadyStartedError:
        existing = await client.get_workflow_handle(workflow_id).describe()
        if await existing.memo_value(FINGERPRINT, default=None) != print_:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body"
            ) from None
        return Started(workflow_id, existing.run_id, replayed=True, temporal_ms=since(began))


def since(began: float) -> float:
    """Milliseconds since `began`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - began) * 1000


def _run_id(handle: WorkflowHandle[Any, Any]) -> str:
    run_id = handle.first_execution_run_id or handle.result_run_id
    assert run_id is not None
    return run_id


def run_ref(settings: Settings, started: Started) -> dict[str, Any]:
    """The fields every start endpoint answers with."""
    return RunRef(
        workflow_id=started.workflow_id,
        run_id=started.run_id,
        status_url=f"/runs/{started.workflow_id}",
        ui_url=settings.run_ui_url(started.workflow_id, started.run_id),
    ).model_dump()


def accepted(body: dict[str, Any], started: Started) -> JSONResponse:
    """202 with the run reference; a repeat of an earlier request says so in a header.

    `Server-Timing` gives the time the start spent in Temporal, so a client (and
    `statewright bench`) can tell the API's own cost from the server's.
    """
    headers = {}
    if started.replayed:
        headers["Idempotent-Replayed"] = "true"
    if started.temporal_ms is not None:
        headers["Server-Timing"] = f'temporal;dur={started.temporal_ms:.1f};desc="start run"'
    return JSONResponse(status_code=202, content=body, headers=headers)
