"""Pydantic models that cross Temporal: workflow inputs and results, activity inputs and results.

These are recorded in workflow histories, so a field may be added with a default but never
renamed or removed without a `workflow.patched()` plan.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

OrderStatus = Literal["PENDING", "COMPLETED", "FAILED"]
LedgerState = Literal["reserved", "released"]

NOT_IN_STOCK = "NotInStock"
"""Error type of a failed stock check or a lost decrement race; never retried."""


def order_workflow_id(order_id: str) -> str:
    """Workflow id of an order's run; the API and the order rows both use it."""
    return f"order-{order_id}"


class OrderLine(BaseModel):
    item_id: str
    quantity: int


class CreateOrderInput(BaseModel):
    order_id: str
    lines: list[OrderLine]


class CreateOrderResult(BaseModel):
    order_id: str
    status: OrderStatus
    lines: list[OrderLine]


class StockRequest(BaseModel):
    """One line of one order, as the check, decrement and release steps see it."""

    order_id: str
    item_id: str
    quantity: int


class StockCheck(BaseModel):
    item_id: str
    requested: int
    available: int


class LedgerResult(BaseModel):
    """Outcome of a decrement or a release, keyed by (order, item) in the stock ledger."""

    order_id: str
    item_id: str
    quantity: int
    state: LedgerState
    changed_stock: bool
    """False when a retry found the work already done, or when a release found nothing taken."""


class OrderRef(BaseModel):
    order_id: str


class FailOrderInput(BaseModel):
    order: CreateOrderInput
    reason: str


class OrderRecord(BaseModel):
    order_id: str
    status: OrderStatus
