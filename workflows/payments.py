"""Seed 002: Validate, then Charge, then Record, each step passing the order on."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
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
    from workflows.failures import run_failure
    from workflows.retry import STEP_TIMEOUT, UNLIMITED_RETRY, step_retry

BUSINESS_ERRORS = (INVALID_ORDER, PAYMENT_DECLINED, PAYMENT_CONFLICT)
STEP_RETRY = step_retry(*BUSINESS_ERRORS)


@workflow.defn(name="ProcessOrderWorkflow")
class ProcessOrderWorkflow:
    """Validates the amount, charges once per order, and records the result."""

    @workflow.run
    async def run(self, request: PaymentInput) -> ProcessedOrder:
        try:
            validated = await workflow.execute_activity(
                "validate_order",
                request.order,
                result_type=ValidatedOrder,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            charged = await workflow.execute_activity(
                "charge_payment",
                validated,
                result_type=ChargedOrder,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise  # nothing charged yet; the run ends CANCELED
            raise run_failure(err, BUSINESS_ERRORS) from err
        # Once money has moved, the record must be written, however long Postgres is away.
        processed: ProcessedOrder = await workflow.execute_activity(
            "record_order",
            RecordRequest(order=charged, workflow_id=workflow.info().workflow_id),
            result_type=ProcessedOrder,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=UNLIMITED_RETRY,
        )
        return processed
