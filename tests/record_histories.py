"""Record the replay histories in tests/histories/.

    .venv/bin/python -m tests.record_histories            # record the missing ones
    .venv/bin/python -m tests.record_histories NAME ...   # record these again

Record for a new workflow or a new branch. Never re-record to silence a failing replay
test: a failing replay means the change needs `workflow.patched()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.cart_inventory import CartInventoryActivities
from activities.orders import OrderActivities
from activities.payment_provider import SimulatedPaymentProvider
from activities.payments import PaymentActivities
from api.app import create_app
from core.db import SessionFactory, create_engine, create_session_factory
from core.embedded import start_postgres, temporal_binary
from core.migrate import upgrade
from core.search_attributes import ALL as SEARCH_ATTRIBUTES
from core.settings import Settings
from core.site_store import LocalSiteStore
from core.temporal import DATA_CONVERTER
from tests.conftest import serve
from tests.helpers import (
    ScriptedRandom,
    start_order,
    stock_items,
    until_waiting_for_tier2,
    worker_with,
)
from workflows.bench import BenchNoopWorkflow
from workflows.cases import SupportCaseWorkflow
from workflows.contracts import (
    CartLedgerResult,
    CaseInput,
    CaseProgress,
    CaseStep,
    ChargedOrder,
    CreateOrderInput,
    NoopShape,
    OrderLine,
    OrderRef,
    PaymentInput,
    PaymentOrder,
    ReportRunInput,
    Tier2Resolution,
    ValidatedOrder,
    WebhookInput,
    order_workflow_id,
)
from workflows.orders import CreateOrderWorkflow
from workflows.payments import ProcessOrderWorkflow
from workflows.reports import ReportRunnerWorkflow
from workflows.webhooks import WebhookWorkflow

HISTORIES = Path(__file__).parent / "histories"
Scenario = Callable[[Client, str, SessionFactory, str], Awaitable[WorkflowHandle[Any, Any]]]


async def order_completed(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    async with worker_with(client, queue, sessions):
        _, handle = await start_order(client, queue, **{"rec-a": 2, "rec-b": 1})
        await handle.result()
    return handle


async def order_not_in_stock(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 0})
    async with worker_with(client, queue, sessions):
        _, handle = await start_order(client, queue, **{"rec-a": 2, "rec-b": 1})
        await _settle(handle)
    return handle


async def order_compensated(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    inventory = CartInventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_after_rival(order: CreateOrderInput) -> CartLedgerResult:
        await stock_items(sessions, **{"rec-b": 0})
        return await inventory.reserve_stock(order)

    async with worker_with(client, queue, sessions, reserve_after_rival):
        _, handle = await start_order(client, queue, **{"rec-a": 2, "rec-b": 1})
        await _settle(handle)
    return handle


async def order_canceled(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while the decrement hangs after its commit: the compensation gives the stock
    back, then the run is CANCELED."""
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    inventory = CartInventoryActivities(sessions)
    reached = asyncio.Event()

    @activity.defn(name="reserve_stock")
    async def hang_after_commit(order: CreateOrderInput) -> CartLedgerResult:
        result = await inventory.reserve_stock(order)
        reached.set()
        await asyncio.Event().wait()  # until the cancel reaches it
        return result

    async with worker_with(client, queue, sessions, hang_after_commit):
        _, handle = await start_order(client, queue, **{"rec-a": 2, "rec-b": 1})
        await reached.wait()
        await handle.cancel()
        await _settle(handle)
    return handle


