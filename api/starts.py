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

from api.graph.urls import page_path
from api.schemas import RunRef
from core.settings import Settings

FINGERPRINT = "request_fingerprint"
KEY = "idempotency_key"

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


class RunInProgress(Exception):
    """The workflow id already has a run in progress, started by another request."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"{workflow_id} already has a run in progress")
        self.workflow_id = workflow_id


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
    reruns: bool = False,
    eager: bool = False,
) -> Started:
    """Start a run; with an Idempotency-Key, a repeat returns the run the key started, and the
    same key with a different body is 409 (`IdempotencyConflict`).

    Workflow ids are named one of two ways:
    - by the request (default): the id is random, or derived from the key, so a run with this
      id can only be this key's;
    - by a business entity (`reruns=True`, cases): the entity has one run at a time and a new
      one once the last has closed. The key is kept in the run's memo and looked for among
      the entity's runs; a run in progress that is not the key's is `RunInProgress`.

    `index`: the search attributes that let the run be found by its business id.
    `eager`: ask for an eager start (`api.eager`); the server may still start it ordinarily."""
    began = time.perf_counter()
    print_ = fingerprint(request) if key is not None else None
    if key is not None and reruns:
        earlier = await _run_with_key(client, workflow_id, key, print_)
        if earlier is not None:
            return earlier
    memo = None
    if key is not None:
        memo = {FINGERPRINT: print_, KEY: key} if reruns else {FINGERPRINT: print_}
    try:
        handle = await client.start_workflow(
            run,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            # A run named by its request may never start twice, even after it has closed.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
            if reruns or key is None
            else WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo=memo,
            search_attributes=index,
            request_eager_start=eager,
        )
    except WorkflowAlreadyStartedError:
        latest = await client.get_workflow_handle(workflow_id).describe()
        ours = key is not None and (not reruns or await latest.memo_value(KEY, default=None) == key)
        if not ours:
            raise RunInProgress(workflow_id) from None
        _same_body(await latest.memo_value(FINGERPRINT, default=None), print_)
        return Started(workflow_id, latest.run_id, replayed=True, temporal_ms=since(began))
    return Started(workflow_id, _run_id(handle), replayed=False, temporal_ms=since(began))


async def _run_with_key(
    client: Client, workflow_id: str, key: str, print_: str | None
) -> Started | None:
    """The entity's earlier run that this key started, found through visibility."""
    async for run in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        memo = await run.memo()
        if memo.get(KEY) == key:
            _same_body(memo.get(FINGERPRINT), print_)
            return Started(workflow_id, run.run_id, replayed=True)
    return None


def _same_body(recorded: object, print_: str | None) -> None:
    if recorded != print_:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body"
        )


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
        page_url=page_path(started.workflow_id),
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
