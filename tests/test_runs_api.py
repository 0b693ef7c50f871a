"""The runs API for every workflow: list with filters, cancel, and idempotent starts."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from temporalio import activity
from temporalio.client import Client

from activities.cart_inventory import CartInventoryActivities
from api.app import create_app
from api.flows import workflow_type
from core.db import SessionFactory
from core.settings import Settings
from statewright.bench.invariants import assert_stock_invariants
from statewright.flows import FLOWS
from tests.helpers import (
    order_status,
    stock_items,
    stock_of,
    wait_for_run,
    worker_with,
)
from worker.flows import workflows_of
from workflows.contracts import CartLedgerResult, CreateOrderInput


def test_every_registered_workflow_can_be_filtered_on() -> None:
    registered = {workflow_type(wf) for wf in workflows_of(FLOWS)}
    schema = create_app(FLOWS, Settings(), "postgresql+psycopg://unused/none").openapi()
    listed = schema["components"]["schemas"]["WorkflowType"]["enum"]
    assert set(listed) == registered


async def test_list_filters_and_newest_first(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-l"
    await stock_items(sessions, **{item: 5})
    order = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
    await wait_for_run(http, order.json()["workflow_id"])
    payment = await http.post("/payments", json={"order": {"order_id": "o-l", "amount": "0"}})
    await wait_for_run(http, payment.json()["workflow_id"])
    hook = await http.post("/webhooks", json={"n": 1})
    await wait_for_run(http, hook.json()["workflow_id"])

    async def ids(**params: str) -> list[str]:
        response = await http.get("/runs", params=params)
        assert response.status_code == 200, response.text
        return [run["workflow_id"] for run in response.json()["runs"]]

    started = [order.json(), payment.json(), hook.json()]
    assert await ids() == [ref["workflow_id"] for ref in reversed(started)]
    assert await ids(workflow_type="WebhookWorkflow") == [hook.json()["workflow_id"]]
    assert await ids(status="FAILED") == [payment.json()["workflow_id"]]
    assert await ids(status="COMPLETED", workflow_type="CreateOrderWorkflow") == [
        order.json()["workflow_id"]
    ]
    assert await ids(status="RUNNING") == []
    assert await ids(limit="1") == [hook.json()["workflow_id"]]
    run = (await http.get("/runs", params={"limit": "1"})).json()["runs"][0]
    assert run["workflow_type"] == "WebhookWorkflow" and run["status"] == "COMPLETED"
    for bad in (
        {"workflow_type": "Nope"},
        {"status": "running"},
        {"limit": "0"},
        {"limit": "501"},
        {"order_id": "a'b"},
        {"page_token": "not a token"},
    ):
        assert (await http.get("/runs", params=bad)).status_code == 422, bad


async def test_runs_come_a_page_at_a_time(http: httpx.AsyncClient, worker: object) -> None:
    """Five webhooks, two to a page: three pages, no run twice, none missed."""
    started = []
    for n in range(5):
        hook = await http.post("/webhooks", json={"page": n})
        started.append(hook.json()["workflow_id"])
    for workflow_id in started:
        await wait_for_run(http, workflow_id)

    seen: list[str] = []
    params = {"workflow_type": "WebhookWorkflow", "limit": "2"}
    pages = 0
    while True:
        page = (await http.get("/runs", params=params)).json()
        pages += 1
        seen += [run["workflow_id"] for run in page["runs"]]
        if page["next_page_token"] is None:
            break
        params["page_token"] = page["next_page_token"]
    assert sorted(seen) == sorted(started)
    assert pages == 3


async def test_an_unknown_query_parameter_is_422_not_ignored(http: httpx.AsyncClient) -> None:
    """`offset` used to be ignored in silence; a client paging with it saw page one forever."""
    response = await http.get("/runs", params={"offset": "50"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "offset"]
    assert "page_token" in error["msg"]


async def test_runs_are_found_by_business_id(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    """Orders, payments and cases carry their business id as a search attribute, which the
    API filters on, and so can the Temporal UI."""
    item = f"{item_prefix}-b"
    await stock_items(sessions, **{item: 5})
    order = (await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})).json()
    payment_order = f"{item_prefix}-pay"
    pays = [
        (
            await http.post("/payments", json={"order": {"order_id": payment_order, "amount": "3"}})
        ).json()
        for _ in range(2)
    ]
    case = (await http.post("/cases", json={"case_id": f"{item_prefix}-c"})).json()
    for ref in (order, *pays, case):
        await wait_for_run(http, ref["workflow_id"])

    async def ids(**params: str) -> set[str]:
        return {
            run["workflow_id"] for run in (await http.get("/runs", params=params)).json()["runs"]
        }

    assert await ids(order_id=order["order_id"]) == {order["workflow_id"]}
    assert await ids(payment_order_id=payment_order) == {p["workflow_id"] for p in pays}
    assert await ids(case_id=f"{item_prefix}-c") == {case["workflow_id"]}
    assert await ids(order_id="no-such-order") == set()


async def test_cancel_a_running_run_then_404_and_409(
    http: httpx.AsyncClient,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    item_prefix: str,
) -> None:
    item = f"{item_prefix}-c"
    await stock_items(sessions, **{item: 5})
    # No worker yet: the run waits on its first task, so it is certainly still running.
    started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
    workflow_id = started.json()["workflow_id"]

    cancel = await http.post(f"/runs/{workflow_id}/cancel")
    assert cancel.status_code == 202
    assert cancel.json()["status"] == "CANCEL_REQUESTED"
    async with worker_with(client, task_queue, sessions):
        run = await wait_for_run(http, workflow_id)

    assert run["status"] == "CANCELED"
    assert await stock_of(sessions, item) == 5
    again = await http.post(f"/runs/{workflow_id}/cancel")
    assert again.status_code == 409
    assert "already CANCELED" in again.json()["detail"]
    assert (await http.post("/runs/no-such-run/cancel")).status_code == 404


@pytest.mark.parametrize("committed", [False, True], ids=["before-commit", "after-commit"])
async def test_cancel_while_stock_is_held_gives_it_back(
    http: httpx.AsyncClient,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    item_prefix: str,
    committed: bool,
) -> None:
    """The cart's decrement hangs, before or after its commit, and the run is cancelled. The
    compensation gives back whatever was taken, and the decrement, landing late, takes nothing."""
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 5, b: 5})
    inventory = CartInventoryActivities(sessions)
    reached, seen = asyncio.Event(), []

    @activity.defn(name="reserve_stock")
    async def hanging(order: CreateOrderInput) -> CartLedgerResult:
        seen.append(order)
        if committed:
            await inventory.reserve_stock(order)
        reached.set()
        await asyncio.Event().wait()  # until the cancel reaches it
        raise AssertionError("unreachable")

    async with worker_with(client, task_queue, sessions, hanging):
        started = await http.post(
            "/orders",
            json={"order": [{"item_id": a, "quantity": 2}, {"item_id": b, "quantity": 3}]},
        )
        order_id, workflow_id = started.json()["order_id"], started.json()["workflow_id"]
        await asyncio.wait_for(reached.wait(), 30)
        if committed:
            assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (3, 2)
        assert (await http.post(f"/runs/{workflow_id}/cancel")).status_code == 202
        run = await wait_for_run(http, workflow_id)

    late = await inventory.reserve_stock(seen[0])
    assert run["status"] == "CANCELED"
    assert (late.state, late.changed_stock) == ("released", False)
    assert await order_status(sessions, order_id) == "FAILED"
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (5, 5)
    await assert_stock_invariants(sessions, [a, b])


async def test_idempotent_order_start(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-i"
    await stock_items(sessions, **{item: 5})
    cart = [{"item_id": item, "quantity": 2}]
    headers = {"Idempotency-Key": f"cart-{item_prefix}"}

    first = await http.post("/orders", json={"order": cart}, headers=headers)
    await wait_for_run(http, first.json()["workflow_id"])
    repeat = await http.post("/orders", json={"order": cart}, headers=headers)
    seed_repeat = await http.post(
        "/create-order", json=[{"itemId": item, "quantity": 2}], headers=headers
    )
    changed = await http.post(
        "/orders", json={"order": [{"item_id": item, "quantity": 3}]}, headers=headers
    )

    assert first.status_code == repeat.status_code == seed_repeat.status_code == 202
    assert repeat.json() == first.json() == seed_repeat.json()
    assert changed.status_code == 409
    assert await stock_of(sessions, item) == 3, "the order was applied once"
    bad_key = await http.post("/orders", json={"order": cart}, headers={"Idempotency-Key": "a b"})
    assert bad_key.status_code == 422
    assert bad_key.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_idempotent_payment_start(
    http: httpx.AsyncClient, worker: object, provider: object
) -> None:
    body = {"order": {"order_id": "o-idem", "amount": "3.50"}}
    headers = {"Idempotency-Key": "pay-o-idem-1"}
    first = await http.post("/payments", json=body, headers=headers)
    await wait_for_run(http, first.json()["workflow_id"])
    repeat = await http.post("/payments", json=body, headers=headers)
    changed = await http.post(
        "/payments", json={"order": {"order_id": "o-idem", "amount": "3.51"}}, headers=headers
    )

    assert repeat.json() == first.json()
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 409
