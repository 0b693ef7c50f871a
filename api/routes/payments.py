"""Start order processing (seed 002): Validate, Charge, Record."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.auth import require
from api.deps import ClientDep, SettingsDep
from api.schemas import ErrorOut, PaymentAccepted, PaymentIn
from api.starts import IdempotencyKey, accepted, run_key, run_ref, start_run
from workflows.contracts import PaymentInput, PaymentOrder
from workflows.payments import ProcessOrderWorkflow

router = APIRouter(tags=["payments"])


@router.post(
    "/payments",
    dependencies=[require("payments:write")],
    status_code=202,
    response_model=PaymentAccepted,
    responses={code: {"model": ErrorOut} for code in (409, 413, 415, 503)},
)
async def process_order(
    body: PaymentIn, client: ClientDep, settings: SettingsDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Start a `ProcessOrderWorkflow` run. Only shape and types are checked here; an amount
    of 0 or less fails the run's Validate step, where the business rule lives."""
    order = PaymentOrder(order_id=body.order.order_id, amount=body.order.amount)
    started = await start_run(
        client,
        ProcessOrderWorkflow.run,
        PaymentInput(order=order),
        workflow_id=f"payment-{run_key('payments', key)}",
        task_queue=settings.task_queue,
        key=key,
        request=order.model_dump(mode="json"),
    )
    return accepted({"order_id": order.order_id, **run_ref(settings, started)}, started)
