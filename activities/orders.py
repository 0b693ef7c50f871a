"""Order rows: created pending, then completed, or failed with a reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.business_metrics import count
from activities.cart_inventory import give_back, lock_cart
from core.db import SessionFactory, engine_of
from core.models import OrderLineRow, OrderRow
from workflows.contracts import (
    CreateOrderInput,
    FailOrderInput,
    OrderRef,
    OrderState,
    order_workflow_id,
)

# Plain SQL on the hot path: the ORM session layer cost more CPU than the statements.
CREATE_ORDER = text(
    """
    WITH created AS (
        INSERT INTO orders (order_id, status, workflow_id) VALUES (:o, 'PENDING', :w)
        ON CONFLICT DO NOTHING
        RETURNING order_id
    )
    INSERT INTO order_lines (order_id, line_no, item_id, quantity)
    SELECT created.order_id, line.no, line.item_id, line.quantity
    FROM created,
         unnest(CAST(:nos AS int[]), CAST(:items AS text[]), CAST(:qtys AS int[]))
             AS line(no, item_id, quantity)
    """
)
# The order row decides between a cancel and a completion: whichever moves it off PENDING
# first wins, and the other then sees the outcome.
ORDER_STATUS_FOR_UPDATE = text("SELECT status FROM orders WHERE order_id = :o FOR UPDATE")
CANCEL_PENDING_ORDER = text(
    "UPDATE orders SET status = 'FAILED', failure_reason = :r, updated_at = now() "
    "WHERE order_id = :o AND status = 'PENDING'"
)
COMPLETE_ORDER = text(
    "UPDATE orders SET status = 'COMPLETED', updated_at = now() "
    "WHERE order_id = :o AND status = 'PENDING'"
)


class OrderActivities:
    """Activities over `orders` and `order_lines`; every write is an idempotent upsert."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._engine = engine_of(sessions)

    @activity.defn(name="create_order")
    async def create_order(self, order: CreateOrderInput) -> OrderState:
        """The order and its lines in one statement; a repeat inserts nothing."""
        async with self._engine.begin() as conn:
            await conn.execute(CREATE_ORDER, _order_params(order))
        return OrderState(order_id=order.order_id, status="PENDING")

    @activity.defn(name="complete_order")
    async def complete_order(self, ref: OrderRef) -> OrderState:
        async with self._engine.begin() as conn:
            done = await conn.execute(COMPLETE_ORDER, {"o": ref.order_id})
        if done.rowcount == 1:
            count("statewright_orders_completed")
        return OrderState(order_id=ref.order_id, status="COMPLETED")

    @activity.defn(name="cancel_order")
    async def cancel_order(self, failure: FailOrderInput) -> OrderState:
        """Undo the order unless it has completed, in one transaction, at most once.

        A cancelled run cannot know what its earlier, unrecorded attempts wrote, so this
        looks: a COMPLETED order stands, and the run reports it. Otherwise the stock it took
        goes back (a tombstone for every line stops a decrement still in flight) and the
        order is FAILED with the reason, created so if it was never written, so that a late
        create step finds it and writes nothing.
        """
        order = failure.order
        async with self._engine.begin() as conn:
            await lock_cart(conn, order)
            await conn.execute(CREATE_ORDER, _order_params(order))
            status = (await conn.execute(ORDER_STATUS_FOR_UPDATE, {"o": order.order_id})).scalar()
            if status == "COMPLETED":
                return OrderState(order_id=order.order_id, status="COMPLETED")
            restocked = await give_back(conn, order)
            cancelled = await conn.execute(
                CANCEL_PENDING_ORDER, {"o": order.order_id, "r": failure.reason}
            )
        if restocked:
            count("statewright_orders_compensated")
        if cancelled.rowcount == 1:
            count("statewright_orders_failed")
        return OrderState(order_id=order.order_id, status="FAILED")

    @activity.defn(name="fail_order")
    async def fail_order(self, failure: FailOrderInput) -> OrderState:
        """Mark the order failed, creating it first if its create step was cancelled."""
        async with self._sessions.begin() as session:
            created = await _insert_order(session, failure.order, "FAILED", failure.reason)
            moved = await session.scalar(
                update(OrderRow)
                .where(OrderRow.order_id == failure.order.order_id, OrderRow.status != "FAILED")
                .values(status="FAILED", failure_reason=failure.reason, updated_at=func.now())
                .returning(OrderRow.order_id)
            )
        if created or moved is not None:
            count("statewright_orders_failed")
        return OrderState(order_id=failure.order.order_id, status="FAILED")


def _order_params(order: CreateOrderInput) -> dict[str, Any]:
    return {
        "o": order.order_id,
        "w": order_workflow_id(order.order_id),
        "nos": list(range(1, len(order.lines) + 1)),
        "items": [line.item_id for line in order.lines],
        "qtys": [line.quantity for line in order.lines],
    }


async def _insert_order(
    session: AsyncSession, order: CreateOrderInput, status: str, reason: str | None
) -> bool:
    """Write the order with `status` unless it exists; whether this call wrote it."""
    inserted = await session.scalar(
        insert(OrderRow)
        .values(
            order_id=order.order_id,
            status=status,
            failure_reason=reason,
            workflow_id=order_workflow_id(order.order_id),
        )
        .on_conflict_do_nothing()
        .returning(OrderRow.order_id)
    )
    if inserted is None:
        return False
    await session.execute(
        insert(OrderLineRow),
        [
            {
                "order_id": order.order_id,
                "line_no": n,
                "item_id": line.item_id,
                "quantity": line.quantity,
            }
            for n, line in enumerate(order.lines, start=1)
        ],
    )
    return True
