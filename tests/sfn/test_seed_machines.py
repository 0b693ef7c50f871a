"""The seeds' own state machines (`workflows.seeds`), deployed unmodified through boto3 and run
on the production worker with the seeds' task handlers: what each execution ends with, and
what it leaves in Postgres, next to what the hand-written workflow of the same seed writes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from temporalio.client import Client

from activities.payment_provider import SimulatedPaymentProvider, payment_id_for
from activities.report_tasks import download_report, poll_report, update_site
from activities.support_case_tasks import work_on_case
from activities.task_handlers import DependencyUnavailable, TaskContext, execution_workflow_id
from activities.webhook_tasks import sample_func, webhook_id_of
from api.app import create_app
from api.report_generation import request_report
from core.db import SessionFactory
from core.models import (
    CaseEventRow,
    OrderRecordRow,
    OrderRow,
    PaymentRow,
    ReportRow,
    SupportCaseRow,
    WebhookEventRow,
)
from core.publisher import LocalPagePublisher
from core.settings import Settings
from statewright.flows import FLOWS
from tests.conftest import serve
from tests.helpers import ScriptedRandom, stock_items, stock_of, table_rows, worker_with
from tests.sfn.aws import Aws
from tests.sfn.harness import ROLE
from workflows.contracts import (
    ESCALATION_CAUSE,
    INVALID_ORDER,
    PAYMENT_CONFLICT,
    PAYMENT_DECLINED,
    REPORTING_API_REJECTED,
)
from workflows.seed_ids import order_id_of
from workflows.seeds import (
    PROCESS_ORDER,
    REPORT_RUNNER,
    SHOPPING_ORDER,
    SUPPORT_CASE,
    WEBHOOK,
    SeedMachine,
)


@dataclass
class Stack:
    """The API (the Step Functions API and the reporting API) and a production worker whose
    dependencies a test controls."""

    aws: Aws
    base: str
    http: httpx.AsyncClient
    rng: ScriptedRandom
    provider: SimulatedPaymentProvider
    publisher: LocalPagePublisher

    async def deploy(self, seed: SeedMachine) -> str:
        """The seed's definition, unmodified, as a state machine of its own for this test."""
        created = await self.aws(
            "create_state_machine",
            name=f"{seed.name}-{uuid.uuid4().hex[:8]}",
            definition=seed.definition_text(),
            roleArn=ROLE,
            type=seed.type,
        )
        arn: str = created["stateMachineArn"]
        return arn

    async def run(self, machine: str, value: Any, within: float = 30) -> dict[str, Any]:
        """Start an execution and wait for its end: DescribeExecution's answer."""
        started = await self.aws(
            "start_execution", stateMachineArn=machine, input=json.dumps(value)
        )
        return await self.aws.finished(started["executionArn"], within=within)


@asynccontextmanager
async def seed_stack(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    site: Path,
    reports_api: Callable[[str], str] = lambda base: base,
) -> AsyncIterator[Stack]:
    # Reports are due at once: the seed's own Wait of 10 s is the only wait.
    configured = settings.model_copy(
        update={"report_min_delay_seconds": 0, "publish_url": str(site)}
    )
    rng = ScriptedRandom()
    provider = SimulatedPaymentProvider(decline_above=Decimal("1000.00"))
    publisher = LocalPagePublisher(site)
    async with serve(create_app(FLOWS, configured, database_url, client), configured) as base:
        worker = worker_with(
            client,
            task_queue,
            sessions,
            rng=rng,
            provider=provider,
            publisher=publisher,
            reports_api_url=reports_api(base),
        )
        async with worker, httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield Stack(Aws(base), base, http, rng, provider, publisher)


