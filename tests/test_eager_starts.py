"""Eager starts (`api.eager`): the API takes an order's or a webhook's first workflow task in
its start call's own answer, runs it in its own process, and falls back to ordinary starts
when it cannot. The API process here is the production one (`statewright.eager_api`); its
lost-task crash is in `tests/reliability/test_eager_crash.py`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from temporalio.client import Client

from api.app import create_app
from api.eager import EagerStarts, StartQueue
from core.db import SessionFactory
from core.settings import Settings
from statewright.eager_api import eager_worker
from statewright.flows import FLOWS
from tests.conftest import serve
from tests.helpers import dependencies_for_tests, stock_items, stock_of, wait_for_run
from worker.main import build_worker, eager_flows


@pytest.fixture
async def eager_api(settings: Settings, database_url: str, client: Client) -> AsyncIterator[str]:
    app = create_app(FLOWS, settings, database_url, client, eager_worker=eager_worker(settings))
    async with serve(app, settings) as base_url:
        yield base_url


async def started_event(client: Client, workflow_id: str) -> dict[str, Any]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    event: dict[str, Any] = history.to_json_dict()["events"][0]
    return event


async def test_orders_and_webhooks_start_eagerly_and_run_in_the_api_process(
    eager_api: str, client: Client, settings: Settings, sessions: SessionFactory, item_prefix: str
) -> None:
    """No worker of the test's runs these: only the API's own can."""
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 5})
    async with httpx.AsyncClient(base_url=eager_api, timeout=30) as http:
        order = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 2}]})
        webhook = await http.post("/webhooks", json={"event": "eager"})
        assert (order.status_code, webhook.status_code) == (202, 202)
        ids = [order.json()["workflow_id"], webhook.json()["workflow_id"]]
        runs = [await wait_for_run(http, workflow_id) for workflow_id in ids]
        listed = (await http.get("/runs", params={"limit": 10})).json()["runs"]

    assert [run["status"] for run in runs] == ["COMPLETED", "COMPLETED"]
    assert await stock_of(sessions, item) == 3
    for workflow_id in ids:
        attributes = (await started_event(client, workflow_id))[
            "workflowExecutionStartedEventAttributes"
        ]
        assert attributes["eagerExecutionAccepted"] is True
        assert attributes["taskQueue"]["name"] == settings.eager_task_queue
    assert {run["workflow_id"] for run in listed} >= set(ids), "GET /runs lists eager runs"


async def test_a_sync_webhook_answers_with_its_eager_run_s_result(eager_api: str) -> None:
    async with httpx.AsyncClient(base_url=eager_api, timeout=30) as http:
        answer = await http.post("/webhooks", params={"wait": "true"}, json={"event": "sync"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["stored"] is True


async def test_with_eager_starts_off_the_api_starts_runs_the_ordinary_way(
    settings: Settings, database_url: str, client: Client, worker: object
) -> None:
    off = settings.model_copy(update={"eager_start": False})
    assert eager_worker(off) is None
    app = create_app(FLOWS, off, database_url, client, eager_worker=eager_worker(off))
    async with serve(app, off) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        webhook = await http.post("/webhooks", params={"wait": "true"}, json={"event": "off"})
    assert webhook.status_code == 200, webhook.text
    attributes = (await started_event(client, webhook.json()["workflow_id"]))[
        "workflowExecutionStartedEventAttributes"
    ]
    assert not attributes.get("eagerExecutionAccepted")
    assert attributes["taskQueue"]["name"] == settings.task_queue


async def test_shutting_the_api_down_finishes_the_eager_task_it_holds(
    settings: Settings,
    database_url: str,
    client: Client,
    sessions: SessionFactory,
    item_prefix: str,
) -> None:
    """The order's decrement waits on a row lock while the API stops: the API's worker lets
    it finish, so the run completes in the API, with no task lost to a timeout."""
    item = f"{item_prefix}-held"
    await stock_items(sessions, **{item: 5})
    app = create_app(FLOWS, settings, database_url, client, eager_worker=eager_worker(settings))
    plain = database_url.replace("postgresql+psycopg://", "postgresql://")
    # A worker that never stops would hang here; the bound turns that into a failure.
    async with asyncio.timeout(30):
        async with await psycopg.AsyncConnection.connect(plain) as holder:
            await holder.execute("SELECT 1 FROM store_items WHERE item_id = %s FOR SHARE", (item,))
            async with serve(app, settings) as base:
                async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                    order = await http.post(
                        "/orders", json={"order": [{"item_id": item, "quantity": 1}]}
                    )
                assert order.status_code == 202
                await asyncio.sleep(0.5)  # the decrement is waiting now
                release = asyncio.get_running_loop().call_later(
                    1.0, lambda: asyncio.ensure_future(holder.rollback())
                )
            # `serve` returned: the API has shut down, its eager worker included.
            release.cancel()
    handle = client.get_workflow_handle(order.json()["workflow_id"])
    history = (await handle.fetch_history()).to_json_dict()["events"]
    assert history[0]["workflowExecutionStartedEventAttributes"]["eagerExecutionAccepted"]
    kinds = [event["eventType"] for event in history]
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert "EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT" not in kinds
    assert await stock_of(sessions, item) == 4


async def test_when_the_eager_worker_cannot_run_starts_turn_ordinary(
    client: Client, sessions: SessionFactory, task_queue: str
) -> None:
    """A worker that stops (here: its namespace does not exist) leaves the API working."""
    lost = await Client.connect(client.service_client.config.target_host, namespace="no-such")
    deps = dependencies_for_tests(sessions)
    eager = EagerStarts(
        lambda _, __: build_worker(eager_flows(FLOWS), lost, task_queue, deps),
        f"{task_queue}-eager",
    )
    await eager.attach(client, sessions)
    for _ in range(200):
        if not eager.active:
            break
        await asyncio.sleep(0.05)
    assert eager.start_queue(task_queue) == StartQueue(task_queue, eager=False)
    await eager.close()
