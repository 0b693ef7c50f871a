"""Carts that share items, listed in opposite orders, with ample stock: nothing deadlocks.

The probe that found it: half the carts list A then B, half B then A. Creating an order writes
its lines in cart order, and each line's foreign-key check takes FOR KEY SHARE on the store
item; the decrement locked the same rows FOR UPDATE in item order. The lock orders crossed,
and Postgres killed one transaction of each cycle.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from temporalio.client import Client

from activities.cart_inventory import CartInventoryActivities
from core.db import SessionFactory
from core.settings import Settings
from statewright.bench.invariants import assert_stock_invariants
from tests.helpers import start_order, stock_items, stock_of
from workflows.contracts import CreateOrderInput, OrderLine

AMPLE = 100_000


async def deadlocks_so_far(sessions: SessionFactory) -> int:
    """Deadlocks Postgres has detected in this database since it started."""
    async with sessions() as session:
        await session.execute(text("SELECT pg_stat_force_next_flush()"))
    async with sessions() as session:
        await session.execute(text("SET stats_fetch_consistency = none"))
        count = await session.scalar(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        )
    return int(count or 0)


async def test_a_decrement_does_not_wait_for_an_order_line_being_written(
    sessions: SessionFactory, item_prefix: str
) -> None:
    """Another order's lines are being written (uncommitted) for the same item: their
    foreign-key check holds FOR KEY SHARE on it. Taking stock must go ahead regardless."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: AMPLE})
    rival = f"{item_prefix}-rival"
    async with sessions() as writer:
        await writer.execute(
            text("INSERT INTO orders (order_id, status, workflow_id) VALUES (:o, 'PENDING', :o)"),
            {"o": rival},
        )
        await writer.execute(
            text(
                "INSERT INTO order_lines (order_id, line_no, item_id, quantity) "
                "VALUES (:o, 1, :i, 1)"
            ),
            {"o": rival, "i": a},
        )
        order = CreateOrderInput(
            order_id=f"{item_prefix}-ours", lines=[OrderLine(item_id=a, quantity=2)]
        )
        reserve = CartInventoryActivities(sessions).reserve_stock(order)
        taken = await asyncio.wait_for(reserve, timeout=5)
        await writer.rollback()

    assert taken.changed_stock
    assert await stock_of(sessions, a) == AMPLE - 2


async def test_opposite_order_carts_with_ample_stock_all_complete_without_deadlock(
    client: Client,
    worker: object,
    task_queue: str,
    settings: Settings,
    sessions: SessionFactory,
    item_prefix: str,
) -> None:
    """80 two-line orders at once, half listing A then B, half B then A."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: AMPLE, b: AMPLE})
    before = await deadlocks_so_far(sessions)

    starts = [
        start_order(client, task_queue, **({a: 1, b: 2} if n % 2 else {b: 2, a: 1}))
        for n in range(80)
    ]
    handles = [handle for _, handle in await asyncio.gather(*starts)]
    results = await asyncio.gather(*(handle.result() for handle in handles))

    assert [r.status for r in results] == ["COMPLETED"] * 80
    assert await deadlocks_so_far(sessions) == before, "Postgres detected a deadlock"
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (AMPLE - 80, AMPLE - 160)
    await assert_stock_invariants(sessions, [a, b])
