"""Seed 000: Map(check stock), then Parallel{create order, Map(decrement stock)}.

Unlike the seed, every decrement is conditional and idempotent, and a decrement that loses a
race is compensated: what was taken is given back and the order is marked failed.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from workflows.concurrency import all_or_cancel
    from workflows.contracts import (
        NOT_IN_STOCK,
        CreateOrderInput,
        CreateOrderResult,
        FailOrderInput,
        LedgerResult,
        OrderRecord,
        OrderRef,
        StockCheck,
        StockRequest,
    )
    from workflows.failures import run_failure
    from workflows.retry import STEP_TIMEOUT, UNLIMITED_RETRY, step_retry

STEP_RETRY = step_retry(NOT_IN_STOCK)
COMPENSATION_RETRY = UNLIMITED_RETRY


@workflow.defn(name="CreateOrderWorkflow")
class CreateOrderWorkflow:
    """Checks stock for every line, then creates the order and takes the stock, all or nothing."""

    @workflow.run
    async def run(self, order: CreateOrderInput) -> CreateOrderResult:
        requests = [
            StockRequest(order_id=order.order_id, item_id=line.item_id, quantity=line.quantity)
            for line in order.lines
        ]
        try:
            await all_or_cancel(
                workflow.execute_activity(
                    "check_stock",
                    request,
                    result_type=StockCheck,
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=STEP_RETRY,
                )
                for request in requests
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise  # cancelled before anything was written: nothing to undo
            raise run_failure(err, [NOT_IN_STOCK]) from err

        create = workflow.execute_activity(
            "create_order",
            order,
            result_type=OrderRecord,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        reserves = [
            workflow.execute_activity(
                "reserve_stock",
                request,
                result_type=LedgerResult,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            for request in requests
        ]
        try:
            await all_or_cancel([create, *reserves])
        except (ActivityError, asyncio.CancelledError) as err:
            # A run cancel reaches us either way, depending on whether an activity's
            # cancellation or the run's own arrives first.
            if is_cancelled_exception(err):
                # A cancelled run must not keep stock it took; it still ends CANCELED.
                await self._compensate(order, requests, "order run was canceled")
                raise
            assert isinstance(err, ActivityError)
            failure = run_failure(err, [NOT_IN_STOCK])
            await self._compensate(order, requests, failure.message)
            raise failure from err

        await workflow.execute_activity(
            "complete_order",
            OrderRef(order_id=order.order_id),
            result_type=OrderRecord,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=COMPENSATION_RETRY,
        )
        return CreateOrderResult(order_id=order.order_id, status="COMPLETED", lines=order.lines)

    async def _compensate(
        self, order: CreateOrderInput, requests: list[StockRequest], reason: str
    ) -> None:
        # Every line is released, not only those known to be taken: a decrement that was
        # cancelled mid-flight may still land, and the release's ledger row stops it.
        await all_or_cancel(
            workflow.execute_activity(
                "release_stock",
                request,
                result_type=LedgerResult,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=COMPENSATION_RETRY,
            )
            for request in requests
        )
        await workflow.execute_activity(
            "fail_order",
            FailOrderInput(order=order, reason=reason),
            result_type=OrderRecord,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=COMPENSATION_RETRY,
        )
