"""What the stock steps say when a cart cannot be had."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from workflows.contracts import NOT_IN_STOCK, StockCheck


def not_in_stock(item_id: str, requested: int, available: int | None) -> ApplicationError:
    """The business error of a short line: never retried, and naming the line."""
    what = "unknown item" if available is None else f"requested {requested}, available {available}"
    return ApplicationError(
        f"not in stock: {item_id} ({what})",
        StockCheck(item_id=item_id, requested=requested, available=available or 0).model_dump(),
        type=NOT_IN_STOCK,
        non_retryable=True,
    )
