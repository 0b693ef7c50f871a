"""Start order processing (seed 002): Validate, Charge, Record.

With `STATEWRIGHT_ENGINE=asl`, `POST /payments` starts seed 002's own state machine; its task
handlers write the same charge and record rows, and its executions carry the same
`PaymentOrderId`, so `GET /payments/{order_id}` reads both alike."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.auth import require
from api.deps import ClientDep, SessionDep, SettingsDep, State
from api.run_view import summary
from api.schemas import (
    ChargeOut,
    ErrorOut,
    PaymentAccepted,
    PaymentIn,
    PaymentOrderIdPath,
    PaymentOut,
)
from api.seed_starts import start_seed
from api.starts import IdempotencyKey, accepted, run_key, run_ref, start_run
from core.models import OrderRecordRow, PaymentRow
from core.search_attributes import PAYMENT_ORDER_ID
from workflows.contracts import PaymentInput, PaymentOrder
from workflows.ids import PAYMENT_RUNS
from workflows.payments import ProcessOrderWorkflow
from workflows.seeds import PROCESS_ORDER

router = APIRouter(tags=["payments"])


@router.post(
    "/payments",
    dependencies=[require("payments:write")],
    status_code=202,
    response_model=PaymentAccepted,
    responses={code: {"model": ErrorOut} for code in (409, 413, 415, 503)},
)
async def process_order(
    body: PaymentIn,
    state: State,
    client: ClientDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Start a `ProcessOrderWorkflow` run. Only shape and types are checked here; an amount
    of 0 or less fails the run's Validate step, where the business rule lives."""
    order = PaymentOrder(order_id=body.order.order_id, amount=body.order.amount)
    index = [SearchAttributePair(PAYMENT_ORDER_ID, order.order_id)]
    if settings.engine == "asl":
        # The seed's input; the amount as a decimal string, which the handlers read exactly.
        execution = await start_seed(
            state,
            PROCESS_ORDER,
            {"order": {"order_id": order.order_id, "amount": str(order.amount)}},
            name=run_key("payments", key),
            key=key,
            request=order.model_dump(mode="json"),
            index=index,
        )
        started = execution.started
        return accepted({"order_id": order.order_id, **run_ref(settings, started)}, started)
    started = await start_run(
        client,
        ProcessOrderWorkflow.run,
        PaymentInput(order=order),
        workflow_id=PAYMENT_RUNS.of(run_key("payments", key)),
        task_queue=settings.task_queue,
        key=key,
        request=order.model_dump(mode="json"),
        index=TypedSearchAttributes(index),
    )
    return accepted({"order_id": order.order_id, **run_ref(settings, started)}, started)


@router.get(
    "/payments/{order_id}",
    dependencies=[require("runs:read")],
    response_model=PaymentOut,
    responses={404: {"model": ErrorOut}},
)
async def get_payment(
    order_id: PaymentOrderIdPath, session: SessionDep, client: ClientDep, settings: SettingsDep
) -> PaymentOut:
    """An order's payment: its charge (one at most), when it was recorded, and the payment
    runs started for it, found by their `PaymentOrderId` search attribute."""
    charge = await session.get(PaymentRow, order_id)
    record = await session.get(OrderRecordRow, order_id)
    await session.close()
    query = f"TaskQueue = '{settings.task_queue}' AND {PAYMENT_ORDER_ID.name} = '{order_id}'"
    runs = [summary(settings, run) async for run in client.list_workflows(query, limit=100)]
    if charge is None and record is None and not runs:
        raise HTTPException(status_code=404, detail=f"no payment for order {order_id!r}")
    return PaymentOut(
        order_id=order_id,
        charge=None
        if charge is None
        else ChargeOut(
            payment_id=charge.payment_id, amount=charge.amount, charged_at=charge.charged_at
        ),
        recorded_at=record.recorded_at if record else None,
        runs=runs,
    )
