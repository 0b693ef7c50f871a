"""WebhookWorkflow over HTTP: asynchronous and synchronous starts, one key, and the limits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from api.app import create_app
from core.db import SessionFactory
from core.models import WebhookEventRow
from core.settings import Settings
from statewright.flows import FLOWS
from tests.conftest import free_port, serve
from tests.helpers import wait_for_run

PAYLOAD = {"event": "invoice.paid", "data": {"id": "in_1", "amount": 1999, "tags": ["a", "b"]}}


async def stored(sessions: SessionFactory, workflow_id: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(WebhookEventRow.payload).where(WebhookEventRow.workflow_id == workflow_id)
            )
        )


async def test_async_webhook_is_stored(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory
) -> None:
    response = await http.post("/webhooks", json=PAYLOAD)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "webhook submitted"
    assert body["workflow_id"].startswith("webhook-") and body["run_id"] and body["ui_url"]
    run = await wait_for_run(http, body["workflow_id"])
    assert run["status"] == "COMPLETED"
    assert run["input"]["payload"] == PAYLOAD
    assert [s["name"] for s in run["steps"]] == ["store_webhook"]
    assert await stored(sessions, body["workflow_id"]) == [PAYLOAD]


async def test_sync_webhook_returns_the_result(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory
) -> None:
    response = await http.post("/webhooks", params={"wait": "true"}, json=PAYLOAD)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "webhook processed"
    assert body["result"]["stored"] is True
    assert body["result"]["workflow_id"] == body["workflow_id"]
    assert await stored(sessions, body["workflow_id"]) == [PAYLOAD]


async def test_sync_webhook_past_its_wait_gets_504_and_carries_on(
    settings: Settings, database_url: str, client: Client
) -> None:
    # No worker polls this queue, so the run cannot finish within the wait.
    slow = settings.model_copy(update={"webhook_wait_seconds": 0.5, "task_queue": "nobody"})
    async with (
        serve(create_app(FLOWS, slow, database_url, client)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        response = await http.post("/webhooks", params={"wait": "true"}, json=PAYLOAD)
        body = response.json()
        run = (await http.get(f"/runs/{body['workflow_id']}")).json()
        await http.post(f"/runs/{body['workflow_id']}/cancel")

    assert response.status_code == 504
    assert body["status"] == "webhook pending"
    assert body["status_url"] == f"/runs/{body['workflow_id']}"
    assert run["status"] == "RUNNING", "the run carries on after the wait gives up"


async def test_same_key_twice_is_one_run_and_one_row(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory
) -> None:
    headers = {"Idempotency-Key": "delivery-7f3c"}
    first = await http.post("/webhooks", json=PAYLOAD, headers=headers)
    await wait_for_run(http, first.json()["workflow_id"])
    second = await http.post("/webhooks", json=PAYLOAD, headers=headers)
    other = await http.post("/webhooks", json={"event": "other"}, headers=headers)

    assert first.status_code == second.status_code == 202
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.json()["workflow_id"] == first.json()["workflow_id"]
    assert second.json()["run_id"] == first.json()["run_id"], "no second run, even after close"
    assert await stored(sessions, first.json()["workflow_id"]) == [PAYLOAD]
    assert other.status_code == 409
    assert "different request body" in other.json()["detail"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        (json.dumps({"pad": "x" * 256 * 1024}), "application/json", 413, "262144 bytes"),
        ("event=paid", "application/x-www-form-urlencoded", 415, "send application/json"),
        ('{"event": "paid"}', "text/plain", 415, "unsupported content type"),
        ("[1, 2, 3]", "application/json", 422, "valid dictionary"),
        ('"just a string"', "application/json", 422, "valid dictionary"),
        ("{broken", "application/json", 422, "JSON decode error"),
        ('{"a": ["ok", "nul\\u0000here"]}', "application/json", 422, "NUL character"),
        ('{"k\\u0000": 1}', "application/json", 422, "NUL character"),
    ],
)
async def test_webhook_limits(
    http: httpx.AsyncClient,
    sessions: SessionFactory,
    content: str,
    content_type: str,
    status: int,
    message: str,
) -> None:
    async with sessions() as session:
        before = await session.scalar(select(func.count()).select_from(WebhookEventRow))
    response = await http.post("/webhooks", content=content, headers={"content-type": content_type})

    assert response.status_code == status, response.text
    assert message in response.text
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookEventRow)) == before


async def test_webhook_with_temporal_unreachable_is_503_not_500(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, temporal_address=f"127.0.0.1:{free_port()}")
    async with (
        serve(create_app(FLOWS, settings, database_url)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        response = await http.post("/webhooks", json=PAYLOAD)

    assert response.status_code == 503
    assert response.json() == {"status": "webhook failed", "detail": "Temporal is unreachable"}


async def test_a_webhook_is_read_back_by_its_workflow_id(
    http: httpx.AsyncClient, worker: object
) -> None:
    workflow_id = (await http.post("/webhooks", json=PAYLOAD)).json()["workflow_id"]
    await wait_for_run(http, workflow_id)

    webhook = (await http.get(f"/webhooks/{workflow_id}")).json()

    assert webhook["workflow_id"] == workflow_id
    assert webhook["status"] == "COMPLETED"
    assert webhook["payload"] == PAYLOAD
    assert webhook["received_at"] and webhook["stored_at"]
    assert (await http.get("/webhooks/webhook-nope")).status_code == 404