@pytest.fixture
async def stack(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    async with seed_stack(
        settings, database_url, client, task_queue, sessions, tmp_path / "site"
    ) as running:
        yield running


def lambda_cause(described: dict[str, Any]) -> dict[str, Any]:
    """The Lambda error document a failed handler left as the execution's cause."""
    cause: dict[str, Any] = json.loads(described["cause"])
    return cause


def output_of(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def context_for(
    stack: Stack, sessions: SessionFactory, execution_arn: str = "", run_id: str = ""
) -> TaskContext:
    """A handler's context as the worker builds it, for calling a handler by hand."""
    return TaskContext(
        function_name="by-hand",
        aws_request_id=uuid.uuid4().hex,
        execution_arn=execution_arn or "arn:aws:states:us-east-1:123456789012:execution:m:e",
        state_name="by-hand",
        sessions=sessions,
        run_id=run_id,
        provider=stack.provider,
        rng=stack.rng,
        publisher=stack.publisher,
        reports_api_url=stack.base,
    )


# --- 000: the shopping order. ---


async def test_shopping_order_completes_and_takes_the_stock(
    stack: Stack, sessions: SessionFactory, item_prefix: str
) -> None:
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 5, b: 3})
    machine = await stack.deploy(SHOPPING_ORDER)

    done = await stack.run(
        machine, {"order": [{"itemId": a, "quantity": 2}, {"itemId": b, "quantity": 1}]}
    )

    assert done["status"] == "SUCCEEDED", done
    assert (await stock_of(sessions, a), await stock_of(sessions, b)) == (3, 2)
    async with sessions() as session:
        order = await session.get(OrderRow, order_id_of(done["executionArn"]))
    assert order is not None and order.status == "COMPLETED"
    assert [(line.item_id, line.quantity) for line in order.lines] == [(a, 2), (b, 1)]


async def test_shopping_order_out_of_stock_fails_with_the_handlers_error(
    stack: Stack, sessions: SessionFactory, item_prefix: str
) -> None:
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 1})
    machine = await stack.deploy(SHOPPING_ORDER)

    done = await stack.run(machine, {"order": [{"itemId": a, "quantity": 2}]})

    assert done["status"] == "FAILED"
    assert done["error"] == "ItemNotInStock"
    assert lambda_cause(done)["errorMessage"] == f"Item {a} not in stock"
    assert await stock_of(sessions, a) == 1
    async with sessions() as session:
        assert await session.get(OrderRow, order_id_of(done["executionArn"])) is None


# --- 001: the report runner. ---


async def test_report_runner_publishes_the_report_page(
    stack: Stack, sessions: SessionFactory, item_prefix: str
) -> None:
    """Runs the seed's Wait of 10 s for real, once: the report is due at once, so the first
    poll finds it COMPLETED."""
    item = f"{item_prefix}-<b>"
    await stock_items(sessions, **{item: 7})
    machine = await stack.deploy(REPORT_RUNNER)

    done = await stack.run(machine, {}, within=60)

    published = output_of(done)
    assert published["location"] == f"{stack.base}/site/report.html"
    page = (await stack.http.get("/site/report.html")).text
    assert [item, "7", "0", "0"] in table_rows(page)
    assert published["row_count"] == len(table_rows(page))
    assert "&lt;b&gt;" in page and item not in page, "the item id is escaped"
    history = await stack.aws("get_execution_history", executionArn=done["executionArn"])
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in history["events"]
        if "stateEnteredEventDetails" in event
    ]
    assert entered == [
        "CreateReportState",
        "WaitBeforeCheckState",
        "PollReportState",
        "CheckIfDoneState",
        "DownloadReportState",
        "UpdateSiteState",
    ]
    async with sessions() as session:
        report = await session.get(ReportRow, published["report_id"])
    assert report is not None and report.status == "COMPLETED"
    staging = Path(stack.publisher.describe()) / ".staging"
    assert not list(staging.iterdir()), "the working files are cleared"


