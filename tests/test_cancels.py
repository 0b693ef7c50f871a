"""A cancel at any step leaves a consistent world: what the run reports is what happened.

The probe: orders cancelled right after they started, and 9 in 40 ended CANCELED with the order
COMPLETED and its stock taken. The cancel reached the server while the first workflow task's
local activities ran. They wrote to the database, but the server refused that task's
completion (an event it had not seen), so nothing of it was recorded. The next attempt saw
the cancel first and assumed that nothing had been written.

Here a step is held, after it has really run, until the cancel has reached the server: no
race, the same interleaving every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle

from activities.cart_inventory import CartInventoryActivities
from activities.orders import OrderActivities
from activities.payment_provider import SimulatedPaymentProvider
from activities.payments import PaymentActivities
from activities.webhooks import WebhookActivities
from core.db import SessionFactory
from core.models import PaymentRow, WebhookEventRow
from statewright.bench.invariants import assert_stock_invariants
from tests.helpers import (
    activity_name,
    ledger_rows,
    order_status,
    start_order,
    stock_items,
    worker_with,
)
from workflows.contracts import (
    CreateOrderInput,
    OrderLine,
    OrderRef,
    PaymentInput,
    PaymentOrder,
    WebhookInput,
    order_workflow_id,
)
from workflows.orders import CreateOrderWorkflow
from workflows.payments import ProcessOrderWorkflow
from workflows.webhooks import WebhookWorkflow


class CancelGate:
    """Holds the first call of one step, after it has run for real, until the test says the
    cancel has reached the server. Later calls (the run's next attempts) pass straight on."""

    def __init__(self) -> None:
        self.ran = asyncio.Event()
        self.cancel_sent = asyncio.Event()

    def hold(self, real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """`real`, registered under its own name and signature, held as the class says."""

        async def held(arg: Any) -> Any:
            result = await real(arg)
            if not self.ran.is_set():
                self.ran.set()
                await self.cancel_sent.wait()
            return result

        # Its signature, for the argument's type; not its attributes, which hold its own
        # activity definition.
        functools.update_wrapper(held, real, updated=())
        return activity.defn(name=activity_name(real))(held)

    async def cancel(self, handle: WorkflowHandle[Any, Any]) -> None:
        await self.ran.wait()
        await handle.cancel()
        self.cancel_sent.set()


async def final_status(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionStatus | None:
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()
    return (await handle.describe()).status


ORDER_STEPS = ["check_stock", "create_order", "reserve_stock", "complete_order"]


@pytest.mark.parametrize("held_step", ORDER_STEPS)
async def test_an_order_cancelled_while_a_step_runs_reports_what_happened(
    held_step: str, client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """The attempt that was not recorded ran every step and completed the order: the run
    reports COMPLETED (before: CANCELED, with the order COMPLETED and its stock taken)."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 10, b: 10})
    steps: dict[str, Callable[..., Awaitable[Any]]] = {
        "check_stock": CartInventoryActivities(sessions).check_stock,
        "create_order": OrderActivities(sessions).create_order,
        "reserve_stock": CartInventoryActivities(sessions).reserve_stock,
        "complete_order": OrderActivities(sessions).complete_order,
    }
    gate = CancelGate()

    async with worker_with(client, task_queue, sessions, gate.hold(steps[held_step])):
        order_id, handle = await start_order(client, task_queue, **{a: 2, b: 3})
        await gate.cancel(handle)
        status = await final_status(handle)

    await assert_order_consistent(sessions, order_id, status, [a, b])
    assert status == WorkflowExecutionStatus.COMPLETED


@pytest.mark.parametrize("written", ["nothing", "created", "created and reserved", "completed"])
async def test_a_cancel_seen_first_undoes_what_an_unrecorded_attempt_wrote(
    written: str, client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """The run's first recorded activation holds the cancel, yet an earlier attempt that was
    never recorded may have written anything. Whatever it wrote is undone, unless the order
    completed: then the run reports that."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 10, b: 10})
    order = CreateOrderInput(
        order_id=f"{item_prefix}-order",
        lines=[OrderLine(item_id=a, quantity=2), OrderLine(item_id=b, quantity=3)],
    )
    orders, inventory = OrderActivities(sessions), CartInventoryActivities(sessions)
    if written != "nothing":
        await orders.create_order(order)
    if written in ("created and reserved", "completed"):
        await inventory.reserve_stock(order)
    if written == "completed":
        await orders.complete_order(OrderRef(order_id=order.order_id))
    # No worker polls yet, so the cancel is in the history before the first workflow task.
    handle = await client.start_workflow(
        CreateOrderWorkflow.run,
        order,
        id=order_workflow_id(order.order_id),
        task_queue=task_queue,
    )
    await handle.cancel()

    async with worker_with(client, task_queue, sessions):
        status = await final_status(handle)

    await assert_order_consistent(sessions, order.order_id, status, [a, b])
    expected = "COMPLETED" if written == "completed" else "CANCELED"
    assert status == WorkflowExecutionStatus[expected]
    if expected == "CANCELED":
        assert await order_status(sessions, order.order_id) == "FAILED"
        assert await ledger_rows(sessions, order.order_id) == {a: "released", b: "released"}


async def assert_order_consistent(
    sessions: SessionFactory,
    order_id: str,
    status: WorkflowExecutionStatus | None,
    items: list[str],
) -> None:
    """A CANCELED run took no stock and left no completed order; a COMPLETED one did both."""
    order = await order_status(sessions, order_id)
    held = [
        i for i, state in (await ledger_rows(sessions, order_id)).items() if state == "reserved"
    ]
    if status == WorkflowExecutionStatus.CANCELED:
        assert order in (None, "FAILED"), f"a CANCELED run left its order {order}"
        assert held == [], "a CANCELED order took no stock"
    else:
        assert status == WorkflowExecutionStatus.COMPLETED, status
        assert order == "COMPLETED"
        assert sorted(held) == sorted(items)
    await assert_stock_invariants(sessions, items)


@pytest.mark.parametrize("held_step", ["validate_order", "charge_payment", "record_order"])
async def test_a_payment_cancelled_at_any_step_is_consistent(
    held_step: str, client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """Money moved means the run completes and records it; a CANCELED payment charged nothing."""
    payments = PaymentActivities(sessions, SimulatedPaymentProvider(Decimal("1000.00")))
    steps: dict[str, Callable[..., Awaitable[Any]]] = {
        "validate_order": payments.validate_order,
        "charge_payment": payments.charge_payment,
        "record_order": payments.record_order,
    }
    gate = CancelGate()
    held = gate.hold(steps[held_step])
    order_id = f"{item_prefix}-pay"
    request = PaymentInput(order=PaymentOrder(order_id=order_id, amount=Decimal("12.50")))

    async with worker_with(client, task_queue, sessions, held):
        handle = await client.start_workflow(
            ProcessOrderWorkflow.run, request, id=f"payment-{order_id}", task_queue=task_queue
        )
        await gate.cancel(handle)
        status = await final_status(handle)

    async with sessions() as session:
        charged = await session.scalar(
            select(func.count()).select_from(PaymentRow).where(PaymentRow.order_id == order_id)
        )
    if status == WorkflowExecutionStatus.CANCELED:
        assert charged == 0, "a CANCELED payment charged the order"
    else:
        assert status == WorkflowExecutionStatus.COMPLETED, status
        assert charged == 1


async def test_a_webhook_cancelled_while_it_is_stored_is_consistent(
    client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """A CANCELED webhook run has no stored row; a COMPLETED one has exactly one."""
    gate = CancelGate()
    held = gate.hold(WebhookActivities(sessions).store_webhook)
    workflow_id = f"webhook-{item_prefix}"
    webhook = WebhookInput(payload={"event": "cancel-me"}, received_at=datetime.now(UTC))

    async with worker_with(client, task_queue, sessions, held):
        handle = await client.start_workflow(
            WebhookWorkflow.run, webhook, id=workflow_id, task_queue=task_queue
        )
        await gate.cancel(handle)
        status = await final_status(handle)

    async with sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(WebhookEventRow)
            .where(WebhookEventRow.workflow_id == workflow_id)
        )
    if status == WorkflowExecutionStatus.CANCELED:
        assert rows == 0, "a CANCELED webhook run left its payload stored"
    else:
        assert status == WorkflowExecutionStatus.COMPLETED, status
        assert rows == 1
