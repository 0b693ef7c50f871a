"""Seed 003: take the payload, store it, succeed (an Express workflow in the seed)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import StoreWebhookRequest, WebhookInput, WebhookResult
    from workflows.retry import STEP_TIMEOUT, step_retry

STEP_RETRY = step_retry(attempts=10)


@workflow.defn(name="WebhookWorkflow")
class WebhookWorkflow:
    """Stores the payload it was started with, with the time the API received it."""

    @workflow.run
    async def run(self, webhook: WebhookInput) -> WebhookResult:
        result: WebhookResult = await workflow.execute_activity(
            "store_webhook",
            StoreWebhookRequest(**webhook.model_dump(), workflow_id=workflow.info().workflow_id),
            result_type=WebhookResult,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        return result
