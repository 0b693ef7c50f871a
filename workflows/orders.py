"""Seed 000: Map(check stock), then Parallel{create order, Map(decrement stock)}.

Unlike the seed, the decrement is conditional and idempotent, and a decrement that loses a race
is compensated: whatever was taken is given back and the order is marked failed.
"""

from __future__ import annotations

import asyncio

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
        OrderRecord,
        OrderRef,
    )
    from workflows.failures import StepError, run_failure
    from workflows.retry import UNTIL_DONE, step_policy
    from workflows.steps import step

CANCELED_REASON = "order run was canceled"
ALREADY_COMPENSATED = "AlreadyCompensated"
CART_ERRORS = [NOT_IN_STOCK, INVALID_CART, ALREADY_COMPENSATED]
CART_STEP_RETRY = step_policy(*CART_ERRORS)
COMPENSATION_RETRY = UNTIL_DONE
# Every step is a short database call, so each is a local activity: no server round trip.
# Each Map state acts on the whole cart in one step: measured with `statewright bench`, a
# step per line cost more than the SQL it ran.
LOCAL = True


@workflow.defn(name="CreateOrderWorkflow")
class CreateOrderWorkflow:
    """Checks stock for every line, then creates the order and takes the stock, all or nothing."""

    @workflow.run
    async def run(self, order: CreateOrderInput) -> CreateOrderResult:
        # A local activity may have run in an attempt that was never recorded, so a cancel can
        # never assume that nothing was written: it undoes whatever is there, or, if the order
        # completed, the run reports that.
        try:
            await step(LOCAL, "check_stock", order, CartCheck, CART_STEP_RETRY)
        except (*StepError, asyncio.CancelledError) as err:
            if is_cancelled_exception(err):
                return await self._withdraw(order, err)
            assert isinstance(err, StepError)
            raise run_failure(err, CART_ERRORS) from err

        create = step(LOCAL, "create_order", order, OrderRecord, CART_STEP_RETRY)
        reserve = step(LOCAL, "reserve_stock", order, CartLedgerResult, CART_STEP_RETRY)
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
            # A run cancel reaches us either way, depending on whether an activity's
            # cancellation or the run's own arrives first.
            if is_cancelled_exception(err):
                return await self._withdraw(order, err)
            assert isinstance(err, StepError)
            failure = run_failure(err, CART_ERRORS)
            await self._compensate(order, failure.message)
            raise failure from err
        return await self._complete(order)

    async def _withdraw(self, order: CreateOrderInput, cancel: BaseException) -> CreateOrderResult:
        """The run was cancelled before it completed the order: undo whatever any attempt of
        it wrote, unless an earlier, unrecorded attempt completed the order; then report that.
        """
        failed = FailOrderInput(order=order, reason=CANCELED_REASON)
        record = await finish(step(LOCAL, "cancel_order", failed, OrderRecord, COMPENSATION_RETRY))
        if record.status == "COMPLETED":
            return self._completed(order)
        raise cancel

    async def _compensate(self, order: CreateOrderInput, reason: str) -> None:
        # Released even after a lost race, when nothing was taken: the release leaves a
        # tombstone that stops a cancelled decrement that still lands.
        await finish(step(LOCAL, "release_stock", order, CartLedgerResult, COMPENSATION_RETRY))
        failed = FailOrderInput(order=order, reason=reason)
        await finish(step(LOCAL, "fail_order", failed, OrderRecord, COMPENSATION_RETRY))

    async def _complete(self, order: CreateOrderInput) -> CreateOrderResult:
        # Once the order is decided, a cancel cannot undo it: the completion is finished and
        # the run reports COMPLETED, which is what happened.
        ref = OrderRef(order_id=order.order_id)
        await finish(step(LOCAL, "complete_order", ref, OrderRecord, COMPENSATION_RETRY))
        return self._completed(order)

    @staticmethod
    def _completed(order: CreateOrderInput) -> CreateOrderResult:
        return CreateOrderResult(order_id=order.order_id, status="COMPLETED", lines=order.lines)
