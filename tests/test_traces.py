"""Traces: one order is one trace, from the HTTP request through the start call and the
workflow run to each step, with the right parents. Exported to memory, as a test exporter."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from api.app import create_app
from core.db import SessionFactory
from core.settings import Settings
from core.tracing import temporal_tracing
from statewright.flows import FLOWS
from tests.conftest import serve
from tests.helpers import dependencies_for_tests, stock_items, wait_for_run
from worker.main import build_worker


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


async def test_one_order_is_one_trace(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    item_prefix: str,
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 5})
    app = create_app(FLOWS, settings, database_url, client, tracer_provider=provider)
    worker = build_worker(
        FLOWS,
        client,
        task_queue,
        dependencies_for_tests(sessions),
        tracing=temporal_tracing(provider),
    )
    async with worker, serve(app, settings) as base, httpx.AsyncClient(base_url=base) as http:
        started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
        assert started.status_code == 202
        run = await wait_for_run(http, started.json()["workflow_id"])
        assert run["status"] == "COMPLETED"

    spans = [s for s in exporter.get_finished_spans() if s.context is not None]
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    server = next(s for s in spans if s.name == "POST /orders")
    trace_id = server.context.trace_id if server.context else 0
    mine = [s for s in spans if s.context is not None and s.context.trace_id == trace_id]
    names = [s.name for s in mine]

    def parent_name(span: ReadableSpan) -> str | None:
        parent = by_id.get(span.parent.span_id) if span.parent else None
        return parent.name if parent else None

    start = next(s for s in mine if s.name == "StartWorkflow:CreateOrderWorkflow")
    assert parent_name(start) == "POST /orders", "the start call is part of the request"
    run_span = next(s for s in mine if s.name == "RunWorkflow:CreateOrderWorkflow")
    assert parent_name(run_span) == "StartWorkflow:CreateOrderWorkflow"
    steps = [s for s in mine if s.name.startswith("RunActivity:")]
    assert {s.name for s in steps} >= {
        "RunActivity:check_stock",
        "RunActivity:reserve_stock",
        "RunActivity:create_order",
        "RunActivity:complete_order",
    }, names
    for step in steps:
        assert parent_name(step) == step.name.replace("RunActivity:", "StartActivity:")
        scheduled = by_id[step.parent.span_id] if step.parent else None
        # Temporal's interceptor parents what a workflow schedules on the context its start
        # carried: the start call's span (its RunWorkflow span is a sibling, not a parent).
        assert scheduled is not None
        assert parent_name(scheduled) == "StartWorkflow:CreateOrderWorkflow"
    other = {s.context.trace_id for s in spans if s.context and s.name.startswith("RunActivity")}
    assert other == {trace_id}, "every step of the order is in the order's trace"
