"""Seed 002: Validate, then Charge, then Record, each step passing the order on."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        INVALID_ORDER,
        PAYMENT_CONFLICT,
        PAYMENT_DECLINED,
        ChargedOrder,
        PaymentInput,
        PaymentOrder,
        ProcessedOrder,
        RecordRequest,
        ValidatedOrder,
    )
    from workflows.step_functions import (
        UNTIL_DONE,
        catch,
        finish,
        local_step,
        regular_step,
        step_policy,
    )

BUSINESS_ERRORS = (INVALID_ORDER, PAYMENT_DECLINED, PAYMENT_CONFLICT)
STEP_RETRY = step_policy(*BUSINESS_ERRORS)


@workflow.defn(name="ProcessOrderWorkflow")
class ProcessOrderWorkflow:
    """Validates the amount, charges once per order, and records the result.

    Validate (no I/O) and Record (one insert) are short, so they are local activities. Charge
    calls the payment provider, whose latency is not ours to bound, so it is a regular one.
    """

    @workflow.run
    async def run(self, request: PaymentInput) -> ProcessedOrder:
        # Cancelled while validating: nothing charged, and the run ends CANCELED.
        charged = await catch(self._charge(request.order), BUSINESS_ERRORS)
        # Once money has moved, the record must be written, however long Postgres is away.
        record_request = RecordRequest(order=charged, workflow_id=workflow.info().workflow_id)
        return await finish(local_step("record_order", record_request, ProcessedOrder, UNTIL_DONE))

    @staticmethod
    async def _charge(order: PaymentOrder) -> ChargedOrder:
        validated = await local_step("validate_order", order, ValidatedOrder, STEP_RETRY)
        # Once the charge is sent, money may move: a cancel can no longer stop it. Such a run
        # finishes charging and recording, and reports what happened.
        return await finish(regular_step("charge_payment", validated, ChargedOrder, STEP_RETRY))