async def test_report_handlers_loop_until_ready_and_update_site_twice(
    stack: Stack, sessions: SessionFactory
) -> None:
    """The data the seed's loop hands round, handler by handler: PollReport's output is the
    next PollReport's input (Choice -> Wait -> PollReport), and an UpdateSite that runs again
    after the page went up still succeeds."""
    report_id = f"r-{uuid.uuid4().hex}"
    async with sessions.begin() as session:
        await request_report(session, report_id, 3600)
    context = context_for(stack, sessions)
    ticket = {"report_id": report_id, "status_url": f"/reports/{report_id}"}

    first = await poll_report(ticket, context)
    again = await poll_report(first, context)
    async with sessions.begin() as session:
        await session.execute(
            update(ReportRow)
            .where(ReportRow.report_id == report_id)
            .values(ready_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    ready = await poll_report(again, context)
    staged = await download_report(ready, context)
    published = await update_site(staged, context)
    republished = await update_site(staged, context)

    assert first == {**ticket, "status": "IN_PROGRESS", "download_url": None, "generated_at": None}
    assert again == first
    assert ready["status"] == "COMPLETED"
    assert ready["download_url"] == f"{stack.base}/reports/{report_id}/download"
    assert ready["status_url"] == ticket["status_url"]
    assert staged["name"] == f"{report_id}.csv" and staged["size_bytes"] > 0
    assert published["location"] == f"{stack.base}/site/report.html"
    assert republished["location"] == published["location"]
    assert await stack.publisher.read("report.html") is not None


async def test_report_handlers_tell_a_refusal_from_an_outage(
    stack: Stack, sessions: SessionFactory
) -> None:
    """A 4xx is the task's error, as the hand-written run names it; no answer at all is an
    outage, retried below the state (never the task's error)."""
    missing = {"report_id": "missing", "status_url": "/reports/missing"}
    context = context_for(stack, sessions)

    with pytest.raises(Exception) as refused:
        await poll_report(missing, context)
    with pytest.raises(DependencyUnavailable):
        await poll_report(missing, replace(context, reports_api_url="http://127.0.0.1:9"))

    assert type(refused.value).__name__ == REPORTING_API_REJECTED
    assert "404" in str(refused.value)


async def test_report_runner_waits_out_an_outage_and_fails_on_a_refusal(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    tmp_path: Path,
) -> None:
    """DESIGN.md section 1: a reporting API that is away does not fail the execution (the
    seed's states set no TimeoutSeconds); one that refuses the request (a 4xx, here a wrong
    base URL) does, with `ReportingApiRejected`."""
    async with seed_stack(
        settings,
        database_url,
        client,
        task_queue,
        sessions,
        tmp_path / "away",
        reports_api=lambda _: "http://127.0.0.1:9",
    ) as away:
        machine = await away.deploy(REPORT_RUNNER)
        started = await away.aws("start_execution", stateMachineArn=machine, input="{}")
        await _until_retried(client, started["executionArn"])
        still = await away.aws("describe_execution", executionArn=started["executionArn"])
        await away.aws("stop_execution", executionArn=started["executionArn"])
    assert still["status"] == "RUNNING"

    async with seed_stack(
        settings,
        database_url,
        client,
        task_queue,
        sessions,
        tmp_path / "refused",
        reports_api=lambda base: f"{base}/nowhere",
    ) as refused:
        machine = await refused.deploy(REPORT_RUNNER)
        done = await refused.run(machine, {})
    assert done["status"] == "FAILED"
    assert done["error"] == REPORTING_API_REJECTED
    assert "404" in lambda_cause(done)["errorMessage"]


async def test_report_runner_stopped_in_an_outage_is_redriven_once_the_api_is_back(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    tmp_path: Path,
    item_prefix: str,
) -> None:
    """The operator stops an execution that has been waiting out a reporting API outage;
    once the API is back, a redrive continues it from the state it was in (CreateReport)
    and it publishes the page."""
    await stock_items(sessions, **{f"{item_prefix}-r": 3})
    async with seed_stack(
        settings,
        database_url,
        client,
        task_queue,
        sessions,
        tmp_path / "site",
        reports_api=lambda _: "http://127.0.0.1:9",
    ) as away:
        machine = await away.deploy(REPORT_RUNNER)
        started = await away.aws("start_execution", stateMachineArn=machine, input="{}")
        execution = started["executionArn"]
        await _until_retried(client, execution)
        await away.aws("stop_execution", executionArn=execution, error="Outage")
        stopped = await away.aws.finished(execution)
    assert stopped["status"] == "ABORTED" and stopped["redriveStatus"] == "REDRIVABLE"

    async with seed_stack(
        settings, database_url, client, task_queue, sessions, tmp_path / "site"
    ) as back:
        await back.aws("redrive_execution", executionArn=execution)
        done = await back.aws.finished(execution, within=60)
        published = output_of(done)
        assert done["redriveCount"] == 1
        page = (await back.http.get("/site/report.html")).text
        assert [f"{item_prefix}-r", "3", "0", "0"] in table_rows(page)
        assert published["location"] == f"{back.base}/site/report.html"
        history = await back.aws("get_execution_history", executionArn=execution)
    types = [event["type"] for event in history["events"]]
    redriven = types.index("ExecutionRedriven")
    assert types[redriven - 1] == "ExecutionAborted"
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in history["events"][redriven:]
        if "stateEnteredEventDetails" in event
    ]
    assert entered[0] == "CreateReportState" and entered[-1] == "UpdateSiteState"


async def _until_retried(client: Client, execution_arn: str) -> None:
    """Wait until CreateReport has failed at least twice below the state."""
    handle = client.get_workflow_handle(execution_workflow_id(execution_arn))
    for _ in range(100):
        described = await handle.describe()
        pending = described.raw_description.pending_activities
        if pending and pending[0].attempt >= 2:
            assert "unreachable" in pending[0].last_failure.message
            return
        await asyncio.sleep(0.1)
    raise AssertionError("CreateReport was never retried")


# --- 002: order processing. ---


async def test_process_order_charges_once_when_started_twice(
    stack: Stack, sessions: SessionFactory
) -> None:
    order_id = f"o-{uuid.uuid4().hex[:12]}"
    machine = await stack.deploy(PROCESS_ORDER)
    sample = {"order": {"order_id": order_id, "amount": 19.99}}

    first = await stack.run(machine, sample)
    second = await stack.run(machine, sample)

    output = output_of(first)
    assert output["status"] == "RECORDED"
    order = output["order"]
    assert order["amount"] == 19.99, "the amount goes on as it was given"
    assert order["validated"] is True and order["charged"] is True
    assert order["payment_id"] == payment_id_for(order_id)
    assert output_of(second)["order"]["payment_id"] == order["payment_id"]
    assert stack.provider.money_moved[order_id] == 1, "charged once"
    async with sessions() as session:
        payments = await session.scalar(select(func.count()).where(PaymentRow.order_id == order_id))
        charge = await session.get(PaymentRow, order_id)
        record = await session.get(OrderRecordRow, order_id)
    assert payments == 1
    assert charge is not None and charge.amount == Decimal("19.99")
    assert record is not None
    assert (record.amount, record.payment_id) == (Decimal("19.99"), order["payment_id"])
    assert record.workflow_id == execution_workflow_id(first["executionArn"])
    assert datetime.fromisoformat(order["recorded_at"]) == record.recorded_at
    assert output_of(second)["order"]["recorded_at"] == order["recorded_at"], "recorded once"


@pytest.mark.parametrize(
    ("amount", "error", "message"),
    [
        (0, INVALID_ORDER, "amount must be greater than 0"),
        (-5, INVALID_ORDER, "amount must be greater than 0"),
        ("abc", INVALID_ORDER, "the order is not valid: amount: "),
        (5000, PAYMENT_DECLINED, "payment declined: 5000 is over the limit of 1000.00"),
    ],
)
async def test_process_order_fails_with_the_hand_written_error(
    stack: Stack, sessions: SessionFactory, amount: Any, error: str, message: str
) -> None:
    order_id = f"o-{uuid.uuid4().hex[:12]}"
    machine = await stack.deploy(PROCESS_ORDER)

    done = await stack.run(machine, {"order": {"order_id": order_id, "amount": amount}})

    assert done["status"] == "FAILED"
    assert done["error"] == error
    assert lambda_cause(done)["errorMessage"].startswith(message)
    assert lambda_cause(done)["errorType"] == error
    async with sessions() as session:
        assert await session.get(PaymentRow, order_id) is None
        assert await session.get(OrderRecordRow, order_id) is None
    assert stack.provider.money_moved[order_id] == 0


async def test_process_order_refuses_a_second_charge_at_another_amount(stack: Stack) -> None:
    order_id = f"o-{uuid.uuid4().hex[:12]}"
    machine = await stack.deploy(PROCESS_ORDER)

    first = await stack.run(machine, {"order": {"order_id": order_id, "amount": "10.00"}})
    second = await stack.run(machine, {"order": {"order_id": order_id, "amount": "12.00"}})

    assert first["status"] == "SUCCEEDED"
    assert (second["status"], second["error"]) == ("FAILED", PAYMENT_CONFLICT)
    assert stack.provider.money_moved[order_id] == 1


async def test_process_order_rides_out_a_provider_outage(stack: Stack) -> None:
    """The provider failing twice is no error of the Charge task: retried below the state
    (1 s, then 2 s), it charges once and the execution succeeds."""
    order_id = f"o-{uuid.uuid4().hex[:12]}"
    stack.provider.transient_failures = 2
    machine = await stack.deploy(PROCESS_ORDER)

    done = await stack.run(machine, {"order": {"order_id": order_id, "amount": "5.00"}})

    assert output_of(done)["order"]["charged"] is True
    assert stack.provider.money_moved[order_id] == 1
    history = await stack.aws("get_execution_history", executionArn=done["executionArn"])
    assert "LambdaFunctionFailed" not in [event["type"] for event in history["events"]]


# --- 003: the webhook. ---


async def test_webhook_stores_the_payload_once(stack: Stack, sessions: SessionFactory) -> None:
    machine = await stack.deploy(WEBHOOK)
    payload = {"hello": "world", "n": [1, 2, {"deep": True}]}

    done = await stack.aws(
        "start_sync_execution", stateMachineArn=machine, input=json.dumps(payload)
    )

    assert done["status"] == "SUCCEEDED", done
    webhook_id = webhook_id_of(done["executionArn"])
    output = json.loads(done["output"])
    assert output["workflow_id"] == webhook_id and output["stored"] is True
    shown = (await stack.http.get(f"/webhooks/{webhook_id}")).json()
    assert shown["payload"] == payload
    assert shown["status"] == "COMPLETED"
    assert shown["status_url"] == f"/runs/{webhook_id}"

    # The handler again, as a retry would run it: nothing new is stored.
    again = await sample_func(
        {"something": "else"}, context_for(stack, sessions, done["executionArn"])
    )
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(WebhookEventRow).where(WebhookEventRow.workflow_id == webhook_id)
            )
        ).all()
    assert [row.payload for row in rows] == [payload]
    assert again == output


