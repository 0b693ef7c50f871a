"""Setting an item's stock by hand, journalled so the stock ledger can always be reconciled."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import StockAdjustmentRow, StoreItemRow


async def set_stock(session: AsyncSession, item_id: str, quantity: int) -> None:
    """Create the item or replace its stock, inside the caller's transaction."""
    await session.execute(
        insert(StoreItemRow).values(item_id=item_id, stock=0).on_conflict_do_nothing()
    )
    # Lock the row so a concurrent order's decrement lands wholly before or after this change;
    # NO KEY, like the decrement's, so order lines being written do not wait on it.
    before = await session.scalar(
        select(StoreItemRow.stock)
        .where(StoreItemRow.item_id == item_id)
        .with_for_update(key_share=True)
    )
    await session.execute(
        update(StoreItemRow)
        .where(StoreItemRow.item_id == item_id)
        .values(stock=quantity, updated_at=func.now())
    )
    delta = quantity - (before or 0)
    if delta:
        session.add(StockAdjustmentRow(item_id=item_id, delta=delta, stock_after=quantity))
