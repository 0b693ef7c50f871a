"""An order the API started eagerly, and whose first workflow task the API held when it was
SIGKILLed, is finished by the worker: completed once, with the stock taken once.

The API is stopped at the worst point: the order's row is written (its `create_order` step
committed) and its stock decrement is waiting on a row lock, so the lost task had done part
of its work and recorded none of it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from temporalio.client import Client

from core.temporal import DATA_CONVERTER
from tests.reliability.stack import ProcessStack
from workflows.contracts import CreateOrderResult, order_workflow_id
from workflows.orders import CreateOrderWorkflow

STOCK = 10
QUANTITY = 3


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def waiting_on_locks(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
def test_an_eager_task_lost_with_the_api_is_finished_by_the_worker(tmp_path: Path) -> None:
    stack = ProcessStack(tmp_path / "stack")
    stack.start()
    try:
        item = f"eager-{uuid.uuid4().hex[:8]}"
        http = httpx.Client(base_url=stack.api_url, timeout=30)
        assert (
            http.post("/store-items", json={"item_id": item, "quantity": STOCK}).status_code == 201
        )
        with psycopg.connect(plain_url(stack.database_url), autocommit=False) as holder:
            # FOR SHARE stops the decrement's FOR NO KEY UPDATE, not the order row's foreign
            # key check: `create_order` commits, `reserve_stock` waits.
            holder.execute("SELECT 1 FROM store_items WHERE item_id = %s FOR SHARE", (item,))
            answer = http.post("/orders", json={"order": [{"item_id": item, "quantity": QUANTITY}]})
            assert answer.status_code == 202, answer.text
            order_id = answer.json()["order_id"]
            with psycopg.connect(plain_url(stack.database_url), autocommit=True) as probe:
                deadline = time.monotonic() + 30
                while (
                    waiting_on_locks(probe) < 1
                    or not probe.execute(
                        "SELECT 1 FROM orders WHERE order_id = %s", (order_id,)
                    ).fetchone()
                ):
                    assert time.monotonic() < deadline, "the order never reached its decrement"
                    time.sleep(0.05)
            stack.kill_api()
            holder.rollback()

        result, events = asyncio.run(outcome(stack, order_id))
        assert result.status == "COMPLETED"
        with psycopg.connect(plain_url(stack.database_url)) as conn:
            stock = conn.execute("SELECT stock FROM store_items WHERE item_id = %s", (item,))
            assert stock.fetchone() == (STOCK - QUANTITY,), "the stock was taken exactly once"
            status = conn.execute("SELECT status FROM orders WHERE order_id = %s", (order_id,))
            assert status.fetchone() == ("COMPLETED",)
            ledger = conn.execute(
                "SELECT state, quantity FROM stock_ledger WHERE order_id = %s", (order_id,)
            )
            assert ledger.fetchall() == [("reserved", QUANTITY)]

        started = [e for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED"]
        assert "EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT" in [e["eventType"] for e in events]
        start = events[0]["workflowExecutionStartedEventAttributes"]
        assert start["eagerExecutionAccepted"] is True, "the API started the order eagerly"
        api, worker = identity(started[0]), identity(started[-1])
        assert api == start["identity"], "the first task ran in the API process, which started it"
        assert worker != api, "the API's lost task was finished by another process"
    finally:
        stack.stop()


async def outcome(
    stack: ProcessStack, order_id: str
) -> tuple[CreateOrderResult, list[dict[str, Any]]]:
    client = await Client.connect(stack.settings.temporal_target, data_converter=DATA_CONVERTER)
    handle = client.get_workflow_handle_for(CreateOrderWorkflow.run, order_workflow_id(order_id))
    # The lost task times out (10 s) before the worker can take it again.
    result = await asyncio.wait_for(handle.result(), timeout=90)
    history = (await handle.fetch_history()).to_json_dict()
    return result, history["events"]


def identity(event: dict[str, Any]) -> str:
    return str(event["workflowTaskStartedEventAttributes"]["identity"])