async def test_webhook_refuses_a_payload_that_is_not_an_object(stack: Stack) -> None:
    machine = await stack.deploy(WEBHOOK)

    done = await stack.aws("start_sync_execution", stateMachineArn=machine, input="[1, 2]")

    assert (done["status"], done["error"]) == ("FAILED", "InvalidPayload")


# --- 004: the support case. ---


async def test_support_case_resolved_is_closed(stack: Stack) -> None:
    case_id = f"c{uuid.uuid4().hex[:10]}"
    machine = await stack.deploy(SUPPORT_CASE)
    stack.rng.values.append(0.9)

    done = await stack.run(machine, {"inputCaseID": case_id})

    message = f"Case {case_id}: opened...assigned...resolved...closed."
    assert output_of(done) == {"Case": case_id, "Message": message, "Status": 1}
    case = (await stack.http.get(f"/cases/{case_id}")).json()
    assert (case["status"], case["message"]) == ("CLOSED", message)
    assert [(e["step"], e["status"]) for e in case["history"]] == [
        ("open", "OPEN"),
        ("assign", "ASSIGNED"),
        ("work-1", "RESOLVED"),
        ("close", "CLOSED"),
    ]
    workflow_id = execution_workflow_id(done["executionArn"])
    assert case["workflow_id"] == workflow_id
    run = (await stack.http.get(case["status_url"])).json()
    assert run["run_id"] == case["run_id"], "the case names the run that worked it"
    assert {e["run_id"] for e in case["history"]} == {case["run_id"]}
    assert stack.rng.values == [], "one draw"


