"""Seed 003's Lambda function, `sample-func`, as a task handler: it stores the payload.

The seed's function only logged the event. Here, as in the hand-written `WebhookActivities`,
the payload goes into `webhook_events` (JSONB), one row per execution however often the
handler runs; a repeat keeps the first row and answers with its time.

The webhook id of an execution is the execution's Temporal workflow id,
`execution-<state machine>:<execution name>` (`webhook_id_of`), the same id the hand-written
flow gives a webhook (its run's workflow id). So `GET /webhooks/{id}` finds the stored payload
and the run that stored it, whichever engine ran it.

The function answers as the hand-written workflow does, `{"workflow_id", "received_at",
"stored"}`, where the seed's answered null: the seed's `OutputPath: $.Payload` makes that
answer the execution's output, which `StartSyncExecution` (the seed's synchronous variant)
returns to the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.task_handlers import TaskContext, execution_workflow_id, task
from activities.webhooks import WebhookActivities
from workflows.contracts import StoreWebhookRequest


class InvalidPayload(Exception):
    """The payload is not a JSON object, which is what a webhook delivers."""


def webhook_id_of(execution_arn: str) -> str:
    """The id under which an execution of seed 003 stores its webhook: what
    `GET /webhooks/{id}` takes."""
    return execution_workflow_id(execution_arn)


@task("sample-func", local=True)
async def sample_func(event: Any, context: TaskContext) -> dict[str, Any]:
    """Store the payload once per execution."""
    if not isinstance(event, dict):
        raise InvalidPayload(
            f"a webhook payload is a JSON object, not {type(event).__name__}: "
            "the Task's Payload must select one"
        )
    if context.sessions is None:
        raise RuntimeError("this handler needs the worker's database")
    request = StoreWebhookRequest(
        payload=event,
        # A repeat of the call keeps the first row, so its time is the first call's.
        received_at=datetime.now(UTC),
        workflow_id=webhook_id_of(context.execution_arn),
    )
    stored = await WebhookActivities(context.sessions).store_webhook(request)
    return stored.model_dump(mode="json")
