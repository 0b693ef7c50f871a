"""Log lines as JSON: one order's request id, from the API's access line to its workflow's
steps."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import temporalio.client
from temporalio.client import Client

from core.db import SessionFactory
from core.logs import handler_for
from core.request_id_propagation import RequestIdPropagation
from core.temporal import with_request_ids
from tests.helpers import ScriptedRandom, stock_items, wait_for_run, worker_with

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """The log lines written so far in the test, each parsed as the JSON it must be."""
    stream = io.StringIO()
    handler = handler_for("json", stream)
    root, sdk = logging.getLogger(), logging.getLogger("temporalio")
    levels = root.level, sdk.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # As the processes run (`core.logs.configure`): the SDK's own loggers at warning.
    sdk.setLevel(logging.WARNING)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        sdk.setLevel(levels[1])


async def test_one_request_id_from_the_api_to_the_workflows_steps(
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
    item_prefix: str,
    json_lines: Lines,
) -> None:
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 1})
    request_id = f"req-{uuid.uuid4().hex}"
    started = await http.post(
        "/orders",
        json={"order": [{"item_id": item, "quantity": 5}]},
        headers={"X-Request-ID": request_id, "Authorization": "Bearer not-logged"},
    )
    assert started.status_code == 202
    assert started.headers["x-request-id"] == request_id
    workflow_id = started.json()["workflow_id"]
    assert (await wait_for_run(http, workflow_id))["status"] == "FAILED"

    mine = [line for line in json_lines() if line.get("request_id") == request_id]
    access = [line for line in mine if line["logger"] == "statewright.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [("POST", "/orders", 202)]
    assert {"time", "level", "message"} <= set(access[0])
    # The stock check turned the cart away: one line, at info, from inside the workflow's step.
    steps = [line for line in mine if line["logger"] == "statewright.steps"]
    assert len(steps) == 1 and steps[0]["level"] == "INFO"
    assert "not in stock" in steps[0]["message"]
    assert steps[0]["temporal_activity"]["workflow_id"] == workflow_id
    assert steps[0]["temporal_activity"]["activity_type"] == "check_stock"
    assert "Traceback" not in json.dumps(mine)
    assert "not-logged" not in json.dumps(json_lines()), "keys are never logged"


async def test_a_request_id_is_made_when_none_usable_is_sent(http: httpx.AsyncClient) -> None:
    made = await http.get("/health")
    assert len(made.headers["x-request-id"]) == 32
    refused = await http.get("/health", headers={"X-Request-ID": "two words"})
    assert refused.headers["x-request-id"] not in ("two words", made.headers["x-request-id"])


async def test_expected_outcomes_are_one_line_each_without_a_traceback(
    http: httpx.AsyncClient,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    json_lines: Lines,
) -> None:
    """A declined charge, an invalid amount and an escalated case: each is one line, at info,
    naming what happened and the run it happened in; none carries a traceback."""
    tag = uuid.uuid4().hex[:8]
    bodies = {
        "declined": ("/payments", {"order": {"order_id": f"big-{tag}", "amount": "5000.00"}}),
        "invalid": ("/payments", {"order": {"order_id": f"zero-{tag}", "amount": "0"}}),
        "escalated": ("/cases", {"case_id": f"case-{tag}", "on_unresolved": "fail"}),
    }
    runs = {}
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(0.1)):
        for outcome, (path, body) in bodies.items():
            started = await http.post(path, json=body)
            assert started.status_code == 202, started.text
            runs[outcome] = started.json()["workflow_id"]
            assert (await wait_for_run(http, runs[outcome]))["status"] == "FAILED"

    lines = json_lines()
    assert "Traceback" not in json.dumps(lines)
    said = {
        "declined": "declined",
        "invalid": "amount must be greater than 0",
        "escalated": f"case case-{tag} escalated",
    }
    for outcome, workflow_id in runs.items():
        about = [
            line
            for line in lines
            if line.get("temporal_activity", {}).get("workflow_id") == workflow_id
            and line["level"] in ("INFO", "WARNING")
        ]
        assert len(about) == 1, (outcome, about)
        assert said[outcome] in about[0]["message"], (outcome, about[0]["message"])
        assert about[0]["level"] == "INFO", outcome
        assert "exc_info" not in about[0] and "stack_info" not in about[0], outcome


def test_a_client_carries_the_request_id_once_however_often_it_is_wrapped(
    client: Client,
) -> None:
    once = with_request_ids(client)
    assert with_request_ids(once) is once
    traced = with_request_ids(once, temporalio.client.Interceptor())
    carriers = [i for i in traced.config()["interceptors"] if isinstance(i, RequestIdPropagation)]
    assert len(carriers) == 1
    assert len(traced.config()["interceptors"]) == len(once.config()["interceptors"]) + 1
