"""Start an order run (and the seed's route), and read an order back.

With `STATEWRIGHT_ENGINE=asl` the routes start seed 000's own state machine instead of
`CreateOrderWorkflow`; the order id they answer with is then the execution's name, and the
order row is the one its `createOrder` handler writes (`workflows.seed_ids.order_id_of`).
Reads find an order either way, whichever engine started it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.auth import require
from api.deps import ClientDep, SessionDep, SettingsDep, State
from api.errors import unprocessable
from api.run_view import describe_run
from api.schemas import (
    ErrorOut,
    OrderAccepted,
    OrderIdPath,
    OrderIn,
    OrderLineIn,
    OrderLineOut,
    OrderOut,
    RunError,
    SeedCartIn,
)
from api.seed_starts import start_seed
from api.sfn.arns import Arns
from api.sfn.executions import workflow_id as execution_workflow_id
from api.starts import IdempotencyKey, accepted, run_key, run_ref, start_run
from core.models import OrderRow, StoreItemRow
from core.search_attributes import ORDER_ID
from core.settings import Settings
from workflows.contracts import CreateOrderInput, OrderLine, order_workflow_id
from workflows.orders import CreateOrderWorkflow
from workflows.seed_ids import order_id_of
from workflows.seeds import SHOPPING_ORDER

router = APIRouter(tags=["orders"])

START_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (409, 413, 415, 503)
}


@router.post(
    "/orders",
    dependencies=[require("orders:write")],
    status_code=202,
    response_model=OrderAccepted,
    responses=START_RESPONSES,
)
async def create_order(
    body: OrderIn,
    state: State,
    client: ClientDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a `CreateOrderWorkflow` run for the cart and answer at once."""
    return await _start(state, body.order, ("body", "order"), client, settings, key)