async def test_support_case_unresolved_escalates_and_fails(
    stack: Stack, sessions: SessionFactory
) -> None:
    case_id = f"c{uuid.uuid4().hex[:10]}"
    machine = await stack.deploy(SUPPORT_CASE)
    stack.rng.values.append(0.1)

    done = await stack.run(machine, {"inputCaseID": case_id})

    assert done["status"] == "FAILED"
    # The seed's Fail state names a cause and no error, and the execution says just that;
    # the hand-written workflow gives the same cause the error type `CASE_ESCALATED`.
    assert done["cause"] == ESCALATION_CAUSE
    assert done.get("error") in (None, "")
    case = (await stack.http.get(f"/cases/{case_id}")).json()
    message = f"Case {case_id}: opened...assigned...unresolved...escalating."
    assert (case["status"], case["message"]) == ("ESCALATED", message)
    assert [(e["step"], e["status"]) for e in case["history"]] == [
        ("open", "OPEN"),
        ("assign", "ASSIGNED"),
        ("work-1", "UNRESOLVED"),
        ("escalate", "ESCALATED"),
    ]

    # Work on Case again for this execution, as a retry would run it: the first draw, and no
    # new one (the scripted source is empty, so a draw would fail).
    context = context_for(stack, sessions, done["executionArn"], case["run_id"])
    retried = await work_on_case(
        {"Case": case_id, "Message": f"Case {case_id}: opened...assigned..."}, context
    )
    assert retried["Status"] == 0
    assert retried["Message"] == f"Case {case_id}: opened...assigned...unresolved..."


