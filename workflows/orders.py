"""Seed 000: Map(check stock), then Parallel{create order, Map(decrement stock)}.

Unlike the seed, the decrement is conditional and idempotent, and a decrement that loses a race
is compensated: whatever was taken is given back and the order is marked failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from workflows.concurrency import all_or_cancel, finish
    from workflows.contracts import (
        INVALID_CART,
        NOT_IN_STOCK,
        CartCheck,
        CartLedgerResult,
        CreateOrderInput,
        CreateOrderResult,
        FailOrderInput,
        LedgerResult,
        OrderRecord,
        OrderRef,
        StockCheck,
        StockRequest,
    )
    from workflows.failures import StepError, run_failure
    from workflows.retry import UNTIL_DONE, StepPolicy, step_policy
    from workflows.steps import step

T = TypeVar("T")
LOCAL_ACTIVITIES = "orders-local-activities"
CART_STEPS = "orders-cart-steps"
TRUE_CANCELS = "orders-cancel-reports-the-truth"
CANCELED_REASON = "order run was canceled"
STEP_RETRY = step_policy(NOT_IN_STOCK)
ALREADY_COMPENSATED = "AlreadyCompensated"
CART_ERRORS = [NOT_IN_STOCK, INVALID_CART, ALREADY_COMPENSATED]
CART_STEP_RETRY = step_policy(*CART_ERRORS)
COMPENSATION_RETRY = UNTIL_DONE


@workflow.defn(name="CreateOrderWorkflow")
class CreateOrderWorkflow:
    """Checks stock for every line, then creates the order and takes the stock, all or nothing."""

    def __init__(self) -> None:
        self._local = False
        self._true_cancels = False

    @workflow.run
    async def run(self, order: CreateOrderInput) -> CreateOrderResult:
        # Every step is a short database call, so each is a local activity: no server round
        # trip. Each Map state acts on the whole cart in one step: measured with
        # `statewright bench`, a step per line cost more than the SQL it ran.
        if workflow.patched(CART_STEPS):
            self._local = True
            # A local activity may have run in an attempt that was never recorded, so a cancel
            # can never assume that nothing was written: it undoes whatever is there, or, if
            # the order completed, the run reports that. Runs started before replay as before.
            self._true_cancels = workflow.patched(TRUE_CANCELS)
            return await self._run_cart(order)
        # Runs recorded before whole-cart steps replay on steps per line: local activities
        # from LOCAL_ACTIVITIES on, regular activities before it.
        self._local = workflow.patched(LOCAL_ACTIVITIES)
        return await self._run_per_line(order)

    async def _run_cart(self, order: CreateOrderInput) -> CreateOrderResult:
        try:
            await self._step("check_cart_stock", order, CartCheck, CART_STEP_RETRY)
        except (*StepError, asyncio.CancelledError) as err:
            if is_cancelled_exception(err):
                if self._true_cancels:
                    return await self._withdraw(order, err)
                raise  # before TRUE_CANCELS: assumed that nothing was written
            assert isinstance(err, StepError)
            raise run_failure(err, CART_ERRORS) from err

        create = self._step("create_order", order, OrderRecord, CART_STEP_RETRY)
        reserve = self._step("reserve_cart_stock", order, CartLedgerResult, CART_STEP_RETRY)
        try:
            _, taken = await all_or_cancel([create, reserve])
            if isinstance(taken, CartLedgerResult) and taken.state == "released":
                # An earlier attempt of this workflow task compensated, and its worker died
                # before the steps were recorded. That decision stands: compensating again
                # changes nothing, and the run fails.
                raise ApplicationError(
                    "this order was already compensated by an earlier attempt of its run",
                    type=ALREADY_COMPENSATED,
                    non_retryable=True,
                )
        except (*StepError, asyncio.CancelledError) as err:
            if is_cancelled_exception(err):
                if self._true_cancels:
                    return await self._withdraw(order, err)
                await self._compensate_cart(order, CANCELED_REASON)
                raise
            assert isinstance(err, StepError)
            failure = run_failure(err, CART_ERRORS)
            await self._compensate_cart(order, failure.message)
            raise failure from err
        return await self._complete(order)

    async def _withdraw(self, order: CreateOrderInput, cancel: BaseException) -> CreateOrderResult:
        """The run was cancelled before it completed the order: undo whatever any attempt of
        it wrote, unless an earlier, unrecorded attempt completed the order; then report that.
        """
        failed = FailOrderInput(order=order, reason=CANCELED_REASON)
        record = await finish(self._step("cancel_order", failed, OrderRecord, COMPENSATION_RETRY))
        if record.status == "COMPLETED":
            return self._completed(order)
        raise cancel

    async def _compensate_cart(self, order: CreateOrderInput, reason: str) -> None:
        # Released even after a lost race, when nothing was taken: the release leaves a
        # tombstone that stops a cancelled decrement that still lands.
        release = self._step("release_cart_stock", order, CartLedgerResult, COMPENSATION_RETRY)
        await (finish(release) if self._true_cancels else release)
        failed = FailOrderInput(order=order, reason=reason)
        fail = self._step("fail_order", failed, OrderRecord, COMPENSATION_RETRY)
        await (finish(fail) if self._true_cancels else fail)

    async def _complete(self, order: CreateOrderInput) -> CreateOrderResult:
        # Once the order is decided, a cancel cannot undo it: the completion is finished and
        # the run reports COMPLETED, which is what happened.
        complete = self._step(
            "complete_order", OrderRef(order_id=order.order_id), OrderRecord, COMPENSATION_RETRY
        )
        await (finish(complete) if self._true_cancels else complete)
        return self._completed(order)

    @staticmethod
    def _completed(order: CreateOrderInput) -> CreateOrderResult:
        return CreateOrderResult(order_id=order.order_id, status="COMPLETED", lines=order.lines)

    async def _run_per_line(self, order: CreateOrderInput) -> CreateOrderResult:
        requests = [
            StockRequest(order_id=order.order_id, item_id=line.item_id, quantity=line.quantity)
            for line in order.lines
        ]
        try:
            await all_or_cancel(
                self._step("check_stock", request, StockCheck, STEP_RETRY) for request in requests
            )
        except StepError as err:
            if is_cancelled_exception(err):
                raise  # cancelled before anything was written: nothing to undo
            raise run_failure(err, [NOT_IN_STOCK]) from err

        create = self._step("create_order", order, OrderRecord, STEP_RETRY)
        reserves = [
            self._step("reserve_stock", request, LedgerResult, STEP_RETRY) for request in requests
        ]
        try:
            await all_or_cancel([create, *reserves])
        except (*StepError, asyncio.CancelledError) as err:
            # A run cancel reaches us either way, depending on whether an activity's
            # cancellation or the run's own arrives first.
            if is_cancelled_exception(err):
                # A cancelled run must not keep stock it took; it still ends CANCELED.
                await self._compensate(order, requests, CANCELED_REASON)
                raise
            assert isinstance(err, StepError)
            failure = run_failure(err, [NOT_IN_STOCK])
            await self._compensate(order, requests, failure.message)
            raise failure from err

        return await self._complete(order)

    async def _compensate(
        self, order: CreateOrderInput, requests: list[StockRequest], reason: str
    ) -> None:
        # Every line is released, not only those known to be taken: a decrement that was
        # cancelled mid-flight may still land, and the release's ledger row stops it.
        await all_or_cancel(
            self._step("release_stock", request, LedgerResult, COMPENSATION_RETRY)
            for request in requests
        )
        failed = FailOrderInput(order=order, reason=reason)
        await self._step("fail_order", failed, OrderRecord, COMPENSATION_RETRY)

    def _step(
        self, activity: str, arg: object, result_type: type[T], retry: StepPolicy
    ) -> Awaitable[T]:
        return step(self._local, activity, arg, result_type, retry)