async def order_canceled_after_unrecorded_writes(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """An attempt that was never recorded created the order and took its stock; the run's
    first recorded task holds the cancel: the order is withdrawn, and the run CANCELED."""
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    order = _cart(**{"rec-a": 2, "rec-b": 1})
    await OrderActivities(sessions).create_order(order)
    await CartInventoryActivities(sessions).reserve_stock(order)
    return await _cancelled_before_it_runs(
        client, queue, sessions, CreateOrderWorkflow.run, order, order_workflow_id(order.order_id)
    )


async def order_completed_despite_cancel(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """An attempt that was never recorded completed the order; the run's first recorded task
    holds the cancel: the run reports COMPLETED."""
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    order = _cart(**{"rec-a": 2, "rec-b": 1})
    orders = OrderActivities(sessions)
    await orders.create_order(order)
    await CartInventoryActivities(sessions).reserve_stock(order)
    await orders.complete_order(OrderRef(order_id=order.order_id))
    return await _cancelled_before_it_runs(
        client, queue, sessions, CreateOrderWorkflow.run, order, order_workflow_id(order.order_id)
    )


def _cart(**lines: int) -> CreateOrderInput:
    return CreateOrderInput(
        order_id=f"rec-{uuid.uuid4().hex}",
        lines=[OrderLine(item_id=item, quantity=qty) for item, qty in lines.items()],
    )


async def _cancelled_before_it_runs(
    client: Client,
    queue: str,
    sessions: SessionFactory,
    run: Any,
    arg: Any,
    workflow_id: str,
) -> Any:
    """Start a run, cancel it, then start the worker: the first task holds the cancel."""
    handle = await client.start_workflow(run, arg, id=workflow_id, task_queue=queue)
    await handle.cancel()
    async with worker_with(client, queue, sessions):
        await _settle(handle)
    return handle


async def payment_canceled(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled before the charge was sent: nothing charged, the run CANCELED."""
    request = PaymentInput(order=PaymentOrder(order_id=f"rec-{uuid.uuid4().hex}", amount="5.00"))
    return await _cancelled_before_it_runs(
        client, queue, sessions, ProcessOrderWorkflow.run, request, f"payment-{uuid.uuid4().hex}"
    )


async def payment_charged_despite_cancel(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while the charge ran: the charge and the record finish, the run COMPLETED."""
    payments = PaymentActivities(sessions, SimulatedPaymentProvider(Decimal("1000.00")))
    sent, cancelled = asyncio.Event(), asyncio.Event()

    @activity.defn(name="charge_payment")
    async def charge_held_until_cancel(order: ValidatedOrder) -> ChargedOrder:
        charged = await payments.charge_payment(order)
        sent.set()
        await cancelled.wait()
        return charged

    request = PaymentInput(order=PaymentOrder(order_id=f"rec-{uuid.uuid4().hex}", amount="7.00"))
    async with worker_with(client, queue, sessions, charge_held_until_cancel):
        handle = await client.start_workflow(
            ProcessOrderWorkflow.run, request, id=f"payment-{uuid.uuid4().hex}", task_queue=queue
        )
        await sent.wait()
        await handle.cancel()
        cancelled.set()
        await _settle(handle)
    return handle


async def webhook_canceled(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled before it ran: stored, then taken out again; the run CANCELED."""
    webhook = WebhookInput(payload={"event": "recorded"}, received_at=datetime.now(UTC))
    return await _cancelled_before_it_runs(
        client, queue, sessions, WebhookWorkflow.run, webhook, f"webhook-{uuid.uuid4().hex}"
    )


def _payment(amount: str, transient_failures: int = 0) -> Scenario:
    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        provider = SimulatedPaymentProvider(Decimal("1000.00"), transient_failures)
        async with worker_with(client, queue, sessions, provider=provider):
            handle = await client.start_workflow(
                ProcessOrderWorkflow.run,
                PaymentInput(order=PaymentOrder(order_id=f"rec-{uuid.uuid4().hex}", amount=amount)),
                id=f"payment-{uuid.uuid4().hex}",
                task_queue=queue,
            )
            await _settle(handle)
        return handle

    return scenario


async def webhook_stored(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    async with worker_with(client, queue, sessions):
        handle = await client.start_workflow(
            WebhookWorkflow.run,
            WebhookInput(payload={"event": "recorded"}, received_at=datetime.now(UTC)),
            id=f"webhook-{uuid.uuid4().hex}",
            task_queue=queue,
        )
        await handle.result()
    return handle


def _case(*draws: float, policy: str = "fail", tier2: str | None = None, **extra: Any) -> Scenario:
    """A support case with scripted Work on Case draws; `tier2` is "resolve" or "cancel"."""

    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        case = CaseInput.model_validate(
            {"case_id": f"rec-{uuid.uuid4().hex[:12]}", "on_unresolved": policy, **extra}
        )
        rng = ScriptedRandom(*draws)
        overrides = [_failing_assign] if policy == "fail" and not draws else []
        async with worker_with(client, queue, sessions, *overrides, rng=rng):
            handle = await client.start_workflow(
                SupportCaseWorkflow.run, case, id=f"case-{case.case_id}", task_queue=queue
            )
            if tier2 in ("resolve", "cancel"):
                await until_waiting_for_tier2(handle)
            if tier2 == "resolve":
                await handle.execute_update(
                    SupportCaseWorkflow.tier2_resolution,
                    Tier2Resolution(resolution="fixed", agent="rec"),
                )
            elif tier2 == "cancel":
                await handle.cancel()
            await _settle(handle)
        return handle

    return scenario


@activity.defn(name="assign_case")
async def _failing_assign(_: CaseStep) -> CaseProgress:
    # Unexpected, not infrastructure: an infrastructure error would be retried for hours.
    raise RuntimeError("assignment service answered nonsense")


def _report(delay_s: float, max_polls: int) -> Scenario:
    """A runner run against a reporting API whose reports are due after `delay_s`."""

    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        settings = Settings(
            database_url=database_url,
            temporal_address=client.service_client.config.target_host,
            task_queue=queue,
            report_min_delay_seconds=delay_s,
        )
        site = LocalSiteStore(Path(tempfile.mkdtemp(prefix="site-")))
        async with (
            serve(create_app(settings, database_url, client)) as base,
            worker_with(client, queue, sessions, reports_api_url=base, site_store=site),
        ):
            handle = await client.start_workflow(
                ReportRunnerWorkflow.run,
                ReportRunInput(wait_seconds=0.2, max_polls=max_polls),
                id=f"report-runner-{uuid.uuid4().hex}",
                task_queue=queue,
            )
            await _settle(handle)
        return handle

    return scenario


async def _noop(client: Client, queue: str, sessions: SessionFactory, database_url: str) -> Any:
    async with worker_with(client, queue, sessions):
        handle = await client.start_workflow(
            BenchNoopWorkflow.run,
            NoopShape(stages=[2, 3]),
            id=f"bench-noop-{uuid.uuid4().hex}",
            task_queue=queue,
        )
        await handle.result()
    return handle


# Recorded by earlier workflow code and kept to prove that runs it started still replay:
# order steps as regular activities, one per line, then (patch "orders-local-activities")
# as local activities, one per line. Today's code records whole-cart steps instead (patch
# "orders-cart-steps"), so these can never be recorded again.
PAYMENT_BRANCHES = ("completed", "invalid_amount", "declined", "retried")
CASE_BRANCHES = (
    "resolved",
    "escalated",
    "retry_resolved",
    "retry_exhausted",
    "tier2_resolved",
    "tier2_expired",
    "step_caught",
)
FROZEN = (
    *(
        f"order_{version}{branch}"
        for version in ("", "local_")
        for branch in ("completed", "not_in_stock", "compensated", "canceled")
    ),
    # Every step as a regular activity, before patches "webhooks-local-activity",
    # "payments-local-steps" and "cases-local-steps".
    "webhook_stored",
    *(f"payment_{branch}" for branch in PAYMENT_BRANCHES),
    *(f"case_{branch}" for branch in CASE_BRANCHES),
    # Before the patches "*-cancel-reports-the-truth": a cancel assumed that nothing had been
    # written, and a charge or a completion could be cut short by one.
    *(
        f"order_cart_{branch}"
        for branch in ("completed", "not_in_stock", "compensated", "canceled")
    ),
    *(f"payment_local_{branch}" for branch in PAYMENT_BRANCHES),
    "webhook_local_stored",
    # Before "cases-cancel-recorded": a cancelled case stayed as it was, and tier 2 answered
    # by signal.
    *(f"case_local_{branch}" for branch in CASE_BRANCHES),
    # Before "reports-claim-check": the CSV and the page travelled in the history.
    "report_published",
    "report_not_ready",
)

SCENARIOS: dict[str, Scenario] = {
    "order_truecancel_completed": order_completed,
    "order_truecancel_not_in_stock": order_not_in_stock,
    "order_truecancel_compensated": order_compensated,
    "order_truecancel_canceled": order_canceled,
    "order_truecancel_canceled_after_unrecorded_writes": order_canceled_after_unrecorded_writes,
    "order_truecancel_completed_despite_cancel": order_completed_despite_cancel,
    "payment_truecancel_completed": _payment("19.99"),
    "payment_truecancel_invalid_amount": _payment("0"),
    "payment_truecancel_declined": _payment("1000.01"),
    "payment_truecancel_retried": _payment("5.00", transient_failures=2),
    "payment_truecancel_canceled": payment_canceled,
    "payment_truecancel_charged_despite_cancel": payment_charged_despite_cancel,
    "webhook_truecancel_stored": webhook_stored,
    "webhook_truecancel_canceled": webhook_canceled,
    "case_truecancel_resolved": _case(0.9),
    "case_truecancel_escalated": _case(0.1),
    "case_truecancel_retry_resolved": _case(0.1, 0.9, policy="retry"),
    "case_truecancel_retry_exhausted": _case(0.1, 0.1, policy="retry", max_work_attempts=2),
    "case_truecancel_tier2_resolved": _case(0.1, policy="tier2", tier2="resolve"),
    "case_truecancel_tier2_expired": _case(0.1, policy="tier2", tier2_deadline_seconds=1),
    "case_truecancel_step_caught": _case(),
    "case_truecancel_canceled_waiting": _case(0.1, policy="tier2", tier2="cancel"),
    "report_claimcheck_published": _report(delay_s=1.5, max_polls=10),
    "report_claimcheck_not_ready": _report(delay_s=3600, max_polls=2),
    "bench_noop": _noop,
}


async def _settle(handle: WorkflowHandle[Any, Any]) -> None:
    with contextlib.suppress(Exception):  # the failure is the branch being recorded
        await handle.result()


def without_stack_traces(node: Any) -> Any:
    """Failures carry the recording machine's stack traces, full of its paths; replay never
    reads them, so they are left out of the committed files."""
    if isinstance(node, dict):
        return {k: without_stack_traces(v) for k, v in node.items() if k != "stackTrace"}
    if isinstance(node, list):
        return [without_stack_traces(v) for v in node]
    return node


def history_text(history_json: str) -> str:
    return json.dumps(without_stack_traces(json.loads(history_json)), indent=1) + "\n"


async def record(names: list[str]) -> None:
    HISTORIES.mkdir(exist_ok=True)
    frozen = set(names) & set(FROZEN)
    if frozen:
        raise SystemExit(f"recorded by earlier workflow code, never again: {sorted(frozen)}")
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"no such scenario: {sorted(unknown)}; known: {sorted(SCENARIOS)}")
    wanted = names or [n for n in SCENARIOS if not (HISTORIES / f"{n}.json").exists()]
    if not wanted:
        print("every scenario has a history; name one to record it again")
        return
    with tempfile.TemporaryDirectory() as tmp:
        pg = start_postgres(Path(tmp) / "pg")
        upgrade(pg.url)
        engine = create_engine(pg.url)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            data_converter=DATA_CONVERTER,
            search_attributes=SEARCH_ATTRIBUTES,
        )
        try:
            sessions = create_session_factory(engine)
            for name in wanted:
                queue = f"record-{uuid.uuid4().hex}"
                handle = await SCENARIOS[name](env.client, queue, sessions, pg.url)
                history = await handle.fetch_history()
                path = HISTORIES / f"{name}.json"
                path.write_text(history_text(history.to_json()))
                print(f"recorded {path.relative_to(HISTORIES.parent.parent)}")
        finally:
            await env.shutdown()
            await engine.dispose()
            pg.stop()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
