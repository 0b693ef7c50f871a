"""The order flow over HTTP, as a user drives it: real app, worker, Temporal and Postgres.

Every test runs both ways (`STATEWRIGHT_ENGINE`): on `CreateOrderWorkflow`, and on seed 000's
own state machine with its task handlers."""

from __future__ import annotations

import asyncio
import json
import tomllib

import httpx
import pytest
from sqlalchemy import text

from core.db import SessionFactory
from statewright.bench.invariants import assert_stock_invariants, stock_violations
from tests.conftest import ENGINES, REPO
from tests.helpers import stock_of, wait_for_run
from workflows.seed_ids import order_id_of


@pytest.fixture(params=ENGINES)
def statewright_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def workflow_id_of(engine: str, order_id: str) -> str:
    """The run an order's 202 names: its own workflow, or an execution of seed 000."""
    if engine == "workflows":
        return f"order-{order_id}"
    return f"execution-seed-000-shopping-order:{order_id}"


async def order_row(sessions: SessionFactory, order_id: str) -> tuple[str, str | None] | None:
    """An order row's status and its ledger state for the order's item, if it was written."""
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT o.status, (SELECT min(state) FROM stock_ledger l "
                    "WHERE l.order_id = o.order_id) FROM orders o WHERE o.order_id = :o"
                ),
                {"o": order_id},
            )
        ).one_or_none()
    return None if row is None else (row[0], row[1])


async def test_order_walkthrough(
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
    item_prefix: str,
    statewright_engine: str,
) -> None:
    item = f"{item_prefix}-sku"
    created = await http.post("/store-items", json={"item_id": item, "quantity": 10})
    assert created.status_code == 201
    assert created.json() == {"item_id": item, "stock": 10}

    started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 2}]})
    assert started.status_code == 202
    assert started.headers["Server-Timing"].startswith("temporal;dur=")
    ref = started.json()
    assert ref["workflow_id"] == workflow_id_of(statewright_engine, ref["order_id"])
    assert ref["status_url"] == f"/runs/{ref['workflow_id']}"
    assert ref["run_id"] and ref["ui_url"].endswith(f"/{ref['run_id']}/history")

    run = await wait_for_run(http, ref["workflow_id"])
    assert run["status"] == "COMPLETED"
    assert run["error"] is None
    if statewright_engine == "workflows":
        assert run["workflow_type"] == "CreateOrderWorkflow"
        assert run["input"]["lines"] == [{"item_id": item, "quantity": 2}]
        assert run["result"]["status"] == "COMPLETED"
        names = [step["name"] for step in run["steps"]]
        assert sorted(names) == sorted(
            ["check_stock", "create_order", "reserve_stock", "complete_order"]
        )
    else:
        assert run["workflow_type"] == "StateMachineExecution"
        assert run["input"]["input"] == {"order": [{"itemId": item, "quantity": 2}]}
        names = [step["input"]["function"] for step in run["steps"]]
        assert sorted(names) == ["createOrder", "isItemInStock", "updateItemStock"]
    assert all(step["status"] == "COMPLETED" and step["attempts"] == 1 for step in run["steps"])

    order = (await http.get(f"/orders/{ref['order_id']}")).json()
    assert order["order_id"] == ref["order_id"]
    assert order["workflow_id"] == ref["workflow_id"]
    assert order["status"] == "COMPLETED"
    assert order["lines"] == [{"item_id": item, "quantity": 2}]
    assert (await http.get(f"/store-items/{item}")).json() == {"item_id": item, "stock": 8}
    listed = (await http.get("/store-items", params={"limit": 1000})).json()
    assert {"item_id": item, "stock": 8} in listed


async def test_seed_routes(
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
    item_prefix: str,
    statewright_engine: str,
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
    order = (await http.get(f"/orders/{again.json()['order_id']}")).json()
    assert order["status"] == "REJECTED"
    if statewright_engine == "workflows":
        assert run["error"]["type"] == "NotInStock"
        assert run["error"]["message"] == f"not in stock: {item} (requested 3, available 0)"
        assert order["failure_reason"].startswith("not in stock")
    else:
        # The seed's handler's error, in Lambda's shape: the message is its error document.
        assert run["error"]["type"] == "ItemNotInStock"
        assert json.loads(run["error"]["message"])["errorMessage"] == f"Item {item} not in stock"
        assert order["failure_reason"] == f"Item {item} not in stock"
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
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
    item_prefix: str,
    statewright_engine: str,
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
    not_in_stock = "NotInStock" if statewright_engine == "workflows" else "ItemNotInStock"
    assert all(run["error"]["type"] == not_in_stock for run in runs if run["status"] == "FAILED")
    assert await stock_of(sessions, item) == 0
    if statewright_engine == "workflows":
        await assert_stock_invariants(sessions, [item])
        return
    # The seed has no compensation: a run that passed the check and lost the decrement race
    # may still have written its order (createOrder runs beside the decrement), COMPLETED,
    # holding no stock. No stock is oversold, and the ledger agrees with the stock; only
    # those order rows break the order invariants (see tests/sfn/test_differential.py).
    rows = [await order_row(sessions, order_id_of(run["input"]["execution_arn"])) for run in runs]
    for run, row in zip(runs, rows, strict=True):
        expected: list[tuple[str, str | None] | None] = [("COMPLETED", "reserved")]
        if run["status"] == "FAILED":
            expected = [None, ("COMPLETED", None)]
        assert row in expected, (run["workflow_id"], row)
    stray = [row for run, row in zip(runs, rows, strict=True) if run["status"] == "FAILED" and row]
    assert bool(await stock_violations(sessions, [item])) == bool(stray)


async def test_an_idempotency_key_names_one_order(
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
    item_prefix: str,
    statewright_engine: str,
) -> None:
    """The same key and cart is the same order, while it runs and after it has closed; the
    same key with another cart is 409, and starts nothing."""
    item = f"{item_prefix}-key"
    await http.post("/store-items", json={"item_id": item, "quantity": 5})
    key = {"Idempotency-Key": f"{item_prefix}-order"}
    cart = {"order": [{"item_id": item, "quantity": 2}]}
    first = await http.post("/orders", json=cart, headers=key)
    running = await http.post("/create-order", json=[{"itemId": item, "quantity": 2}], headers=key)
    run = await wait_for_run(http, first.json()["workflow_id"])
    closed = await http.post("/orders", json=cart, headers=key)
    other = await http.post(
        "/orders", json={"order": [{"item_id": item, "quantity": 1}]}, headers=key
    )

    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    for repeat in (running, closed):
        assert repeat.status_code == 202 and repeat.json() == first.json()
        assert repeat.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert "different request body" in other.json()["detail"]
    assert run["status"] == "COMPLETED"
    assert await stock_of(sessions, item) == 3, "one order, taken once"
