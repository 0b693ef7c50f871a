"""Seed 002: Validate, then Charge, then Record, each step passing the order on."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from workflows.concurrency import finish
    from workflows.contracts import (
        INVALID_ORDER,
        PAYMENT_CONFLICT,
        PAYMENT_DECLINED,
        ChargedOrder,
        PaymentInput,
        ProcessedOrder,
        RecordRequest,
        ValidatedOrder,
    )
    from workflows.failures import StepError, run_failure
    from workflows.retry import UNTIL_DONE, step_policy
    from workflows.steps import regular_step, step

BUSINESS_ERRORS = (INVALID_ORDER, PAYMENT_DECLINED, PAYMENT_CONFLICT)
STEP_RETRY = step_policy(*BUSINESS_ERRORS)


@workflow.defn(name="ProcessOrderWorkflow")
class ProcessOrderWorkflow:
    """Validates the amount, charges once per order, and records the result."""

    @workflow.run
    async def run(self, request: PaymentInput) -> ProcessedOrder:
        # Validate (no I/O) and Record (one insert) are short, so they are local activities.
        # Charge calls the payment provider, whose latency is not ours to bound, so it stays
        # a regular activity.
        try:
            validated = await step(
                True, "validate_order", request.order, ValidatedOrder, STEP_RETRY
            )
            # Once the charge is sent, money may move: a cancel can no longer stop it. Such a
            # run finishes charging and recording, and reports what happened.
            charged = await finish(
                regular_step("charge_payment", validated, ChargedOrder, STEP_RETRY)
            )
        except StepError as err:
            if is_cancelled_exception(err):
                raise  # cancelled while validating: nothing charged; the run ends CANCELED
            raise run_failure(err, BUSINESS_ERRORS) from err
        # Once money has moved, the record must be written, however long Postgres is away.
        record_request = RecordRequest(order=charged, workflow_id=workflow.info().workflow_id)
        return await finish(step(True, "record_order", record_request, ProcessedOrder, UNTIL_DONE))
