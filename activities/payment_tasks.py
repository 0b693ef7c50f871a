"""Seed 002's three Lambda functions, as task handlers: `ValidateOrderFunction`,
`ChargeCustomerFunction` and `RecordOrderFunction`.

Each takes `{"order": {"order_id": "o-1", "amount": 19.99}}` (the amount a number or a
decimal string) and returns its input with its own fields added to the order, since the
seed's plain Lambda tasks hand each output on as the next input: Validate adds
`validated: true`, Charge `payment_id` and `charged: true`, Record `recorded_at`, and a
`status` of RECORDED.

The work is the hand-written `PaymentActivities`' own, called as they are, so the guarantees
and the rows are the same: the amount must be positive (else `InvalidOrder`); the payment id
derives from the order id, so a retry, or a second execution for the same order, finds the
first charge and never charges twice (at another amount: `PaymentConflict`); a declined
charge is `PaymentDeclined`; the record is written once per order. Those are the error names
the hand-written workflow reports. A provider outage is not an error of the task: it is
retried below the state until the provider answers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import BaseModel, Field, StringConstraints, ValidationError
from temporalio.exceptions import ApplicationError

from activities.payment_provider import PaymentProvider
from activities.payments import PaymentActivities
from activities.task_handlers import TaskContext, execution_workflow_id, lambda_error, task
from core.models import ID_LENGTH
from workflows.contracts import ChargedOrder, RecordRequest, ValidatedOrder

RECORDED: Final = "RECORDED"


class SeedOrder(BaseModel):
    """The order as the seed's sample gives it: shape and types only, as `POST /payments`
    checks them. Whether the amount is acceptable is Validate's business."""

    order_id: Annotated[str, StringConstraints(min_length=1, max_length=ID_LENGTH)]
    amount: Decimal = Field(allow_inf_nan=False, max_digits=12, decimal_places=2)


class InvalidOrder(Exception):
    """The order fails the business check, or is not an order at all. Named as the
    hand-written workflow's error (`workflows.contracts.INVALID_ORDER`), since a handler's
    error is its exception's class name."""


def _order(event: Any) -> tuple[dict[str, Any], dict[str, Any], SeedOrder]:
    """(the whole input, its order as given, the order parsed)."""
    given = event.get("order") if isinstance(event, dict) else None
    if not isinstance(given, dict):
        raise InvalidOrder("the input has no order: expected {'order': {'order_id', 'amount'}}")
    try:
        parsed = SeedOrder.model_validate(
            {"order_id": given.get("order_id"), "amount": given.get("amount")}
        )
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in err.errors()
        )
        raise InvalidOrder(f"the order is not valid: {problems}") from None
    return event, given, parsed


def _activities(context: TaskContext) -> PaymentActivities:
    if context.sessions is None or context.provider is None:
        raise RuntimeError("this handler needs the worker's database and payment provider")
    provider: PaymentProvider = context.provider
    return PaymentActivities(context.sessions, provider)


def _with_order(event: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    # The amount goes on as the caller wrote it (a number stays a number), never re-rounded.
    return {**event, "order": order}


@task("ValidateOrderFunction", local=True)
async def validate_order(event: Any, context: TaskContext) -> dict[str, Any]:
    """The business rule: the amount must be greater than 0."""
    event, given, order = _order(event)
    if order.amount <= 0:
        raise InvalidOrder("amount must be greater than 0")
    return _with_order(event, {**given, "validated": True})


@task("ChargeCustomerFunction")
async def charge_customer(event: Any, context: TaskContext) -> dict[str, Any]:
    """Charge the order once, however often this runs and however many executions ask.

    A regular activity, as the hand-written Charge: the provider's latency is not ours to
    bound, and a worker lost mid-call is noticed by its missing heartbeat.
    """
    event, given, order = _order(event)
    # Charging never relies on Validate having run: a definition may call Charge directly.
    if order.amount <= 0:
        raise InvalidOrder("amount must be greater than 0")
    validated = ValidatedOrder(order_id=order.order_id, amount=order.amount, validated=True)
    try:
        charged = await _activities(context).charge_payment(validated)
    except ApplicationError as err:
        raise lambda_error(err) from None
    return _with_order(
        event, {**given, "validated": True, "payment_id": charged.payment_id, "charged": True}
    )


@task("RecordOrderFunction", local=True)
async def record_order(event: Any, context: TaskContext) -> dict[str, Any]:
    """Save the processed order once, with the payment; a repeat keeps the first record."""
    event, given, order = _order(event)
    payment_id = given.get("payment_id")
    if not isinstance(payment_id, str) or not payment_id:
        raise InvalidOrder("the order has no payment_id: Record runs after Charge")
    charged = ChargedOrder(
        order_id=order.order_id,
        amount=order.amount,
        validated=True,
        payment_id=payment_id,
        charged=True,
    )
    request = RecordRequest(order=charged, workflow_id=execution_workflow_id(context.execution_arn))
    try:
        processed = await _activities(context).record_order(request)
    except ApplicationError as err:
        raise lambda_error(err) from None
    recorded = {**given, "recorded_at": processed.recorded_at.isoformat()}
    return {**_with_order(event, recorded), "status": RECORDED}
