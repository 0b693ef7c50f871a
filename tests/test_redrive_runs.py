"""`POST /runs/{id}/redrive` for every workflow: a state machine's execution continues where
it failed; a hand-written run runs again where that is safe, and is refused, saying why,
where it is not."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import httpx
import pytest

from activities.payment_provider import Charge, SimulatedPaymentProvider
from core.db import SessionFactory
from tests.helpers import stock_items, wait_for_run
from tests.sfn.aws import Aws
from tests.sfn.handlers import BROKEN, SEEN
from tests.sfn.harness import lambda_arn


class BuggyProvider(SimulatedPaymentProvider):
    """A provider whose client has a bug until a test fixes it: an unexpected error, which
    the charge step gives up on after a few attempts."""

    broken = True

    async def charge(self, order_id: str, amount: Decimal, idempotency_key: str) -> Charge:
        if self.broken:
            raise RuntimeError("the provider's client is broken")
        return await super().charge(order_id, amount, idempotency_key)


@pytest.fixture
def provider() -> SimulatedPaymentProvider:
    return BuggyProvider(decline_above=Decimal("1000.00"))


async def test_an_execution_is_redriven_through_the_runs_api(
    http: httpx.AsyncClient, api: str, worker: object
) -> None:
    key = uuid.uuid4().hex[:10]
    aws = Aws(api)
    definition = {
        "StartAt": "Once",
        "States": {
            "Once": {
                "Type": "Task",
                "Resource": lambda_arn("fixable"),
                "Parameters": {"key": f"{key}-once", "value": 1},
                "ResultPath": "$.once",
                "Next": "Down",
            },
            "Down": {
                "Type": "Task",
                "Resource": lambda_arn("fixable"),
                "Parameters": {"key": f"{key}-down", "value": 2},
                "End": True,
            },
        },
    }
    arn = await aws.machine(f"runs-redrive-{key}", definition)
    BROKEN.add(f"{key}-down")
    try:
        started = await aws("start_execution", stateMachineArn=arn, name="x", input="{}")
        await aws.finished(started["executionArn"])
    finally:
        BROKEN.discard(f"{key}-down")
    workflow_id = f"execution-runs-redrive-{key}:x"
    assert (await http.get(f"/runs/{workflow_id}")).json()["status"] == "FAILED"

    answer = await http.post(f"/runs/{workflow_id}/redrive")
    assert answer.status_code == 202, answer.text
    assert answer.json()["redrive_count"] == 1
    assert answer.json()["status_url"] == f"/runs/{workflow_id}"
    run = await wait_for_run(http, workflow_id)
    assert run["status"] == "COMPLETED" and run["run_id"] == answer.json()["run_id"]
    assert run["redrive_count"] == 1
    assert run["redrive_date"] == answer.json()["redrive_date"]
    assert run["result"] == {"value": 2}
    assert len(SEEN[f"{key}-once"]) == 1 and len(SEEN[f"{key}-down"]) == 2

    again = await http.post(f"/runs/{workflow_id}/redrive")
    assert again.status_code == 409 and "COMPLETED" in again.json()["detail"]


async def test_a_failed_order_is_not_redriven_because_it_was_compensated(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 1})
    started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 5}]})
    run = await wait_for_run(http, started.json()["workflow_id"])
    assert run["status"] == "FAILED"
    refused = await http.post(f"/runs/{run['workflow_id']}/redrive")
    assert refused.status_code == 409
    assert "compensated" in refused.json()["detail"]
    assert "start a new order" in refused.json()["detail"]


async def test_a_payment_that_failed_a_business_rule_is_not_redriven(
    http: httpx.AsyncClient, worker: object
) -> None:
    started = await http.post(
        "/payments", json={"order": {"order_id": f"o-{uuid.uuid4().hex[:8]}", "amount": "0"}}
    )
    run = await wait_for_run(http, started.json()["workflow_id"])
    assert run["status"] == "FAILED"
    refused = await http.post(f"/runs/{run['workflow_id']}/redrive")
    assert refused.status_code == 409
    assert "business rule (InvalidOrder)" in refused.json()["detail"]


async def test_a_payment_whose_charge_step_failed_is_redriven_and_charged_once(
    http: httpx.AsyncClient, worker: object, provider: BuggyProvider
) -> None:
    order_id = f"o-{uuid.uuid4().hex[:8]}"
    started = await http.post("/payments", json={"order": {"order_id": order_id, "amount": "5"}})
    workflow_id = started.json()["workflow_id"]
    failed = await wait_for_run(http, workflow_id)
    assert failed["status"] == "FAILED" and failed["error"]["type"] == "StepFailed"

    provider.broken = False
    answer = await http.post(f"/runs/{workflow_id}/redrive")
    assert answer.status_code == 202, answer.text
    done = await wait_for_run(http, workflow_id)
    assert done["status"] == "COMPLETED", done
    assert done["redrive_count"] == 1 and failed["redrive_count"] == 0
    assert done["result"]["order_id"] == order_id
    assert provider.money_moved[order_id] == 1
    # Both runs are found by the order id: the redrive kept the run's search attributes.
    for _ in range(50):  # visibility may lag the start by a moment
        found = (await http.get(f"/payments/{order_id}")).json()
        if len(found["runs"]) == 2:
            break
        await asyncio.sleep(0.1)
    assert found["charge"] is not None
    assert [run["workflow_id"] for run in found["runs"]] == [workflow_id, workflow_id]

    twice = await http.post(f"/runs/{workflow_id}/redrive")
    assert twice.status_code == 409


async def test_unknown_and_running_runs(http: httpx.AsyncClient, worker: object, api: str) -> None:
    missing = await http.post("/runs/order-does-not-exist/redrive")
    assert missing.status_code == 404
    aws = Aws(api)
    name = f"runs-hold-{uuid.uuid4().hex[:8]}"
    arn = await aws.machine(
        name, {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}
    )
    started = await aws("start_execution", stateMachineArn=arn, name="x", input=json.dumps({}))
    running = await http.post(f"/runs/execution-{name}:x/redrive")
    assert running.status_code == 409 and "RUNNING" in running.json()["detail"]
    await aws("stop_execution", executionArn=started["executionArn"])
