"""Hostile payloads: what cannot be processed and stored faithfully is refused at the door
with a 422 that says why, and no run, whatever it carries, can wedge.

The probe: webhooks nested 200 to 254 levels got a 202, then their runs sat RUNNING forever
(the worker could not decode their input), `GET /runs/{id}` answered 500 and cancel did
nothing; at 255 to 979 levels the POST answered 500, and deeper, 400. A lone surrogate
answered 500; NaN, Infinity and 1e400 were stored as null.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from core.db import SessionFactory
from core.json_limits import MAX_JSON_DEPTH
from core.models import WebhookEventRow
from tests.helpers import wait_for_run
from workflows.contracts import WebhookInput
from workflows.webhooks import WebhookWorkflow


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` deep, counting itself: {"a": {"a": ... {"a": 1}}}."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    result: dict[str, Any] = value
    return result


def nested_text(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def as_decimal(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, int | float | Decimal) else value


async def stored_after_run(
    http: httpx.AsyncClient, sessions: SessionFactory, response: httpx.Response
) -> Any:
    """The payload a webhook's run stored, once the run has completed."""
    assert response.status_code == 202, response.text
    run = await wait_for_run(http, response.json()["workflow_id"])
    assert run["status"] == "COMPLETED"
    async with sessions() as session:
        return await session.scalar(
            select(WebhookEventRow.payload).where(WebhookEventRow.workflow_id == run["workflow_id"])
        )


async def webhook_rows(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(WebhookEventRow)) or 0)


async def test_a_payload_at_the_depth_limit_is_stored_faithfully(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory
) -> None:
    payload = nested(MAX_JSON_DEPTH)
    response = await http.post("/webhooks", json=payload)

    kept = await stored_after_run(http, sessions, response)
    assert kept == payload


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 200, 254, 255, 600, 979, 5000])
async def test_a_payload_past_the_depth_limit_is_422(
    http: httpx.AsyncClient, sessions: SessionFactory, levels: int
) -> None:
    before = await webhook_rows(sessions)
    response = await http.post(
        "/webhooks", content=nested_text(levels), headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["type"] == "too_deep"
    assert f"deeper than {MAX_JSON_DEPTH} levels" in error["msg"]
    assert error["loc"][0] == "body"
    assert await webhook_rows(sessions) == before


@pytest.mark.parametrize(
    ("content", "loc", "message"),
    [
        ('{"s": "\\ud800"}', ["body", "s"], "lone UTF-16 surrogate"),
        ('{"\\udfff": 1}', ["body", "\udfff"], "lone UTF-16 surrogate"),
        ('{"x": NaN}', ["body", "x"], "NaN is not a JSON number"),
        ('{"x": Infinity}', ["body", "x"], "Infinity is not a JSON number"),
        ('{"x": [-Infinity]}', ["body", "x", 0], "-Infinity is not a JSON number"),
        ('{"x": 1e400}', ["body", "x"], "too large for a number"),
        ('{"x": -1e400}', ["body", "x"], "too large for a number"),
        ('{"x": ' + "9" * 5000 + "}", ["body", "x"], "integer of 5000 digits"),
        ('{"deep": {"n": "nul\\u0000"}}', ["body", "deep", "n"], "NUL character"),
    ],
)
async def test_what_cannot_be_kept_faithfully_is_422(
    http: httpx.AsyncClient, sessions: SessionFactory, content: str, loc: list[Any], message: str
) -> None:
    before = await webhook_rows(sessions)
    response = await http.post(
        "/webhooks", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert message in error["msg"]
    assert await webhook_rows(sessions) == before


async def test_bytes_that_are_not_utf8_are_422(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/webhooks", content=b'{"s": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert "not valid UTF-8" in response.json()["detail"][0]["msg"]


async def test_numbers_and_characters_at_their_limits_are_kept_exactly(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory
) -> None:
    """A surrogate pair is one character; the largest double and a 400-digit integer are
    numbers; all come back as they were sent."""
    content = (
        '{"emoji": "\\ud83d\\ude00", "big": 1.7976931348623157e308, "tiny": 5e-324, '
        '"long": ' + "7" * 400 + ', "neg": -0.5}'
    )
    response = await http.post(
        "/webhooks", content=content, headers={"content-type": "application/json"}
    )

    kept = await stored_after_run(http, sessions, response)
    sent = json.loads(content, parse_float=Decimal)
    # JSONB keeps a number's exact decimal value, so compare numbers as decimals: the largest
    # double comes back written out in full, 309 digits long.
    assert {k: as_decimal(v) for k, v in kept.items()} == {
        k: as_decimal(v) for k, v in sent.items()
    }
    assert kept["emoji"] == "\U0001f600"


async def test_the_same_door_guards_every_endpoint(http: httpx.AsyncClient) -> None:
    """Not only webhooks: an order with NaN for a quantity is a 422 that names it."""
    response = await http.post(
        "/orders",
        content='{"order": [{"item_id": "x", "quantity": NaN}]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "order", 0, "quantity"]


async def test_a_run_whose_input_cannot_be_decoded_fails_and_does_not_wedge(
    http: httpx.AsyncClient, worker: object, client: Client, task_queue: str
) -> None:
    """Started around the API, straight through Temporal, with an input the worker's
    converter cannot decode: the run fails at once with a clear error, and its description
    still answers."""
    webhook = WebhookInput(payload=nested(220), received_at=datetime.now(UTC))
    handle = await client.start_workflow(
        WebhookWorkflow.run, webhook, id=f"webhook-{uuid.uuid4().hex}", task_queue=task_queue
    )

    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(handle.result(), timeout=30)

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "UndecodablePayload"
    assert "cannot decode a payload" in cause.message
    response = await http.get(f"/runs/{handle.id}")
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "FAILED"
    assert run["error"]["type"] == "UndecodablePayload"


async def test_describing_a_run_whose_input_is_too_deep_to_show_answers(
    http: httpx.AsyncClient, client: Client, task_queue: str
) -> None:
    """No worker at all: the description shows a note in place of what it cannot show."""
    webhook = WebhookInput(payload=nested(240), received_at=datetime.now(UTC))
    handle = await client.start_workflow(
        WebhookWorkflow.run, webhook, id=f"webhook-{uuid.uuid4().hex}", task_queue=task_queue
    )
    try:
        response = await http.get(f"/runs/{handle.id}")
        assert response.status_code == 200, response.text
        assert "not shown" in response.json()["input"]
    finally:
        await handle.terminate()
