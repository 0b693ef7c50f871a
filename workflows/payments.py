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
LOCAL_STEPS = "payments-local-steps"
TRUE_CANCELS = "payments-cancel-reports-the-truth"


@workflow.defn(name="ProcessOrderWorkflow")
class ProcessOrderWorkflow:
    """Validates the amount, charges once per order, and records the result."""

    @workflow.run
    async def run(self, request: PaymentInput) -> ProcessedOrder:
        # Validate (no I/O) and Record (one insert) are short, so they are local activities.
        # Charge calls the payment provider, whose latency is not ours to bound, so it stays
        # a regular activity. Runs started before this replay with every step regular.
        local = workflow.patched(LOCAL_STEPS)
        # Once the charge is sent, money may move: a cancel can no longer stop it. Such a run
        # finishes charging and recording, and reports what happened. Before this, a cancel
        # during the charge ended the run CANCELED while the charge went through.
        true_cancels = workflow.patched(TRUE_CANCELS)
        try:
            validated = await step(
                local, "validate_order", request.order, ValidatedOrder, STEP_RETRY
            )
            charge = regular_step("charge_payment", validated, ChargedOrder, STEP_RETRY)
            charged = await (finish(charge) if true_cancels else charge)
        except StepError as err:
            if is_cancelled_exception(err):
                raise  # cancelled while validating: nothing charged; the run ends CANCELED
            raise run_failure(err, BUSINESS_ERRORS) from err
        # Once money has moved, the record must be written, however long Postgres is away.
        record_request = RecordRequest(order=charged, workflow_id=workflow.info().workflow_id)
        record = step(local, "record_order", record_request, ProcessedOrder, UNTIL_DONE)
        return await (finish(record) if true_cancels else record)
