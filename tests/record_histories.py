"""Re-record the replay histories in tests/histories/.

    .venv/bin/python -m tests.record_histories

Only for a new workflow or a new branch. Never re-record to silence a failing replay test:
a failing replay means the change needs `workflow.patched()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.inventory import InventoryActivities
from core.db import SessionFactory, create_engine, create_session_factory
from core.embedded import start_postgres, temporal_binary
from core.migrate import upgrade
from core.temporal import DATA_CONVERTER
from tests.helpers import start_order, stock_items, worker_with
from workflows.contracts import LedgerResult, StockRequest

HISTORIES = Path(__file__).parent / "histories"
Scenario = Callable[[Client, str, SessionFactory], Awaitable[WorkflowHandle[Any, Any]]]


async def order_completed(client: Client, queue: str, sessions: SessionFactory) -> Any:
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    async with worker_with(client, queue, sessions):
        _, handle = await start_order(client, queue, **{"rec-a": 2, "rec-b": 1})
        await handle.result()
    return handle


async def order_not_in_stock(client: Client, queue: str, sessions: SessionFactory) -> Any:
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 0})
    async with worker_with(client, queue, sessions):
        _, handle = await start_order(client, queue, **{"rec-a": 2, "rec-b": 1})
        await _settle(handle)
    return handle


async def order_compensated(client: Client, queue: str, sessions: SessionFactory) -> Any:
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    inventory = InventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_after_rival(request: StockRequest) -> LedgerResult:
        if request.item_id == "rec-b":
            await stock_items(sessions, **{"rec-b": 0})
        return await inventory.reserve_stock(request)

    async with worker_with(client, queue, sessions, reserve_after_rival):
        _, handle = await start_order(client, queue, **{"rec-a": 2, "rec-b": 1})
        await _settle(handle)
    return handle


SCENARIOS: dict[str, Scenario] = {
    "order_completed": order_completed,
    "order_not_in_stock": order_not_in_stock,
    "order_compensated": order_compensated,
}


async def _settle(handle: WorkflowHandle[Any, Any]) -> None:
    with contextlib.suppress(Exception):  # the failure is the branch being recorded
        await handle.result()


async def record() -> None:
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pg = start_postgres(Path(tmp) / "pg")
        upgrade(pg.url)
        engine = create_engine(pg.url)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(), data_converter=DATA_CONVERTER
        )
        try:
            sessions = create_session_factory(engine)
            for name, scenario in SCENARIOS.items():
                handle = await scenario(env.client, f"record-{uuid.uuid4().hex}", sessions)
                history = await handle.fetch_history()
                path = HISTORIES / f"{name}.json"
                path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
                print(f"recorded {path.relative_to(HISTORIES.parent.parent)}")
        finally:
            await env.shutdown()
            await engine.dispose()
            pg.stop()


if __name__ == "__main__":
    asyncio.run(record())
