"""Start a seed's own state machine for an HTTP route (`STATEWRIGHT_ENGINE=asl`).

The route keeps its answer (202 and the run reference); what runs is the seed's definition
(`workflows.seeds`), unmodified, on the interpreter, with the seed's task handlers. The start
itself is the Step Functions API's `StartExecution` (`api.sfn.executions`), so an execution
started here is one like any other: `DescribeExecution`, `GetExecutionHistory` and the graph
inspector show it. Two things are added to that start, through a client interceptor so that
the start stays `StartExecution`'s own:

- the route's search attributes (`PaymentOrderId`, ...), so the read routes find the runs of
  a business id as they find the hand-written workflow's;
- with an `Idempotency-Key`, the request's fingerprint in the memo: the execution is named
  from the key, so a repeat lands on it, and a repeat with another body is refused (409), as
  `api.starts.start_run` does for the hand-written workflows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.deps import AppState
from api.sfn import executions, state_machines
from api.sfn.arns import Arns
from api.sfn.context import Sfn
from api.sfn.errors import SfnError
from api.starts import FINGERPRINT, IdempotencyConflict, Started, fingerprint, since
from workflows.seeds import SeedMachine

log = logging.getLogger(__name__)

SEED_ROLE: Final = "arn:aws:iam::{account}:role/statewright"
"""The role a seed's machine is registered with: `statewright sfn deploy`'s default, so a
machine registered by either is the same machine (`CreateStateMachine` is idempotent only
for the same definition, role and type). Statewright does not use roles."""


@dataclass(frozen=True)
class SeedStarted:
    """An execution a route started (or found again, by its Idempotency-Key)."""

    started: Started
    """The run reference's source: workflow id, run id, and whether it was a repeat."""
    execution_arn: str
    name: str
    """The execution's name: from the Idempotency-Key, or random."""


@dataclass(frozen=True)
class _Additions:
    memo: dict[str, Any]
    attributes: Sequence[SearchAttributePair[Any]]


_additions: ContextVar[_Additions | None] = ContextVar("seed_start_additions", default=None)


class _AddToStart(Interceptor):
    """Adds the current route's memo and search attributes to `StartExecution`'s start."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _AddToStartOutbound(next)


class _AddToStartOutbound(OutboundInterceptor):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        additions = _additions.get()
        if additions is not None:
            input.memo = {**(input.memo or {}), **additions.memo}
            given = input.search_attributes
            pairs = (
                list(given.search_attributes) if isinstance(given, TypedSearchAttributes) else []
            )
            input.search_attributes = TypedSearchAttributes([*pairs, *additions.attributes])
        return await super().start_workflow(input)


_clients: weakref.WeakKeyDictionary[Client, Client] = weakref.WeakKeyDictionary()


def _with_additions(client: Client) -> Client:
    """The same connection, with `_AddToStart` in front; one per client, made once."""
    found = _clients.get(client)
    if found is None:
        config = client.config(active_config=True)
        # The active config already holds what any plugin changed: applying them again
        # would do it twice.
        config["plugins"] = []
        config["interceptors"] = [*config["interceptors"], _AddToStart()]
        found = _clients[client] = Client(**config)
    return found


def sfn_for(state: AppState) -> Sfn:
    """The Step Functions API's context, as `api.sfn.protocol` builds it for a request, on
    a client that adds a route's memo and search attributes to its starts."""

    async def temporal() -> Client:
        return _with_additions(await state.temporal.client())

    return Sfn(
        settings=state.settings,
        sessions=state.sessions,
        temporal=temporal,
        arns=Arns(state.settings.aws_region, state.settings.aws_account),
        machines=state.sfn_machines,
        histories=state.sfn_histories,
    )


_checked: set[tuple[str, str]] = set()
"""(database, machine): seed machines this process has registered or found current."""


async def ensure_seed_machine(sfn: Sfn, seed: SeedMachine) -> str:
    """Register the seed's state machine, idempotently, and return its ARN.

    `CreateStateMachine` with the seed's definition, role and type: two processes doing so at
    once both succeed (the store refuses the second insert and finds the same machine). A
    machine of that name whose definition was changed (`UpdateStateMachine`) gets the seed's
    definition back, as a new revision: the routes run the seed, not an edit of it. The
    routes do this at their process's first start of each seed, and again if the machine has
    been deleted since; an edit made after that runs until the process restarts.
    """
    arn = sfn.arns.state_machine(seed.name)
    definition = seed.definition_text()
    try:
        await state_machines.create(
            sfn,
            {
                "name": seed.name,
                "definition": definition,
                "roleArn": SEED_ROLE.format(account=sfn.arns.account),
                "type": seed.type,
            },
        )
    except SfnError as err:
        if err.code != "StateMachineAlreadyExists":
            raise
        row = await state_machines.load(sfn, arn)
        if row.type != seed.type:
            log.warning(
                "state machine %s is %s, not %s as its seed: it runs as it is",
                seed.name,
                row.type,
                seed.type,
            )
        if row.definition != definition:
            log.warning("state machine %s had an edited definition: the seed's is put back", arn)
            await state_machines.update(sfn, {"stateMachineArn": arn, "definition": definition})
    return arn