@router.post(
    "/create-order",
    dependencies=[require("orders:write")],
    status_code=202,
    response_model=OrderAccepted,
    responses=START_RESPONSES,
    summary="Seed route: the body is a bare array of `{itemId, quantity}`",
)
async def create_order_seed(
    body: SeedCartIn,
    state: State,
    client: ClientDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return await _start(state, body.root, ("body",), client, settings, key)


async def _start(
    state: State,
    lines: list[OrderLineIn],
    loc: tuple[str, ...],
    client: ClientDep,
    settings: SettingsDep,
    key: str | None,
) -> JSONResponse:
    item_ids = [line.item_id for line in lines]
    # Store items are never deleted, so an id once seen stays known: only new ids cost a
    # query, and a session is opened only for them.
    seen = state.known_items
    unseen = [item_id for item_id in item_ids if item_id not in seen]
    if unseen:
        async with state.sessions() as session:
            query = select(StoreItemRow.item_id).where(StoreItemRow.item_id.in_(unseen))
            seen.update(await session.scalars(query))
    for index, item_id in enumerate(item_ids):
        if item_id not in seen:
            return unprocessable((*loc, index, "item_id"), f"unknown store item {item_id!r}")

    cart = [OrderLine(item_id=line.item_id, quantity=line.quantity) for line in lines]
    if settings.engine == "asl":
        return await _start_seed(state, cart, settings, key)
    # Both order routes share one key space: the same cart under the same key is one order.
    order_id = run_key("orders", key)
    queue = state.eager.start_queue(settings.task_queue)
    started = await start_run(
        client,
        CreateOrderWorkflow.run,
        CreateOrderInput(order_id=order_id, lines=cart),
        workflow_id=order_workflow_id(order_id),
        task_queue=queue.task_queue,
        eager=queue.eager,
        key=key,
        request=[line.model_dump() for line in cart],
        index=TypedSearchAttributes([SearchAttributePair(ORDER_ID, order_id)]),
    )
    return accepted({"order_id": order_id, **run_ref(settings, started)}, started)


async def _start_seed(
    state: State, cart: list[OrderLine], settings: Settings, key: str | None
) -> JSONResponse:
    """Seed 000's machine, with the seed's input; the order id is the execution's name."""
    order_id = run_key("orders", key)
    execution = await start_seed(
        state,
        SHOPPING_ORDER,
        {"order": [{"itemId": line.item_id, "quantity": line.quantity} for line in cart]},
        name=order_id,
        key=key,
        request=[line.model_dump() for line in cart],
        index=[SearchAttributePair(ORDER_ID, order_id)],
    )
    return accepted(
        {"order_id": order_id, **run_ref(settings, execution.started)}, execution.started
    )


def seed_order_row_id(settings: Settings, order_id: str) -> str:
    """The row seed 000's handlers write for the order the asl routes named `order_id`."""
    arns = Arns(settings.aws_region, settings.aws_account)
    return order_id_of(arns.execution(SHOPPING_ORDER.name, order_id))


@router.get(
    "/orders/{order_id}",
    dependencies=[require("runs:read")],
    response_model=OrderOut,
    responses={404: {"model": ErrorOut}},
)
async def get_order(
    order_id: OrderIdPath, session: SessionDep, client: ClientDep, settings: SettingsDep
) -> OrderOut:
    """The order as stored; before it is stored (or if it never was), what its run says.
    An order of seed 000's machine (`STATEWRIGHT_ENGINE=asl`) is found too, by its name."""
    workflow_id = order_workflow_id(order_id)
    seed_workflow_id = execution_workflow_id(SHOPPING_ORDER.name, order_id)
    order = await session.get(OrderRow, order_id)
    if order is None:
        order = await session.get(OrderRow, seed_order_row_id(settings, order_id))
        # Its row names the execution by ARN: a run is followed by its workflow id.
        shown_id = seed_workflow_id
    else:
        shown_id = order.workflow_id
    if order is not None:
        return OrderOut(
            order_id=order_id,
            status=order.status,
            failure_reason=order.failure_reason,
            lines=[OrderLineOut(item_id=ln.item_id, quantity=ln.quantity) for ln in order.lines],
            workflow_id=shown_id,
            status_url=f"/runs/{shown_id}",
            created_at=order.created_at,
            updated_at=order.updated_at,
        )
    await session.close()
    run = await describe_run(client, settings, workflow_id)
    if run is None:
        workflow_id = seed_workflow_id
        run = await describe_run(client, settings, workflow_id)
    if run is None:
        raise HTTPException(status_code=404, detail=f"order {order_id!r} not found")
    return OrderOut(
        order_id=order_id,
        status="PENDING" if run.status == "RUNNING" else "REJECTED",
        failure_reason=_failure_reason(run.error),
        lines=[OrderLineOut(item_id=ln.item_id, quantity=ln.quantity) for ln in _lines(run.input)],
        workflow_id=workflow_id,
        status_url=f"/runs/{workflow_id}",
        created_at=run.started_at,
        updated_at=run.closed_at,
    )


def _lines(run_input: Any) -> list[OrderLine]:
    """The cart a run was started with: a `CreateOrderInput`, or seed 000's execution input."""
    try:
        return CreateOrderInput.model_validate(run_input).lines
    except ValidationError:
        pass
    seed_input = run_input.get("input") if isinstance(run_input, dict) else None
    cart = seed_input.get("order") if isinstance(seed_input, dict) else None
    try:
        return [OrderLine(item_id=line["itemId"], quantity=line["quantity"]) for line in cart or []]
    except (KeyError, TypeError, ValidationError):
        return []  # a run started some other way, with an input that is not an order


def _failure_reason(error: RunError | None) -> str | None:
    if error is None:
        return None
    # A task handler's error is Lambda's error document: its errorMessage is the reason.
    try:
        document = json.loads(error.message)
    except ValueError:
        return error.message
    reason = document.get("errorMessage") if isinstance(document, dict) else None
    return reason if isinstance(reason, str) else error.message
