"""The three Lambda functions of seed 000's state machine, as task handlers on our Postgres:
`isItemInStock`, `updateItemStock` and `createOrder`.

They keep the guarantees of the hand-written order's activities (`cart_inventory`,
`orders`), line by line as the seed's Map calls them:

- the check reads the stock; stock this execution already took counts as its own;
- the decrement is conditional (never below zero) and keyed in the stock ledger by execution
  and item, so a retry takes nothing twice;
- the order is written once, by execution.

The seed's definition has no compensation, so an execution that fails half-way keeps what its
decrements took, as the seed does; the hand-written workflow gives it back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from activities.orders import COMPLETE_ORDER, CREATE_ORDER
from activities.task_handlers import TaskContext, task
from core.db import SessionFactory, engine_of
from workflows.seed_ids import order_id_of


class ItemNotInStock(Exception):
    """A line asks for more than the store holds."""


STOCK_FOR_EXECUTION = text(
    """
    SELECT s.stock + COALESCE(
        (SELECT quantity FROM stock_ledger
         WHERE order_id = :o AND item_id = :i AND state = 'reserved'), 0)
    FROM store_items s WHERE s.item_id = :i
    """
)
RESERVE_ITEM = text(
    """
    WITH prior AS (
        SELECT state FROM stock_ledger WHERE order_id = :o AND item_id = :i
    ),
    taken AS (
        UPDATE store_items SET stock = stock - :q, updated_at = now()
        WHERE item_id = :i AND stock >= :q AND NOT EXISTS (SELECT 1 FROM prior)
        RETURNING stock
    ),
    claim AS (
        INSERT INTO stock_ledger (order_id, item_id, quantity, state, stock_after, reserved_at)
        SELECT :o, :i, :q, 'reserved', stock, now() FROM taken
    )
    SELECT (SELECT state FROM prior), (SELECT count(*) FROM taken)
    """
)


def _line(event: Any) -> tuple[str, int]:
    item = event.get("item") if isinstance(event, dict) else None
    if not isinstance(item, dict):
        raise ValueError("the input has no item: expected {'item': {'itemId', 'quantity'}}")
    item_id, quantity = item.get("itemId"), item.get("quantity")
    if not isinstance(item_id, str) or not isinstance(quantity, int) or quantity < 1:
        raise ValueError("an item needs an itemId (text) and a quantity (a whole number >= 1)")
    return item_id, quantity


def _sessions(context: TaskContext) -> SessionFactory:
    if context.sessions is None:
        raise RuntimeError("this handler needs the worker's database")
    return context.sessions


@task("isItemInStock", local=True)
async def is_item_in_stock(event: Any, context: TaskContext) -> None:
    item_id, quantity = _line(event)
    params = {"o": order_id_of(context.execution_arn), "i": item_id}
    async with engine_of(_sessions(context)).connect() as conn:
        available = (await conn.execute(STOCK_FOR_EXECUTION, params)).scalar()
    if available is None or available < quantity:
        raise ItemNotInStock(f"Item {item_id} not in stock")


@task("updateItemStock", local=True)
async def update_item_stock(event: Any, context: TaskContext) -> None:
    item_id, quantity = _line(event)
    params = {"o": order_id_of(context.execution_arn), "i": item_id, "q": quantity}
    async with engine_of(_sessions(context)).begin() as conn:
        prior, taken = (await conn.execute(RESERVE_ITEM, params)).one()
    if prior is None and not taken:
        raise ItemNotInStock(f"Item {item_id} not in stock")


@task("createOrder", local=True)
async def create_order(event: Any, context: TaskContext) -> None:
    lines = event.get("order") if isinstance(event, dict) else None
    if not isinstance(lines, list) or not lines:
        raise ValueError("the input has no order: expected {'order': [{'itemId', 'quantity'}]}")
    parsed = [_line({"item": line}) for line in lines]
    order_id = order_id_of(context.execution_arn)
    params = {
        "o": order_id,
        "w": context.execution_arn[:200],
        "nos": list(range(1, len(parsed) + 1)),
        "items": [item_id for item_id, _ in parsed],
        "qtys": [quantity for _, quantity in parsed],
    }
    async with engine_of(_sessions(context)).begin() as conn:
        await conn.execute(CREATE_ORDER, params)
        await conn.execute(COMPLETE_ORDER, {"o": order_id})
