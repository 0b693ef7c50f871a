"""CreateOrderWorkflow against a real Temporal server and a real Postgres."""

from __future__ import annotations

import asyncio

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.cart_inventory import CartInventoryActivities
from activities.orders import OrderActivities
from api.run_view import describe_run
from core.db import SessionFactory
from core.settings import Settings
from statewright.bench.invariants import assert_stock_invariants
from tests.helpers import (
    count_orders,
    ledger_rows,
    order_status,
    start_order,
    stock_items,
    stock_of,
    worker_with,
)
from workflows.contracts import (
    CartLedgerResult,
    CreateOrderInput,
    FailOrderInput,
    OrderLine,
    order_workflow_id,
)
from workflows.orders import CreateOrderWorkflow


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
    inventory = CartInventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_after_rival(order: CreateOrderInput) -> CartLedgerResult:
        await stock_items(sessions, **{b: 0})
        return await inventory.reserve_stock(order)

    async with worker_with(client, task_queue, sessions, reserve_after_rival):
        order_id, handle = await start_order(client, task_queue, **{a: 2, b: 1})
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.message == f"not in stock: {b} (requested 1, available 0)"
    assert await stock_of(sessions, a) == 5, "a cart is taken whole or not at all"
    assert await stock_of(sessions, b) == 0
    assert await order_status(sessions, order_id) == "FAILED"
    assert await ledger_rows(sessions, order_id) == {a: "released", b: "released"}
    await assert_stock_invariants(sessions, [a, b])


async def test_retried_decrement_applies_once(
    client: Client, task_queue: str, sessions: SessionFactory, settings: Settings, item_prefix: str
) -> None:
    """The decrement commits, then its worker 'crashes' before reporting; the retry is a no-op."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 10})
    inventory = CartInventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_then_crash(order: CreateOrderInput) -> CartLedgerResult:
        result = await inventory.reserve_stock(order)
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


async def run_order_again(client: Client, task_queue: str, order: CreateOrderInput) -> object:
    """The run of an order whose steps an earlier, unrecorded attempt already ran."""
    return await client.execute_workflow(
        CreateOrderWorkflow.run,
        order,
        id=order_workflow_id(order.order_id),
        task_queue=task_queue,
    )


async def test_an_attempt_after_a_crash_completes_the_order_it_placed(
    client: Client, worker: object, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """Local activities' results are recorded when their workflow task completes. A worker that
    dies after the decrement leaves no record, so the next attempt checks stock again: the
    stock is gone, taken by this very order, and the order must still complete."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 2, b: 1})
    order = cart(f"{item_prefix}-order", **{a: 2, b: 1})
    await OrderActivities(sessions).create_order(order)
    await CartInventoryActivities(sessions).reserve_stock(order)
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (0, 0)

    result = await run_order_again(client, task_queue, order)

    assert getattr(result, "status", None) == "COMPLETED"
    assert await order_status(sessions, order.order_id) == "COMPLETED"
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (0, 0), "taken once"
    await assert_stock_invariants(sessions, [a, b])