async def _registered(sfn: Sfn, seed: SeedMachine, *, again: bool = False) -> str:
    key = (sfn.settings.database_url or "embedded", seed.name)
    if key in _checked and not again:
        return sfn.arns.state_machine(seed.name)
    arn = await ensure_seed_machine(sfn, seed)
    _checked.add(key)
    return arn


async def start_seed(
    state: AppState,
    seed: SeedMachine,
    value: Any,
    *,
    name: str,
    key: str | None,
    request: Any,
    index: Sequence[SearchAttributePair[Any]] = (),
) -> SeedStarted:
    """Start an execution `name` of the seed's machine with the input `value`, as
    `StartExecution` does. With an Idempotency-Key `key`, `name` must derive from it
    (`api.starts.run_key`); without one, it must be new.

    A repeat of a keyed request returns the execution the key started (`replayed`), running
    or closed; the same key with another `request` body is `IdempotencyConflict`. `index`:
    search attributes that let the run be found by its business id."""
    began = time.perf_counter()
    sfn = sfn_for(state)
    arn = await _registered(sfn, seed)
    print_ = fingerprint(request) if key is not None else None
    params = {
        "stateMachineArn": arn,
        "name": name,
        "input": json.dumps(value, ensure_ascii=False, separators=(",", ":")),
    }
    token = _additions.set(
        _Additions(memo={FINGERPRINT: print_} if print_ else {}, attributes=index)
    )
    try:
        try:
            request_, handle, _ = await _start_registered(sfn, seed, params)
        except SfnError as err:
            if err.code != "ExecutionAlreadyExists":
                raise
            # Only a key names an execution twice: a random name is new.
            return await _repeat(sfn, seed, name, print_, began)
    finally:
        _additions.reset(token)
    run_id = handle.first_execution_run_id
    if run_id is None:
        # StartExecution found this name running with this input: an earlier request's.
        return await _repeat(sfn, seed, name, print_, began)
    wid = executions.workflow_id(seed.name, name)
    return SeedStarted(
        Started(wid, run_id, replayed=False, temporal_ms=since(began)),
        execution_arn=request_.execution_arn,
        name=name,
    )


async def _start_registered(
    sfn: Sfn, seed: SeedMachine, params: dict[str, Any]
) -> tuple[Any, WorkflowHandle[Any, Any], Any]:
    try:
        return await executions.start_or_find(sfn, params)
    except SfnError as err:
        if err.code != "StateMachineDoesNotExist":
            raise
    # Deleted since this process registered it: register it again, once.
    await _registered(sfn, seed, again=True)
    return await executions.start_or_find(sfn, params)


async def _repeat(
    sfn: Sfn, seed: SeedMachine, name: str, print_: str | None, began: float
) -> SeedStarted:
    client = await sfn.temporal()
    wid = executions.workflow_id(seed.name, name)
    described = await client.get_workflow_handle(wid).describe()
    if print_ is None or await described.memo_value(FINGERPRINT, default=None) != print_:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body"
        )
    return SeedStarted(
        Started(wid, described.run_id, replayed=True, temporal_ms=since(began)),
        execution_arn=sfn.arns.execution(seed.name, name),
        name=name,
    )


async def wait_for_ending(
    state: AppState, started: Started, timeout_s: float
) -> executions.Ending | None:
    """How the execution ended, as `StartSyncExecution` reports it; None if it is still
    running after `timeout_s` (it carries on)."""
    client = await state.temporal.client()
    handle = client.get_workflow_handle(started.workflow_id, run_id=started.run_id)
    try:
        return await asyncio.wait_for(executions.ending_of(handle), timeout_s)
    except TimeoutError:
        return None


def execution_name(seed: SeedMachine, workflow_id: str) -> str | None:
    """The execution name in the workflow id of an execution of `seed`'s machine, if it is
    one (`execution-<machine>:<name>`)."""
    prefix = executions.workflow_id(seed.name, "")
    if not workflow_id.startswith(prefix):
        return None
    return workflow_id[len(prefix) :] or None
