"""ProcessOrderWorkflow over HTTP: Validate, Charge, Record, against real services; only the
payment provider is simulated, as it is external by design."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from activities.payment_provider import SimulatedPaymentProvider, payment_id_for
from core.db import SessionFactory
from core.models import OrderRecordRow, PaymentRow
from tests.helpers import step, wait_for_run, worker_with


def new_order_id() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


async def pay(
    http: httpx.AsyncClient, order_id: str, amount: Any, **headers: str
) -> httpx.Response:
    return await http.post(
        "/payments", json={"order": {"order_id": order_id, "amount": amount}}, headers=headers
    )


async def rows(sessions: SessionFactory, model: type, order_id: str) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(model).where(model.order_id == order_id)  # type: ignore[attr-defined]
        return int(await session.scalar(query) or 0)


async def test_valid_order_is_validated_charged_and_recorded(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory
) -> None:
    order_id = new_order_id()
    started = await pay(http, order_id, "19.99")
    assert started.status_code == 202
    assert started.json()["order_id"] == order_id
    assert started.json()["workflow_id"].startswith("payment-")

    run = await wait_for_run(http, started.json()["workflow_id"])

    assert run["status"] == "COMPLETED"
    assert run["workflow_type"] == "ProcessOrderWorkflow"
    result = run["result"]
    assert result["order_id"] == order_id
    assert result["amount"] == "19.99", "money stays a decimal string, never a float"
    assert result["validated"] is True and result["charged"] is True
    assert result["payment_id"] == payment_id_for(order_id)
    assert result["recorded_at"]
    assert [s["name"] for s in run["steps"]] == ["validate_order", "charge_payment", "record_order"]
    async with sessions() as session:
        record = await session.get(OrderRecordRow, order_id)
    assert record is not None
    assert record.amount == Decimal("19.99") and record.payment_id == result["payment_id"]


async def test_amount_as_json_number_is_still_a_decimal(
    http: httpx.AsyncClient, worker: object
) -> None:
    started = await pay(http, new_order_id(), 0.1)
    run = await wait_for_run(http, started.json()["workflow_id"])
    assert run["result"]["amount"] == "0.1"


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
async def test_amount_not_above_zero_fails_the_run(
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
    provider: SimulatedPaymentProvider,
    amount: str,
) -> None:
    order_id = new_order_id()
    started = await pay(http, order_id, amount)
    assert started.status_code == 202, "the API checks shape only; the workflow decides"

    run = await wait_for_run(http, started.json()["workflow_id"])

    assert run["status"] == "FAILED"
    assert run["error"] == {
        "message": "amount must be greater than 0",
        "type": "InvalidOrder",
        "cause": run["error"]["cause"],
    }
    assert step(run, "validate_order")["attempts"] == 1, "a business error is not retried"
    assert [s["name"] for s in run["steps"]] == ["validate_order"]
    assert provider.money_moved[order_id] == 0
    assert await rows(sessions, PaymentRow, order_id) == 0


async def test_declined_payment_fails_without_charging(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory
) -> None:
    order_id = new_order_id()
    run = await wait_for_run(http, (await pay(http, order_id, "1000.01")).json()["workflow_id"])

    assert run["status"] == "FAILED"
    assert run["error"]["type"] == "PaymentDeclined"
    assert run["error"]["message"] == "payment declined: 1000.01 is over the limit of 1000.00"
    assert step(run, "charge_payment")["attempts"] == 1
    assert await rows(sessions, PaymentRow, order_id) == 0
    assert await rows(sessions, OrderRecordRow, order_id) == 0


async def test_transient_provider_failure_is_retried_and_succeeds(
    http: httpx.AsyncClient, client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    flaky = SimulatedPaymentProvider(decline_above=Decimal("1000"), transient_failures=2)
    order_id = new_order_id()
    async with worker_with(client, task_queue, sessions, provider=flaky):
        run = await wait_for_run(http, (await pay(http, order_id, "5.00")).json()["workflow_id"])

    assert run["status"] == "COMPLETED"
    charge = step(run, "charge_payment")
    assert charge["attempts"] == 3, "two simulated outages, then success"
    assert charge["status"] == "COMPLETED"
    assert flaky.money_moved[order_id] == 1
    assert await rows(sessions, PaymentRow, order_id) == 1


async def test_double_charge_is_prevented(
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
    provider: SimulatedPaymentProvider,
) -> None:
    """Two separate runs for the same order: one charge, one payment, the same payment id."""
    order_id = new_order_id()
    first = await wait_for_run(http, (await pay(http, order_id, "42.00")).json()["workflow_id"])
    second = await wait_for_run(http, (await pay(http, order_id, "42.00")).json()["workflow_id"])

    assert first["workflow_id"] != second["workflow_id"]
    assert first["status"] == second["status"] == "COMPLETED"
    assert first["result"]["payment_id"] == second["result"]["payment_id"]
    assert first["result"]["recorded_at"] == second["result"]["recorded_at"]
    assert provider.money_moved[order_id] == 1
    assert await rows(sessions, PaymentRow, order_id) == 1
    assert await rows(sessions, OrderRecordRow, order_id) == 1

    other = await wait_for_run(http, (await pay(http, order_id, "43.00")).json()["workflow_id"])
    assert other["status"] == "FAILED"
    assert other["error"]["type"] == "PaymentConflict"
    assert provider.money_moved[order_id] == 1


@pytest.mark.parametrize(
    ("order", "loc"),
    [
        ({"order_id": "o-1", "amount": "19.999"}, "amount"),
        ({"order_id": "o-1", "amount": "NaN"}, "amount"),
        ({"order_id": "o-1", "amount": "Infinity"}, "amount"),
        ({"order_id": "o-1", "amount": "ten"}, "amount"),
        ({"order_id": "o-1", "amount": "12345678901.00"}, "amount"),
        ({"order_id": "o-1"}, "amount"),
        ({"order_id": "", "amount": "1.00"}, "order_id"),
        ({"order_id": "   ", "amount": "1.00"}, "order_id"),
        ({"order_id": "x" * 65, "amount": "1.00"}, "order_id"),
        ({"amount": "1.00"}, "order_id"),
    ],
)
async def test_payment_shape_is_checked_by_the_api(
    http: httpx.AsyncClient, client: Client, task_queue: str, order: dict[str, Any], loc: str
) -> None:
    response = await http.post("/payments", json={"order": order})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "order", loc]
    assert [wf async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'")] == []


async def test_a_payment_is_read_back_by_its_order_id(
    http: httpx.AsyncClient, worker: object, item_prefix: str
) -> None:
    """Charged twice through two runs, read once: one charge, one record, both runs."""
    order_id = f"{item_prefix}-read"
    refs = []
    for _ in range(2):
        response = await http.post(
            "/payments", json={"order": {"order_id": order_id, "amount": "12.34"}}
        )
        refs.append(response.json())
        await wait_for_run(http, response.json()["workflow_id"])

    payment = (await http.get(f"/payments/{order_id}")).json()

    assert payment["order_id"] == order_id
    assert payment["charge"]["amount"] == "12.34"
    assert payment["charge"]["payment_id"] and payment["recorded_at"]
    assert {run["workflow_id"] for run in payment["runs"]} == {r["workflow_id"] for r in refs}
    assert {run["status"] for run in payment["runs"]} == {"COMPLETED"}


async def test_a_payment_that_never_charged_shows_its_failed_run(
    http: httpx.AsyncClient, worker: object, item_prefix: str
) -> None:
    order_id = f"{item_prefix}-zero"
    response = await http.post("/payments", json={"order": {"order_id": order_id, "amount": "0"}})
    await wait_for_run(http, response.json()["workflow_id"])

    payment = (await http.get(f"/payments/{order_id}")).json()

    assert payment["charge"] is None and payment["recorded_at"] is None
    assert [run["status"] for run in payment["runs"]] == ["FAILED"]
    assert (await http.get(f"/payments/{item_prefix}-none")).status_code == 404
    assert (await http.get("/payments/a'b")).status_code == 422
