"""CreateOrderWorkflow against a real Temporal server and a real Postgres."""

from __future__ import annotations

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.inventory import InventoryActivities
from api.runs import describe_run
from core.db import SessionFactory
from core.invariants import assert_stock_invariants
from core.settings import Settings
from tests.helpers import (
    count_orders,
    ledger_rows,
    order_status,
    start_order,
    stock_items,
    stock_of,
    worker_with,
)
from workflows.contracts import LedgerResult, StockRequest, order_workflow_id


async def test_in_stock_order_completes_and_takes_stock(
    client: Client, worker: object, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 5, b: 3})

    order_id, handle = await start_order(client, task_queue, **{a: 2, b: 3})
    result = await handle.result()

    assert result.status == "COMPLETED"
    assert [line.item_id for line in result.lines] == [a, b]
    assert await stock_of(sessions, a) == 3
    assert await stock_of(sessions, b) == 0
    assert await order_status(sessions, order_id) == "COMPLETED"
    assert await ledger_rows(sessions, order_id) == {a: "reserved", b: "reserved"}
    await assert_stock_invariants(sessions, [a, b])


async def test_out_of_stock_fails_and_writes_nothing(
    client: Client, worker: object, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 5, b: 1})

    order_id, handle = await start_order(client, task_queue, **{a: 2, b: 2})
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "NotInStock"
    assert cause.message == f"not in stock: {b} (requested 2, available 1)"
    assert await count_orders(sessions, order_id) == 0
    assert await ledger_rows(sessions, order_id) == {}
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (5, 1)


async def test_lost_race_is_compensated(
    client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """Both lines pass the check; then a rival takes all of b before our decrement runs."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 5, b: 5})
    inventory = InventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_after_rival(request: StockRequest) -> LedgerResult:
        if request.item_id == b:
            await stock_items(sessions, **{b: 0})
        return await inventory.reserve_stock(request)

    async with worker_with(client, task_queue, sessions, reserve_after_rival):
        order_id, handle = await start_order(client, task_queue, **{a: 2, b: 1})
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.message == f"not in stock: {b} (requested 1, available 0)"
    assert await stock_of(sessions, a) == 5, "stock taken for line a must be given back"
    assert await stock_of(sessions, b) == 0
    assert await order_status(sessions, order_id) == "FAILED"
    assert (await ledger_rows(sessions, order_id))[a] == "released"
    await assert_stock_invariants(sessions, [a, b])


async def test_retried_decrement_applies_once(
    client: Client, task_queue: str, sessions: SessionFactory, settings: Settings, item_prefix: str
) -> None:
    """The decrement commits, then its worker 'crashes' before reporting; the retry is a no-op."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 10})
    inventory = InventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_then_crash(request: StockRequest) -> LedgerResult:
        result = await inventory.reserve_stock(request)
        if activity.info().attempt == 1:
            raise RuntimeError("lost the connection after commit")
        return result

    async with worker_with(client, task_queue, sessions, reserve_then_crash):
        order_id, handle = await start_order(client, task_queue, **{a: 3})
        result = await handle.result()

    assert result.status == "COMPLETED"
    assert await stock_of(sessions, a) == 7, "applied exactly once despite the retry"
    run = await describe_run(client, settings, order_workflow_id(order_id))
    assert run is not None
    reserve = next(step for step in run.steps if step.name == "reserve_stock")
    assert reserve.attempts == 2
    assert reserve.result["changed_stock"] is False, "the retry found the work already done"
    await assert_stock_invariants(sessions, [a])


async def test_release_before_decrement_blocks_a_late_decrement(
    sessions: SessionFactory, item_prefix: str
) -> None:
    """A decrement cancelled mid-flight may run after the compensation: it must take nothing."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 4})
    inventory = InventoryActivities(sessions)
    line = StockRequest(order_id=f"{item_prefix}-order", item_id=a, quantity=3)

    released = await inventory.release_stock(line)
    late = await inventory.reserve_stock(line)
    again = await inventory.release_stock(line)

    assert (released.state, released.changed_stock) == ("released", False)
    assert (late.state, late.changed_stock) == ("released", False)
    assert (again.state, again.changed_stock) == ("released", False)
    assert await stock_of(sessions, a) == 4


async def test_reserve_and_release_are_idempotent(
    sessions: SessionFactory, item_prefix: str
) -> None:
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 4})
    inventory = InventoryActivities(sessions)
    line = StockRequest(order_id=f"{item_prefix}-order", item_id=a, quantity=3)

    first, second = await inventory.reserve_stock(line), await inventory.reserve_stock(line)
    assert (first.changed_stock, second.changed_stock) == (True, False)
    assert await stock_of(sessions, a) == 1

    first, second = await inventory.release_stock(line), await inventory.release_stock(line)
    assert (first.changed_stock, second.changed_stock) == (True, False)
    assert await stock_of(sessions, a) == 4
