"""Order rows: created pending, then completed, or failed with a reason."""

from __future__ import annotations

from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from core.db import SessionFactory, engine_of
from core.models import Order, OrderLine
from workflows.contracts import (
    CreateOrderInput,
    FailOrderInput,
    OrderRecord,
    OrderRef,
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
    async def create_order(self, order: CreateOrderInput) -> OrderRecord:
        """The order and its lines in one statement; a repeat inserts nothing."""
        params = {
            "o": order.order_id,
            "w": order_workflow_id(order.order_id),
            "nos": list(range(1, len(order.lines) + 1)),
            "items": [line.item_id for line in order.lines],
            "qtys": [line.quantity for line in order.lines],
        }
        async with self._engine.begin() as conn:
            await conn.execute(CREATE_ORDER, params)
        return OrderRecord(order_id=order.order_id, status="PENDING")

    @activity.defn(name="complete_order")
    async def complete_order(self, ref: OrderRef) -> OrderRecord:
        async with self._engine.begin() as conn:
            await conn.execute(COMPLETE_ORDER, {"o": ref.order_id})
        return OrderRecord(order_id=ref.order_id, status="COMPLETED")

    @activity.defn(name="fail_order")
    async def fail_order(self, failure: FailOrderInput) -> OrderRecord:
        """Mark the order failed, creating it first if its create step was cancelled."""
        async with self._sessions.begin() as session:
            await _insert_order(session, failure.order, "FAILED", failure.reason)
            await session.execute(
                update(Order)
                .where(Order.order_id == failure.order.order_id, Order.status != "FAILED")
                .values(status="FAILED", failure_reason=failure.reason, updated_at=func.now())
            )
        return OrderRecord(order_id=failure.order.order_id, status="FAILED")


async def _insert_order(
    session: AsyncSession, order: CreateOrderInput, status: str, reason: str | None
) -> None:
    inserted = await session.scalar(
        insert(Order)
        .values(
            order_id=order.order_id,
            status=status,
            failure_reason=reason,
            workflow_id=order_workflow_id(order.order_id),
        )
        .on_conflict_do_nothing()
        .returning(Order.order_id)
    )
    if inserted is None:
        return
    await session.execute(
        insert(OrderLine),
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
