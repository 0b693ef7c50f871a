"""The stock invariants of DESIGN section 1, checked against the database. Tests, the chaos
run and the benchmark all use these."""

from __future__ import annotations

from sqlalchemy import text

from core.db import SessionFactory

VIOLATIONS = text(
    """
    WITH items AS (SELECT item_id, stock FROM store_items WHERE item_id = ANY(:items)),
    adjusted AS (
        SELECT item_id, COALESCE(SUM(delta), 0) AS total
        FROM stock_adjustments WHERE item_id = ANY(:items) GROUP BY item_id
    ),
    completed AS (
        SELECT l.item_id, SUM(l.quantity) AS total
        FROM order_lines l JOIN orders o USING (order_id)
        WHERE o.status = 'COMPLETED' AND l.item_id = ANY(:items) GROUP BY l.item_id
    ),
    held AS (
        SELECT item_id, SUM(quantity) AS total
        FROM stock_ledger WHERE state = 'reserved' AND item_id = ANY(:items) GROUP BY item_id
    )
    SELECT i.item_id, i.stock, COALESCE(a.total, 0) AS initial,
           COALESCE(c.total, 0) AS completed, COALESCE(h.total, 0) AS held
    FROM items i
    LEFT JOIN adjusted a USING (item_id)
    LEFT JOIN completed c USING (item_id)
    LEFT JOIN held h USING (item_id)
    WHERE i.stock < 0
       OR COALESCE(a.total, 0) - COALESCE(c.total, 0) <> i.stock
       OR COALESCE(a.total, 0) - COALESCE(h.total, 0) <> i.stock
    """
)

PARTIAL_ORDERS = text(
    """
    SELECT o.order_id, o.status
    FROM orders o JOIN order_lines l USING (order_id)
    LEFT JOIN stock_ledger s ON s.order_id = l.order_id AND s.item_id = l.item_id
    WHERE l.item_id = ANY(:items)
    GROUP BY o.order_id, o.status
    HAVING (o.status = 'COMPLETED' AND bool_or(s.state IS DISTINCT FROM 'reserved'))
        OR (o.status = 'FAILED' AND bool_or(s.state = 'reserved'))
        OR o.status = 'PENDING'
    """
)


async def stock_violations(sessions: SessionFactory, item_ids: list[str]) -> list[str]:
    """What breaks the invariants, in words; empty when they hold. Stock is never negative;
    initial stock minus completed orders equals current stock, and the ledger agrees; every
    order is all or nothing, and none is left pending."""
    async with sessions() as session:
        bad = (await session.execute(VIOLATIONS, {"items": item_ids})).all()
        partial = (await session.execute(PARTIAL_ORDERS, {"items": item_ids})).all()
    found = []
    if bad:
        found.append(f"stock invariant broken (item, stock, initial, completed, held): {bad}")
    if partial:
        found.append(f"orders not all-or-nothing or still pending: {partial}")
    return found


async def assert_stock_invariants(sessions: SessionFactory, item_ids: list[str]) -> None:
    violations = await stock_violations(sessions, item_ids)
    assert not violations, "; ".join(violations)