async def test_an_attempt_after_a_crash_keeps_a_compensated_order_failed(
    client: Client, worker: object, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """The earlier attempt lost a race and compensated, then its worker died unrecorded."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 5})
    order = cart(f"{item_prefix}-order", **{a: 2})
    inventory = CartInventoryActivities(sessions)
    await OrderActivities(sessions).create_order(order)
    await inventory.reserve_stock(order)
    await inventory.release_stock(order)
    reason = f"not in stock: {a} (requested 2, available 0)"
    await OrderActivities(sessions).fail_order(FailOrderInput(order=order, reason=reason))

    with pytest.raises(WorkflowFailureError) as failure:
        await run_order_again(client, task_queue, order)

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "AlreadyCompensated"
    assert await order_status(sessions, order.order_id) == "FAILED"
    assert await stock_of(sessions, a) == 5
    await assert_stock_invariants(sessions, [a])


async def test_an_attempt_after_a_crash_compensates_an_order_it_only_created(
    client: Client, worker: object, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """The earlier attempt wrote the order, then died before its decrement; meanwhile the stock
    went to someone else. The run must fail the order, not leave it pending."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 1})
    order = cart(f"{item_prefix}-order", **{a: 2})
    await OrderActivities(sessions).create_order(order)

    with pytest.raises(WorkflowFailureError) as failure:
        await run_order_again(client, task_queue, order)

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.message == f"not in stock: {a} (requested 2, available 1)"
    assert await order_status(sessions, order.order_id) == "FAILED"
    assert await stock_of(sessions, a) == 1
    await assert_stock_invariants(sessions, [a])


def cart(order_id: str, **lines: int) -> CreateOrderInput:
    return CreateOrderInput(
        order_id=order_id,
        lines=[OrderLine(item_id=item, quantity=qty) for item, qty in lines.items()],
    )


async def test_short_cart_takes_nothing_and_names_the_first_short_line(
    sessions: SessionFactory, item_prefix: str
) -> None:
    a, b, c = f"{item_prefix}-a", f"{item_prefix}-b", f"{item_prefix}-c"
    await stock_items(sessions, **{a: 5, b: 1, c: 0})
    inventory = CartInventoryActivities(sessions)
    order = cart(f"{item_prefix}-order", **{a: 2, b: 2, c: 1})

    with pytest.raises(ApplicationError) as short:
        await inventory.reserve_stock(order)

    assert short.value.type == "NotInStock"
    assert short.value.message == f"not in stock: {b} (requested 2, available 1)"
    assert [await stock_of(sessions, item) for item in (a, b, c)] == [5, 1, 0]
    assert await ledger_rows(sessions, order.order_id) == {}


async def test_cart_check_refuses_an_item_twice(sessions: SessionFactory, item_prefix: str) -> None:
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 5})
    order = CreateOrderInput(
        order_id=f"{item_prefix}-order",
        lines=[OrderLine(item_id=a, quantity=1), OrderLine(item_id=a, quantity=2)],
    )
    with pytest.raises(ApplicationError) as refused:
        await CartInventoryActivities(sessions).check_stock(order)
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidCart", True)


async def test_cart_release_before_decrement_blocks_a_late_decrement(
    sessions: SessionFactory, item_prefix: str
) -> None:
    """A cart decrement cancelled mid-flight may land after the compensation: it takes nothing."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 4, b: 4})
    inventory = CartInventoryActivities(sessions)
    order = cart(f"{item_prefix}-order", **{a: 3, b: 1})

    released = await inventory.release_stock(order)
    late = await inventory.reserve_stock(order)
    again = await inventory.release_stock(order)

    assert (released.state, released.changed_stock) == ("released", False)
    assert (late.state, late.changed_stock) == ("released", False)
    assert (again.state, again.changed_stock) == ("released", False)
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (4, 4)
    assert await ledger_rows(sessions, order.order_id) == {a: "released", b: "released"}


async def test_cart_reserve_and_release_are_idempotent(
    sessions: SessionFactory, item_prefix: str
) -> None:
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 4, b: 2})
    inventory = CartInventoryActivities(sessions)
    order = cart(f"{item_prefix}-order", **{a: 3, b: 2})

    first, second = (
        await inventory.reserve_stock(order),
        await inventory.reserve_stock(order),
    )
    assert (first.changed_stock, second.changed_stock) == (True, False)
    assert second.state == "reserved"
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (1, 0)

    first, second = (
        await inventory.release_stock(order),
        await inventory.release_stock(order),
    )
    assert (first.changed_stock, second.changed_stock) == (True, False)
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (4, 2)
    await assert_stock_invariants(sessions, [a, b])


async def test_concurrent_carts_sharing_items_neither_deadlock_nor_oversell(
    sessions: SessionFactory, item_prefix: str
) -> None:
    """Carts list the same items in opposite orders and race for too little stock."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 7, b: 7})
    inventory = CartInventoryActivities(sessions)
    orders = [
        cart(f"{item_prefix}-{n}", **({a: 1, b: 1} if n % 2 else {b: 1, a: 1})) for n in range(20)
    ]

    outcomes = await asyncio.gather(
        *(inventory.reserve_stock(order) for order in orders), return_exceptions=True
    )

    taken = [o for o in outcomes if isinstance(o, CartLedgerResult)]
    short = [o for o in outcomes if isinstance(o, ApplicationError) and o.type == "NotInStock"]
    assert len(taken) == 7 and len(short) == 13, outcomes
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (0, 0)
    for order in orders:
        rows = await ledger_rows(sessions, order.order_id)
        assert rows in ({}, {a: "reserved", b: "reserved"}), "each cart is taken whole or not"
