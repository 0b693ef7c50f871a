"""`GET /runs/{id}` tells the truth about every step: its real input and result, and times
in order (scheduled <= started <= closed). Local steps showed `"input": null`, no start
time, and a close time before their schedule time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from temporalio import activity
from temporalio.client import Client

from activities.cases import CaseActivities
from core.db import SessionFactory
from tests.helpers import ScriptedRandom, stock_items, wait_for_run, worker_with
from workflows.contracts import CaseProgress, CaseStep


def assert_told_truly(run: dict[str, Any]) -> None:
    """Every step has its input, and its times are there and in order."""
    assert run["steps"], run
    for step in run["steps"]:
        assert step["input"] is not None, step
        times = [step["scheduled_at"], step["started_at"], step["closed_at"]]
        assert None not in times, step
        scheduled, started, closed = (datetime.fromisoformat(t) for t in times)
        assert scheduled <= started <= closed, step


async def test_every_step_of_an_order_shows_its_input(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 5})
    order = (await http.post("/orders", json={"order": [{"item_id": item, "quantity": 2}]})).json()
    run = await wait_for_run(http, order["workflow_id"])

    assert_told_truly(run)
    steps = {step["name"]: step for step in run["steps"]}
    cart = {"order_id": order["order_id"], "lines": [{"item_id": item, "quantity": 2}]}
    assert steps["check_stock"]["input"] == cart
    assert steps["reserve_stock"]["input"] == cart
    assert steps["complete_order"]["input"] == {"order_id": order["order_id"]}
    assert steps["reserve_stock"]["result"]["state"] == "reserved"


async def test_every_step_of_a_payment_a_webhook_and_a_case_shows_its_input(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    async with worker_with(client, task_queue, sessions, rng=ScriptedRandom(0.9)):
        pay = await http.post("/payments", json={"order": {"order_id": "view-1", "amount": "7"}})
        hook = await http.post("/webhooks", json={"seen": True})
        case = await http.post("/cases", json={"case_id": "view-case-1"})
        runs = [await wait_for_run(http, r.json()["workflow_id"]) for r in (pay, hook, case)]

    for run in runs:
        assert_told_truly(run)
    payment, webhook, support = runs
    assert payment["steps"][0]["input"] == {"order_id": "view-1", "amount": "7"}
    assert webhook["steps"][0]["input"]["payload"] == {"seen": True}
    assert [s["input"]["step"] for s in support["steps"]] == ["open", "assign", "work-1", "close"]


async def test_a_step_retried_on_a_timer_is_one_step_with_its_input(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """Past 5 s, a local step's retry waits on a durable timer and goes on under a new
    sequence number: still one step, with all its attempts and its input."""
    real = CaseActivities(sessions, ScriptedRandom(0.9))

    @activity.defn(name="assign_case")
    async def assign_after_six_failures(step: CaseStep) -> CaseProgress:
        if activity.info().attempt <= 6:
            raise ConnectionError("assignment service away")
        return await real.assign_case(step)

    async with worker_with(
        client, task_queue, sessions, assign_after_six_failures, rng=ScriptedRandom(0.9)
    ):
        case = await http.post("/cases", json={"case_id": "view-case-2"})
        run = await wait_for_run(http, case.json()["workflow_id"])

    assert_told_truly(run)
    [assign] = [s for s in run["steps"] if s["name"] == "assign_case"]
    assert (assign["status"], assign["attempts"]) == ("COMPLETED", 7)
    assert assign["input"]["step"] == "assign"
