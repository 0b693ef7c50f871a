"""Seed 003: take the payload, store it, succeed (an Express workflow in the seed)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import StoreWebhookRequest, WebhookInput, WebhookResult
    from workflows.retry import step_policy
    from workflows.steps import step

STEP_RETRY = step_policy()
LOCAL_ACTIVITY = "webhooks-local-activity"


@workflow.defn(name="WebhookWorkflow")
class WebhookWorkflow:
    """Stores the payload it was started with, with the time the API received it."""

    @workflow.run
    async def run(self, webhook: WebhookInput) -> WebhookResult:
        request = StoreWebhookRequest(
            **webhook.model_dump(), workflow_id=workflow.info().workflow_id
        )
        # One short insert: as a local activity it needs no server round trip, and the run
        # ends in its first workflow task. Runs started before this replay as they ran.
        local = workflow.patched(LOCAL_ACTIVITY)
        return await step(local, "store_webhook", request, WebhookResult, STEP_RETRY)
