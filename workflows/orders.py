"""Seed 000: Map(check stock), then Parallel{create order, Map(decrement stock)}.

Unlike the seed, the decrement is conditional and idempotent, and a decrement that loses a race
is compensated: whatever was taken is given back and the order is marked failed.
"""

from __future__ import annotations

from typing import NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        INVALID_CART,
        NOT_IN_STOCK,
        CartCheck,
        CartLedgerResult,
        CreateOrderInput,
        CreateOrderResult,
        FailOrderInput,
        OrderRef,
        OrderState,
    )
    from workflows.step_functions import (
        UNTIL_DONE,
        RunFailure,
        all_or_cancel,
        catch,
        finish,
        local_step,
        step_policy,
    )

CANCELED_REASON = "order run was canceled"
ALREADY_COMPENSATED = "AlreadyCompensated"
CART_ERRORS = [NOT_IN_STOCK, INVALID_CART, ALREADY_COMPENSATED]
CART_STEP_RETRY = step_policy(*CART_ERRORS)
COMPENSATION_RETRY = UNTIL_DONE


@workflow.defn(name="CreateOrderWorkflow")
class CreateOrderWorkflow:
    """Checks stock for every line, then creates the order and takes the stock, all or nothing.

    Every step is a short database call, so each is a local activity: no server round trip.
    Each Map state acts on the whole cart in one step: measured with `statewright bench`, a
    step per line cost more than the SQL it ran.
    """

    @workflow.run
    async def run(self, order: CreateOrderInput) -> CreateOrderResult:
        # A local activity may have run in an attempt that was never recorded, so a cancel can
        # never assume that nothing was written: it undoes whatever is there, or, if the order
        # completed, the run reports that.
        return await catch(
            self._place(order),
            CART_ERRORS,
            on_cancel=lambda cancel: self._withdraw(order, cancel),
        )

    async def _place(self, order: CreateOrderInput) -> CreateOrderResult:
        # A failed check wrote nothing: a check passes any order that an earlier attempt of
        # this run wrote, so only the later steps have anything to compensate.
        await local_step("check_stock", order, CartCheck, CART_STEP_RETRY)
        await catch(
            self._take(order),
            CART_ERRORS,
            on_failure=lambda failure: self._compensate(order, failure),
        )
        return await self._complete(order)

    async def _take(self, order: CreateOrderInput) -> None:
        create = local_step("create_order", order, OrderState, CART_STEP_RETRY)
        reserve = local_step("reserve_stock", order, CartLedgerResult, CART_STEP_RETRY)
        _, taken = await all_or_cancel([create, reserve])
        if isinstance(taken, CartLedgerResult) and taken.state == "released":
            # An earlier attempt of this workflow task compensated, and its worker died before
            # the steps were recorded. That decision stands: the decrement fails, compensating
            # again changes nothing, and the run fails.
            raise ApplicationError(
                "this order was already compensated by an earlier attempt of its run",
                type=ALREADY_COMPENSATED,
                non_retryable=True,
            )

    async def _withdraw(self, order: CreateOrderInput, cancel: BaseException) -> CreateOrderResult:
        """The run was cancelled before it completed the order: undo whatever any attempt of
        it wrote, unless an earlier, unrecorded attempt completed the order; then report that.
        """
        failed = FailOrderInput(order=order, reason=CANCELED_REASON)
        record = await finish(local_step("cancel_order", failed, OrderState, COMPENSATION_RETRY))
        if record.status == "COMPLETED":
            return self._completed(order)
        raise cancel

    async def _compensate(self, order: CreateOrderInput, failure: RunFailure) -> NoReturn:
        # Released even after a lost race, when nothing was taken: the release leaves a
        # tombstone that stops a cancelled decrement that still lands.
        await finish(local_step("release_stock", order, CartLedgerResult, COMPENSATION_RETRY))
        failed = FailOrderInput(order=order, reason=failure.message)
        await finish(local_step("fail_order", failed, OrderState, COMPENSATION_RETRY))
        raise failure

    async def _complete(self, order: CreateOrderInput) -> CreateOrderResult:
        # Once the order is decided, a cancel cannot undo it: the completion is finished and
        # the run reports COMPLETED, which is what happened.
        ref = OrderRef(order_id=order.order_id)
        await finish(local_step("complete_order", ref, OrderState, COMPENSATION_RETRY))
        return self._completed(order)

    @staticmethod
    def _completed(order: CreateOrderInput) -> CreateOrderResult:
        return CreateOrderResult(order_id=order.order_id, status="COMPLETED", lines=order.lines)
