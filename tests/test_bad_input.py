"""Bad input gets a clear 4xx naming the problem, and nothing is written or started."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from api.app import create_app
from core.db import SessionFactory
from core.models import OrderRow, StockLedgerRow
from core.settings import Settings
from statewright.flows import FLOWS
from tests.helpers import stock_items, stock_of

CASES: list[tuple[str, Any, int, str]] = [
    ("zero quantity", {"order": [{"item_id": "ITEM", "quantity": 0}]}, 422, "greater than 0"),
    ("negative quantity", {"order": [{"item_id": "ITEM", "quantity": -2}]}, 422, "greater than 0"),
    ("fractional quantity", {"order": [{"item_id": "ITEM", "quantity": 1.5}]}, 422, "integer"),
    ("quantity as text", {"order": [{"item_id": "ITEM", "quantity": "2"}]}, 422, "integer"),
    ("empty cart", {"order": []}, 422, "at least 1 item"),
    (
        "too many lines",
        {"order": [{"item_id": f"i{n}", "quantity": 1} for n in range(101)]},
        422,
        "at most 100 items",
    ),
    (
        "unknown item",
        {"order": [{"item_id": "ITEM", "quantity": 1}, {"item_id": "no-such-item", "quantity": 1}]},
        422,
        "unknown store item 'no-such-item'",
    ),
    (
        "duplicate item",
        {"order": [{"item_id": "ITEM", "quantity": 1}, {"item_id": "ITEM", "quantity": 1}]},
        422,
        "more than one line",
    ),
    ("missing quantity", {"order": [{"item_id": "ITEM"}]}, 422, "Field required"),
    ("missing order", {"cart": []}, 422, "Field required"),
    (
        "unknown field",
        {"order": [{"item_id": "ITEM", "qty": 1, "quantity": 1}]},
        422,
        "Extra inputs are not permitted",
    ),
    ("empty item id", {"order": [{"item_id": "", "quantity": 1}]}, 422, "at least 1 character"),
    ("NUL in item id", {"order": [{"item_id": "a\x00b", "quantity": 1}]}, 422, "NUL character"),
    ("newline in item id", {"order": [{"item_id": "a\nb", "quantity": 1}]}, 422, "match pattern"),
    (
        "over-long item id",
        {"order": [{"item_id": "x" * 65, "quantity": 1}]},
        422,
        "at most 64 characters",
    ),
]


def fill(body: Any, item: str) -> bytes:
    return json.dumps(body).replace('"ITEM"', json.dumps(item)).encode()


@dataclass
class Watched:
    """A store item with stock 5, and the state to compare against after a rejected request."""

    item: str
    sessions: SessionFactory
    client: Client
    task_queue: str
    orders_before: int

    async def assert_nothing_written(self) -> None:
        assert await order_count(self.sessions) == self.orders_before
        async with self.sessions() as session:
            ledger = select(func.count()).where(StockLedgerRow.item_id == self.item)
            assert await session.scalar(ledger) == 0
        assert await stock_of(self.sessions, self.item) == 5
        started = [
            wf async for wf in self.client.list_workflows(f"TaskQueue = '{self.task_queue}'")
        ]
        assert started == []


async def order_count(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0)


@pytest.fixture
async def watched(
    sessions: SessionFactory, client: Client, task_queue: str, item_prefix: str
) -> Watched:
    item = f"{item_prefix}-x"
    await stock_items(sessions, **{item: 5})
    return Watched(item, sessions, client, task_queue, await order_count(sessions))


@pytest.mark.parametrize(("case", "body", "status", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_order_is_rejected(
    http: httpx.AsyncClient, watched: Watched, case: str, body: Any, status: int, message: str
) -> None:
    response = await http.post(
        "/orders", content=fill(body, watched.item), headers={"content-type": "application/json"}
    )

    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert any(message in error["msg"] for error in detail), detail
    assert all(error["loc"][0] == "body" for error in detail), "the error names the field"
    await watched.assert_nothing_written()


async def test_error_names_the_line(http: httpx.AsyncClient, item_prefix: str) -> None:
    body = {"order": [{"item_id": "a", "quantity": 1}, {"item_id": "b", "quantity": 0}]}
    detail = (await http.post("/orders", json=body)).json()["detail"]
    assert detail[0]["loc"] == ["body", "order", 1, "quantity"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        (b"{not json", "application/json", 422, "JSON decode error"),
        (b"order=1", "application/x-www-form-urlencoded", 415, "send application/json"),
        (b"[1, 2]", "text/plain", 415, "unsupported content type 'text/plain'"),
        (b'{"order": []}', "", 415, "unsupported content type 'none'"),
    ],
)
async def test_non_json_is_rejected(
    http: httpx.AsyncClient,
    watched: Watched,
    content: bytes,
    content_type: str,
    status: int,
    message: str,
) -> None:
    headers = {"content-type": content_type} if content_type else {}

    response = await http.post("/orders", content=content, headers=headers)

    assert response.status_code == status, response.text
    assert message in json.dumps(response.json())
    await watched.assert_nothing_written()


async def test_body_over_one_mib_is_413(http: httpx.AsyncClient, watched: Watched) -> None:
    padding = "x" * (1024 * 1024)
    body = json.dumps(
        {"order": [{"item_id": watched.item, "quantity": 1}], "pad": padding}
    ).encode()

    declared = await http.post(
        "/orders", content=body, headers={"content-type": "application/json"}
    )

    async def chunks() -> Any:  # no Content-Length: the limit must hold while streaming too
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    streamed = await http.post(
        "/orders", content=chunks(), headers={"content-type": "application/json"}
    )

    for response in (declared, streamed):
        assert response.status_code == 413
        assert "larger than the limit of 1048576 bytes" in response.json()["detail"]
    await watched.assert_nothing_written()


async def test_bad_store_item_is_rejected(http: httpx.AsyncClient, item_prefix: str) -> None:
    item = f"{item_prefix}-neg"
    response = await http.post("/store-items", json={"item_id": item, "quantity": -1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "quantity"]
    assert (await http.get(f"/store-items/{item}")).status_code == 404


POST_PATHS = sorted(
    path.replace("{case_id}", "c-1").replace("{workflow_id}", "wf-1")
    for path, methods in create_app(FLOWS, Settings(), "postgresql+psycopg://unused/none")
    .openapi()["paths"]
    .items()
    if "post" in methods
)


@pytest.mark.parametrize("path", POST_PATHS)
async def test_every_endpoint_limits_the_body(http: httpx.AsyncClient, path: str) -> None:
    big = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = await http.post(path, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413, f"{path}: {response.status_code}"
    text = await http.post(path, content=b"hello", headers={"content-type": "text/plain"})
    assert text.status_code == 415, f"{path}: {text.status_code}"
