"""The order flow over HTTP, as a user drives it: real app, worker, Temporal and Postgres."""

from __future__ import annotations

import asyncio
import tomllib

import httpx

from core.db import SessionFactory
from statewright.bench.invariants import assert_stock_invariants
from tests.conftest import REPO
from tests.helpers import stock_of, wait_for_run


async def test_order_walkthrough(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-sku"
    created = await http.post("/store-items", json={"item_id": item, "quantity": 10})
    assert created.status_code == 201
    assert created.json() == {"item_id": item, "stock": 10}

    started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 2}]})
    assert started.status_code == 202
    assert started.headers["Server-Timing"].startswith("temporal;dur=")
    ref = started.json()
    assert ref["workflow_id"] == f"order-{ref['order_id']}"
    assert ref["status_url"] == f"/runs/{ref['workflow_id']}"
    assert ref["run_id"] and ref["ui_url"].endswith(f"/{ref['run_id']}/history")

    run = await wait_for_run(http, ref["workflow_id"])
    assert run["status"] == "COMPLETED"
    assert run["workflow_type"] == "CreateOrderWorkflow"
    assert run["input"]["lines"] == [{"item_id": item, "quantity": 2}]
    assert run["result"]["status"] == "COMPLETED"
    assert run["error"] is None
    names = [step["name"] for step in run["steps"]]
    assert sorted(names) == sorted(
        ["check_stock", "create_order", "reserve_stock", "complete_order"]
    )
    assert all(step["status"] == "COMPLETED" and step["attempts"] == 1 for step in run["steps"])

    order = (await http.get(f"/orders/{ref['order_id']}")).json()
    assert order["status"] == "COMPLETED"
    assert order["lines"] == [{"item_id": item, "quantity": 2}]
    assert (await http.get(f"/store-items/{item}")).json() == {"item_id": item, "stock": 8}
    listed = (await http.get("/store-items", params={"limit": 1000})).json()
    assert {"item_id": item, "stock": 8} in listed


async def test_seed_routes(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-seed"
    created = await http.post("/create-store-item", json={"itemId": item, "quantity": 3})
    assert created.status_code == 201

    started = await http.post("/create-order", json=[{"itemId": item, "quantity": 3}])
    assert started.status_code == 202
    run = await wait_for_run(http, started.json()["workflow_id"])
    assert run["status"] == "COMPLETED"
    assert await stock_of(sessions, item) == 0

    # The seed's second identical request fails: the item is no longer in stock.
    again = await http.post("/create-order", json=[{"itemId": item, "quantity": 3}])
    run = await wait_for_run(http, again.json()["workflow_id"])
    assert run["status"] == "FAILED"
    assert run["error"]["type"] == "NotInStock"
    assert run["error"]["message"] == f"not in stock: {item} (requested 3, available 0)"
    order = (await http.get(f"/orders/{again.json()['order_id']}")).json()
    assert order["status"] == "REJECTED"
    assert order["failure_reason"].startswith("not in stock")
    await assert_stock_invariants(sessions, [item])


async def test_unknown_ids_are_404(http: httpx.AsyncClient) -> None:
    for path in ("/store-items/nope", "/orders/nope", "/runs/nope"):
        response = await http.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.json()["detail"]


async def test_over_long_ids_are_422(http: httpx.AsyncClient) -> None:
    for path in ("/store-items/" + "x" * 65, "/orders/" + "x" * 65, "/runs/" + "x" * 201):
        response = await http.get(path)
        assert response.status_code == 422, path
        assert "at most" in response.json()["detail"][0]["msg"]


async def test_health_reports_every_part(http: httpx.AsyncClient, worker: object) -> None:
    # A new worker's first polls reach the server a moment after it starts.
    for _ in range(100):
        response = await http.get("/health")
        if response.json()["worker"] == "ok":
            break
        await asyncio.sleep(0.1)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "postgres": "ok",
        "temporal": "ok",
        "worker": "ok",
        "version": tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"],
    }


async def test_health_says_when_no_worker_polls(http: httpx.AsyncClient, task_queue: str) -> None:
    """The API takes work without a worker (runs wait), so this stays 200, and says so."""
    response = await http.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["worker"].startswith(f"none: no worker has polled task queue {task_queue!r}")


async def test_concurrent_orders_never_oversell(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    """Stock 5, 30 orders of 1 at once: exactly 5 complete, 25 fail, stock ends at 0."""
    item = f"{item_prefix}-hot"
    await http.post("/store-items", json={"item_id": item, "quantity": 5})

    async def order() -> str:
        response = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
        assert response.status_code == 202
        return str(response.json()["workflow_id"])

    workflow_ids = await asyncio.gather(*(order() for _ in range(30)))
    runs = await asyncio.gather(*(wait_for_run(http, wid) for wid in workflow_ids))

    statuses = [run["status"] for run in runs]
    assert statuses.count("COMPLETED") == 5
    assert statuses.count("FAILED") == 25
    assert all(run["error"]["type"] == "NotInStock" for run in runs if run["status"] == "FAILED")
    assert await stock_of(sessions, item) == 0
    await assert_stock_invariants(sessions, [item])