async def test_support_case_rows_match_the_hand_written(stack: Stack, client: Client) -> None:
    """The same case worked by the hand-written workflow writes the same statuses and
    messages, step by step."""
    case_id = f"c{uuid.uuid4().hex[:10]}"
    machine = await stack.deploy(SUPPORT_CASE)
    stack.rng.values.extend([0.9, 0.9])

    await stack.run(machine, {"inputCaseID": case_id})
    by_seed = (await stack.http.get(f"/cases/{case_id}")).json()
    started = await stack.http.post("/cases", json={"case_id": case_id})
    assert started.status_code == 202, started.text
    await client.get_workflow_handle(started.json()["workflow_id"]).result()
    by_hand = (await stack.http.get(f"/cases/{case_id}")).json()

    def steps(case: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        return [
            (e["step"], e["status"], e["message"]) for e in case["history"] if e["run_id"] == run_id
        ]

    assert steps(by_hand, by_hand["run_id"]) == steps(by_seed, by_seed["run_id"])
    assert (by_hand["status"], by_hand["message"]) == (by_seed["status"], by_seed["message"])


async def test_support_case_rows_are_written_once_per_step(
    stack: Stack, sessions: SessionFactory
) -> None:
    case_id = f"c{uuid.uuid4().hex[:10]}"
    machine = await stack.deploy(SUPPORT_CASE)
    stack.rng.values.append(0.9)

    done = await stack.run(machine, {"inputCaseID": case_id})

    async with sessions() as session:
        events = await session.scalar(select(func.count()).where(CaseEventRow.case_id == case_id))
        case = await session.get(SupportCaseRow, case_id)
    assert events == 4
    assert case is not None and case.workflow_id == execution_workflow_id(done["executionArn"])
