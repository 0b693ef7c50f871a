"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import random
import tempfile
import uuid
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.dependencies import Dependencies
from activities.payment_provider import SimulatedPaymentProvider
from core.db import SessionFactory
from core.models import OrderRow, StockLedgerRow, StoreItemRow
from core.publisher import LocalPagePublisher
from core.stock import set_stock
from statewright.flows import FLOWS
from worker.flows import activities_of
from worker.main import build_worker
from workflows.contracts import CreateOrderInput, OrderLine, order_workflow_id
from workflows.orders import CreateOrderWorkflow


async def stock_items(sessions: SessionFactory, **stock: int) -> None:
    async with sessions.begin() as session:
        for item_id, quantity in stock.items():
            await set_stock(session, item_id, quantity)


async def stock_of(sessions: SessionFactory, item_id: str) -> int | None:
    async with sessions() as session:
        return await session.scalar(
            select(StoreItemRow.stock).where(StoreItemRow.item_id == item_id)
        )


async def order_status(sessions: SessionFactory, order_id: str) -> str | None:
    async with sessions() as session:
        return await session.scalar(select(OrderRow.status).where(OrderRow.order_id == order_id))


async def ledger_rows(sessions: SessionFactory, order_id: str) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(StockLedgerRow.item_id, StockLedgerRow.state).where(
                StockLedgerRow.order_id == order_id
            )
        )
        return {item_id: state for item_id, state in rows}


async def count_orders(sessions: SessionFactory, order_id: str) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(select(func.count()).where(OrderRow.order_id == order_id)) or 0
        )


def activity_name(fn: Callable[..., Any]) -> str:
    definition = fn.__temporal_activity_definition  # type: ignore[attr-defined]
    return str(definition.name)


def dependencies_for_tests(sessions: SessionFactory, **overrides: Any) -> Dependencies:
    """Production dependencies with test defaults: a fresh simulated provider, no reporting
    API (a report test names its own), and a throwaway site folder."""
    defaults: dict[str, Any] = {
        "sessions": sessions,
        "provider": SimulatedPaymentProvider(decline_above=Decimal("1000.00")),
        "reports_api_url": "http://127.0.0.1:9",
        "publisher": LocalPagePublisher(Path(tempfile.mkdtemp(prefix="site-"))),
    }
    return Dependencies(**{**defaults, **{k: v for k, v in overrides.items() if v is not None}})


def worker_with(
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    *overrides: Callable[..., Any],
    **dependencies: Any,
) -> Worker:
    """The production worker, with some activities replaced by test doubles of the same name,
    and any dependency (provider, rng, reports_api_url, publisher) replaced by keyword."""
    replaced = {activity_name(fn): fn for fn in overrides}
    deps = dependencies_for_tests(sessions, **dependencies)
    activities = [replaced.get(activity_name(fn), fn) for fn in activities_of(FLOWS, deps)]
    return build_worker(FLOWS, client, task_queue, deps, activities=activities)


async def start_order(
    client: Client, task_queue: str, **lines: int
) -> tuple[str, WorkflowHandle[Any, Any]]:
    order_id = uuid.uuid4().hex
    order = CreateOrderInput(
        order_id=order_id,
        lines=[OrderLine(item_id=item, quantity=qty) for item, qty in lines.items()],
    )
    handle = await client.start_workflow(
        CreateOrderWorkflow.run, order, id=order_workflow_id(order_id), task_queue=task_queue
    )
    return order_id, handle


async def wait_for_run(http: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    """Poll `GET /runs/{id}` until the run has closed; return what it says."""
    for _ in range(300):
        run: dict[str, Any] = (await http.get(f"/runs/{workflow_id}")).json()
        if run["status"] != "RUNNING":
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {workflow_id} still running")


def step(run: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in run["steps"] if s["name"] == name)
    return found


class ScriptedRandom(random.Random):
    """A random source that returns the values it was given, to script Work on Case:
    0.9 resolves a case, 0.1 leaves it unresolved."""

    def __init__(self, *values: float) -> None:
        super().__init__()
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


async def until_waiting_for_tier2(handle: WorkflowHandle[Any, Any]) -> None:
    """Poll the case's query until it waits for tier 2 (the query is remote: no local event)."""
    for _ in range(200):
        if await handle.query("waiting_for_tier2"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the case never started waiting for tier 2")


def table_rows(html: str) -> list[list[str]]:
    """The text of every body row of the page's report table."""
    parser = _TableParser()
    parser.feed(html)
    return parser.rows


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route, including those of included routers (FastAPI nests them lazily)."""
    found: list[APIRoute] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(r for r in route.original_router.routes if isinstance(r, APIRoute))
    return found
