"""Stock checks, conditional decrements and their compensation."""

from __future__ import annotations

from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import SessionFactory, engine_of
from core.models import StockLedgerEntry, StoreItem
from workflows.contracts import (
    NOT_IN_STOCK,
    LedgerResult,
    LedgerState,
    StockCheck,
    StockRequest,
)

# The hot path is plain SQL on a pooled connection: measured with `statewright bench`, the
# ORM session layer cost more worker CPU than the statements themselves.
STOCK_OF = text("SELECT stock FROM store_items WHERE item_id = :i")
# The stock plus what this order already holds of the item, and whether an earlier attempt
# wrote the order or this line: a check run again after a crash must not end a run that
# wrote something, since only the later steps compensate.
STOCK_FOR_LINE = text(
    """
    SELECT s.stock + CASE WHEN l.state = 'reserved' THEN l.quantity ELSE 0 END,
           l.state IS NOT NULL OR EXISTS (SELECT 1 FROM orders WHERE order_id = :o)
    FROM store_items s
    LEFT JOIN stock_ledger l ON l.order_id = :o AND l.item_id = s.item_id
    WHERE s.item_id = :i
    """
)
RESERVE = text(
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
        RETURNING 1
    )
    SELECT (SELECT state FROM prior), (SELECT stock FROM taken)
    """
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
        self._engine = engine_of(sessions)

    @activity.defn(name="check_stock")
    async def check_stock(self, request: StockRequest) -> StockCheck:
        """Read-only check, as in the seed; the decrement re-checks atomically. Stock this
        order already holds counts as available to it, and an order already written passes."""
        params = {"o": request.order_id, "i": request.item_id}
        async with self._engine.connect() as conn:
            row = (await conn.execute(STOCK_FOR_LINE, params)).one_or_none()
        stock, decided = row if row is not None else (None, False)
        if not decided and (stock is None or stock < request.quantity):
            raise not_in_stock(request.item_id, request.quantity, stock)
        return StockCheck(item_id=request.item_id, requested=request.quantity, available=stock or 0)

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, request: StockRequest) -> LedgerResult:
        """Take stock for one order line, at most once, in one statement.

        The decrement happens only if no ledger row exists for (order, item) and stock
        suffices; the ledger row is inserted in the same statement. A retry finds the row and
        takes nothing; a lost race leaves no row. If the compensation's row appears while this
        runs, the insert meets its key, the statement fails whole, and the retry sees
        `released` and takes nothing.
        """
        params = {"o": request.order_id, "i": request.item_id, "q": request.quantity}
        async with self._engine.begin() as conn:
            prior, stock_after = (await conn.execute(RESERVE, params)).one()
        if prior is not None:
            return self._result(request, "released" if prior == "released" else "reserved")
        if stock_after is None:
            available = await self._stock_of(request.item_id)
            raise not_in_stock(request.item_id, request.quantity, available)
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
        async with self._engine.connect() as conn:
            stock: int | None = await conn.scalar(STOCK_OF, {"i": item_id})
        return stock

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
