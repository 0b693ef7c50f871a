"""Stock checks, conditional decrements and their compensation."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import SessionFactory
from core.models import StockLedgerEntry, StoreItem
from workflows.contracts import (
    NOT_IN_STOCK,
    LedgerResult,
    LedgerState,
    StockCheck,
    StockRequest,
)


def not_in_stock(item_id: str, requested: int, available: int | None) -> ApplicationError:
    what = "unknown item" if available is None else f"requested {requested}, available {available}"
    return ApplicationError(
        f"not in stock: {item_id} ({what})",
        StockCheck(item_id=item_id, requested=requested, available=available or 0).model_dump(),
        type=NOT_IN_STOCK,
        non_retryable=True,
    )


class InventoryActivities:
    """Activities over `store_items` and the `stock_ledger`; holds its session factory."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn(name="check_stock")
    async def check_stock(self, request: StockRequest) -> StockCheck:
        """Read-only check, as in the seed; the decrement re-checks atomically."""
        async with self._sessions() as session:
            stock = await session.scalar(
                select(StoreItem.stock).where(StoreItem.item_id == request.item_id)
            )
        if stock is None or stock < request.quantity:
            raise not_in_stock(request.item_id, request.quantity, stock)
        return StockCheck(item_id=request.item_id, requested=request.quantity, available=stock)

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, request: StockRequest) -> LedgerResult:
        """Take stock for one order line, at most once.

        The ledger row (order, item) is inserted in the same transaction as the conditional
        decrement, so a retry finds the row and does nothing, and a lost race leaves no row.
        If the compensation got there first, the row says `released` and nothing is taken.
        """
        async with self._sessions.begin() as session:
            claimed = await session.scalar(
                insert(StockLedgerEntry)
                .values(
                    order_id=request.order_id,
                    item_id=request.item_id,
                    quantity=request.quantity,
                    state="reserved",
                    reserved_at=func.now(),
                )
                .on_conflict_do_nothing()
                .returning(StockLedgerEntry.order_id)
            )
            if claimed is None:
                existing = await session.scalar(
                    select(StockLedgerEntry.state).where(
                        StockLedgerEntry.order_id == request.order_id,
                        StockLedgerEntry.item_id == request.item_id,
                    )
                )
                return self._result(request, "released" if existing == "released" else "reserved")
            stock_after = await session.scalar(
                update(StoreItem)
                .where(StoreItem.item_id == request.item_id, StoreItem.stock >= request.quantity)
                .values(stock=StoreItem.stock - request.quantity, updated_at=func.now())
                .returning(StoreItem.stock)
            )
            if stock_after is None:
                await session.rollback()
                available = await self._stock_of(request.item_id)
                raise not_in_stock(request.item_id, request.quantity, available)
            await session.execute(
                update(StockLedgerEntry)
                .where(
                    StockLedgerEntry.order_id == request.order_id,
                    StockLedgerEntry.item_id == request.item_id,
                )
                .values(stock_after=stock_after)
            )
        return self._result(request, "reserved", changed=True)

    @activity.defn(name="release_stock")
    async def release_stock(self, request: StockRequest) -> LedgerResult:
        """Give back what `reserve_stock` took for this line, at most once.

        When nothing was taken yet, a `released` row is written anyway: a decrement that was
        cancelled but still runs later then finds it and takes nothing.
        """
        async with self._sessions.begin() as session:
            tombstone = await session.scalar(
                insert(StockLedgerEntry)
                .values(
                    order_id=request.order_id,
                    item_id=request.item_id,
                    quantity=request.quantity,
                    state="released",
                    released_at=func.now(),
                )
                .on_conflict_do_nothing()
                .returning(StockLedgerEntry.order_id)
            )
            if tombstone is not None:
                return self._result(request, "released")
            taken = await session.scalar(
                update(StockLedgerEntry)
                .where(
                    StockLedgerEntry.order_id == request.order_id,
                    StockLedgerEntry.item_id == request.item_id,
                    StockLedgerEntry.state == "reserved",
                )
                .values(state="released", released_at=func.now())
                .returning(StockLedgerEntry.quantity)
            )
            if taken is None:
                return self._result(request, "released")
            await session.execute(
                update(StoreItem)
                .where(StoreItem.item_id == request.item_id)
                .values(stock=StoreItem.stock + taken, updated_at=func.now())
            )
        return self._result(request, "released", changed=True)

    async def _stock_of(self, item_id: str) -> int | None:
        async with self._sessions() as session:
            return await session.scalar(select(StoreItem.stock).where(StoreItem.item_id == item_id))

    @staticmethod
    def _result(
        request: StockRequest, state: LedgerState, *, changed: bool = False
    ) -> LedgerResult:
        return LedgerResult(
            order_id=request.order_id,
            item_id=request.item_id,
            quantity=request.quantity,
            state=state,
            changed_stock=changed,
        )
