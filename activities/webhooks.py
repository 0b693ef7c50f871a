"""Store a received webhook payload (seed 003 only logged it)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity

from activities.business_metrics import count
from core.db import SessionFactory
from core.models import WebhookEventRow
from workflows.contracts import StoreWebhookRequest, WebhookResult


class WebhookActivities:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn(name="store_webhook")
    async def store_webhook(self, request: StoreWebhookRequest) -> WebhookResult:
        """One row per run, keyed by workflow id, so a retry stores nothing twice."""
        async with self._sessions.begin() as session:
            written = await session.scalar(
                insert(WebhookEventRow)
                .values(
                    workflow_id=request.workflow_id,
                    payload=request.payload,
                    received_at=request.received_at,
                )
                .on_conflict_do_nothing()
                .returning(WebhookEventRow.workflow_id)
            )
            received_at = await session.scalar(
                select(WebhookEventRow.received_at).where(
                    WebhookEventRow.workflow_id == request.workflow_id
                )
            )
        assert received_at is not None
        if written is not None:
            count("statewright_webhooks_stored")
        return WebhookResult(workflow_id=request.workflow_id, received_at=received_at, stored=True)

    @activity.defn(name="discard_webhook")
    async def discard_webhook(self, request: StoreWebhookRequest) -> WebhookResult:
        """Take a cancelled run's payload out again; nothing to take is fine."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(WebhookEventRow).where(WebhookEventRow.workflow_id == request.workflow_id)
            )
        return WebhookResult(
            workflow_id=request.workflow_id, received_at=request.received_at, stored=False
        )
