"""Seed 003: take the payload, store it, succeed (an Express workflow in the seed)."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import StoreWebhookRequest, WebhookInput, WebhookResult
    from workflows.step_functions import UNTIL_DONE, finish, local_step, step_policy

STEP_RETRY = step_policy()


@workflow.defn(name="WebhookWorkflow")
class WebhookWorkflow:
    """Stores the payload it was started with, with the time the API received it.

    A cancel that arrives while the payload is being stored lets the store finish, then takes
    the payload out again: a CANCELED run never leaves a row behind, whatever an earlier,
    unrecorded attempt of it wrote.
    """

    @workflow.run
    async def run(self, webhook: WebhookInput) -> WebhookResult:
        request = StoreWebhookRequest(
            **webhook.model_dump(), workflow_id=workflow.info().workflow_id
        )
        # One short insert: as a local activity it needs no server round trip, and the run
        # ends in its first workflow task.
        stored = await finish(local_step("store_webhook", request, WebhookResult, STEP_RETRY))
        if workflow.cancellation_reason() is None:
            return stored
        # Cancelled while storing: the payload is in, here or in an attempt of this run that
        # was never recorded. Take it out again, and end CANCELED.
        await finish(local_step("discard_webhook", request, WebhookResult, UNTIL_DONE))
        raise asyncio.CancelledError(workflow.cancellation_reason())
