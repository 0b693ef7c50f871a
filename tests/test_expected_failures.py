"""An expected failure (a business rule) travels as a type and a message: no stack trace in
the history, where the Temporal UI shows it with the worker's file paths, and one line in the
worker's log, not a traceback. An unexpected error keeps its trace."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from core.db import SessionFactory
from tests.helpers import start_order, stock_items, worker_with
from workflows.contracts import CartCheck, CreateOrderInput


async def failures_in(handle: WorkflowHandle[Any, Any]) -> list[tuple[str, str, str]]:
    """(where, message, stack trace) of every failure the run's history holds."""
    found = []
    for event in (await handle.fetch_history()).events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.HasField("failure"):
                found.append(("step", marker.failure.message, marker.failure.stack_trace))
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = event.workflow_execution_failed_event_attributes.failure
            found.append(("run", failure.message, failure.stack_trace))
    return found


async def test_an_out_of_stock_order_fails_with_no_trace_and_one_log_line(
    client: Client,
    worker: object,
    task_queue: str,
    sessions: SessionFactory,
    item_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 1})
    caplog.set_level(logging.INFO)

    _, handle = await start_order(client, task_queue, **{a: 2})
    with pytest.raises(WorkflowFailureError):
        await handle.result()

    failures = await failures_in(handle)
    assert [where for where, _, _ in failures] == ["step", "run"]
    assert all(message.startswith("not in stock") for _, message, _ in failures)
    assert [trace for _, _, trace in failures] == ["", ""]
    ours = [r for r in caplog.records if r.name == "statewright.steps"]
    assert [r.levelno for r in ours] == [logging.INFO]
    assert "check_stock attempt 1" in ours[0].getMessage()
    assert not [r for r in caplog.records if r.name == "temporalio.activity" and r.exc_info]


async def test_an_unexpected_error_keeps_its_trace(
    client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 5})

    @activity.defn(name="check_stock")
    async def check_with_a_bug(order: CreateOrderInput) -> CartCheck:
        raise ZeroDivisionError("a bug")

    async with worker_with(client, task_queue, sessions, check_with_a_bug):
        _, handle = await start_order(client, task_queue, **{a: 2})
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    steps = [f for f in await failures_in(handle) if f[0] == "step"]
    assert steps and "unexpected ZeroDivisionError" in steps[-1][1]
    assert "check_with_a_bug" in steps[-1][2], "the trace points at the code that failed"
