"""Record the replay histories in tests/histories/.

    .venv/bin/python -m tests.record_histories            # record the missing ones
    .venv/bin/python -m tests.record_histories NAME ...   # record these again

Record for a new workflow or a new branch. Never re-record to silence a failing replay
test: a failing replay means the change needs `workflow.patched()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.cart_inventory import CartInventoryActivities
from activities.cases import CaseActivities
from activities.orders import OrderActivities
from activities.payment_provider import SimulatedPaymentProvider
from activities.payments import PaymentActivities
from api.app import create_app
from core.db import SessionFactory, create_engine, create_session_factory
from core.publisher import LocalPagePublisher
from core.search_attributes import ALL as SEARCH_ATTRIBUTES
from core.settings import Settings
from core.temporal import DATA_CONVERTER
from migrations.apply import upgrade
from statewright.embedded import start_postgres, temporal_binary
from statewright.flows import FLOWS
from statewright.tasks import task
from tests.conftest import serve
from tests.helpers import (
    ScriptedRandom,
    activity_name,
    stock_items,
    until_waiting_for_tier2,
    worker_with,
)
from tests.sfn.handlers import BROKEN
from tests.sfn.harness import Executor, lambda_arn
from workflows.bench import BenchNoopWorkflow
from workflows.cases import SupportCaseWorkflow
from workflows.contracts import (
    CartLedgerResult,
    CaseInput,
    CaseProgress,
    CaseStep,
    ChargedOrder,
    CreateOrderInput,
    ExecutionInput,
    FailOrderInput,
    NoopShape,
    OrderLine,
    OrderRef,
    OrderState,
    PaymentInput,
    PaymentOrder,
    Redrive,
    ReportRunInput,
    StoreWebhookRequest,
    TaskCallback,
    Tier2Resolution,
    ValidatedOrder,
    WebhookInput,
    WebhookResult,
    order_workflow_id,
)
from workflows.orders import CreateOrderWorkflow
from workflows.payments import ProcessOrderWorkflow
from workflows.reports import ReportRunnerWorkflow
from workflows.state_machines import StateMachineWorkflow
from workflows.webhooks import WebhookWorkflow

HISTORIES = Path(__file__).parent / "histories"
Scenario = Callable[[Client, str, SessionFactory, str], Awaitable[WorkflowHandle[Any, Any]]]


class Hold:
    """Holds the first call of one step, after it has really run, so that a cancel lands
    while the step is in flight; later calls (the run's next attempts) pass straight on."""

    def __init__(self, *, finishes: bool = False) -> None:
        """`finishes`: the run finishes this step through a cancel, so the step is held until
        the run has taken the cancel in, not until the cancel reaches the step."""
        self._finishes = finishes
        self._reached = asyncio.Event()
        self._cancel_sent = asyncio.Event()
        self._handle: WorkflowHandle[Any, Any] | None = None

    def step(self, real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """`real`, registered under its own name and signature, held as the class says."""

        async def held(arg: Any) -> Any:
            result = await real(arg)
            if not self._reached.is_set():
                self._reached.set()
                if self._finishes:
                    await self._cancel_sent.wait()
                    assert self._handle is not None
                    await _until_the_run_has_the_cancel(self._handle)
                else:
                    await asyncio.Event().wait()  # until the run's cancel cancels the step
            return result

        # Its signature, for the argument's type; not its attributes, which hold its own
        # activity definition.
        functools.update_wrapper(held, real, updated=())
        return activity.defn(name=activity_name(real))(held)

    async def cancel(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Once the held step has run, cancel the run."""
        await self._reached.wait()
        await handle.cancel()
        self._handle = handle
        self._cancel_sent.set()


async def _until_the_run_has_the_cancel(handle: WorkflowHandle[Any, Any]) -> None:
    """Until a workflow task that started after the cancel request has reached the worker.
    While local steps run, the request waits for the workflow task's heartbeat (about 8 s)."""
    await _until_event(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    await _until_event(
        handle,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        after=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
    )


async def _until_event(
    handle: WorkflowHandle[Any, Any],
    wanted: EventType.ValueType,
    after: EventType.ValueType | None = None,
) -> None:
    """Until the run's history holds an event of the kind `wanted`, after one of the kind
    `after` if given."""
    for _ in range(600):
        kinds = [event.event_type for event in (await handle.fetch_history()).events]
        if after is not None:
            kinds = kinds[kinds.index(after) :] if after in kinds else []
        if wanted in kinds:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {EventType.Name(wanted)} in the history")


async def _start(
    client: Client, queue: str, run: Any, arg: Any, workflow_id: str
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(run, arg, id=workflow_id, task_queue=queue)


def _cart(*lines: tuple[str, int]) -> CreateOrderInput:
    return CreateOrderInput(
        order_id=f"rec-{uuid.uuid4().hex}",
        lines=[OrderLine(item_id=item, quantity=qty) for item, qty in lines],
    )


CART = (("rec-a", 2), ("rec-b", 1))


async def _order(
    client: Client,
    queue: str,
    sessions: SessionFactory,
    *overrides: Callable[..., Any],
    stock: dict[str, int] | None = None,
    lines: tuple[tuple[str, int], ...] = CART,
    hold: Hold | None = None,
) -> WorkflowHandle[Any, Any]:
    """An order run for `lines` (10 of every item in stock unless `stock` says otherwise),
    with some steps replaced; with `hold`, cancelled once the held step has run."""
    await stock_items(sessions, **{**{item: 10 for item, _ in lines}, **(stock or {})})
    order = _cart(*lines)
    async with worker_with(client, queue, sessions, *overrides):
        handle = await _start(
            client, queue, CreateOrderWorkflow.run, order, order_workflow_id(order.order_id)
        )
        if hold is not None:
            await hold.cancel(handle)
        await _settle(handle)
    return handle


async def order_completed(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    return await _order(client, queue, sessions)


async def order_retried(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """The decrement meets an infrastructure error once; its retry takes the stock."""
    inventory = CartInventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_after_an_outage(order: CreateOrderInput) -> CartLedgerResult:
        if activity.info().attempt == 1:
            raise ConnectionError("the database went away")
        return await inventory.reserve_stock(order)

    return await _order(client, queue, sessions, reserve_after_an_outage)


async def order_not_in_stock(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    return await _order(client, queue, sessions, stock={"rec-b": 0})


async def order_invalid_cart(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """An item twice in one cart (the API refuses such carts; a run started another way)."""
    return await _order(client, queue, sessions, lines=(("rec-a", 1), ("rec-a", 2)))


async def order_compensated(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """The check passes; then a rival takes the stock before the decrement: compensated."""
    inventory = CartInventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_after_rival(order: CreateOrderInput) -> CartLedgerResult:
        await stock_items(sessions, **{"rec-b": 0})
        return await inventory.reserve_stock(order)

    return await _order(client, queue, sessions, reserve_after_rival)


async def order_step_failed(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """A bug in the create step: retried a few times, then StepFailed, and compensated."""

    @activity.defn(name="create_order")
    async def create_order_bug(_: CreateOrderInput) -> OrderState:
        raise KeyError("a bug")

    return await _order(client, queue, sessions, create_order_bug)


async def order_already_compensated(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """An attempt that was never recorded lost a race and compensated: the decrement finds
    its order released, and the run fails (AlreadyCompensated)."""
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    order = _cart(*CART)
    orders, inventory = OrderActivities(sessions), CartInventoryActivities(sessions)
    await orders.create_order(order)
    await inventory.reserve_stock(order)
    await inventory.release_stock(order)
    reason = "not in stock: rec-b (requested 1, available 0)"
    await orders.fail_order(FailOrderInput(order=order, reason=reason))
    async with worker_with(client, queue, sessions):
        handle = await _start(
            client, queue, CreateOrderWorkflow.run, order, order_workflow_id(order.order_id)
        )
        await _settle(handle)
    return handle


async def order_canceled_while_checking(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while the check runs: the order is withdrawn, and the run CANCELED."""
    hold = Hold()
    check = hold.step(CartInventoryActivities(sessions).check_stock)
    return await _order(client, queue, sessions, check, hold=hold)


async def order_canceled(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while the decrement hangs after its commit: the stock goes back, and the
    run is CANCELED."""
    hold = Hold()
    reserve = hold.step(CartInventoryActivities(sessions).reserve_stock)
    return await _order(client, queue, sessions, reserve, hold=hold)


async def order_completed_despite_cancel_while_completing(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while the completion runs: it finishes, and the run reports COMPLETED."""
    hold = Hold(finishes=True)
    complete = hold.step(OrderActivities(sessions).complete_order)
    return await _order(client, queue, sessions, complete, hold=hold)


async def order_compensated_despite_cancel(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while a lost race is compensated: the compensation finishes, and the run
    fails with the reason."""
    inventory = CartInventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_after_rival(order: CreateOrderInput) -> CartLedgerResult:
        await stock_items(sessions, **{"rec-b": 0})
        return await inventory.reserve_stock(order)

    hold = Hold(finishes=True)
    release = hold.step(inventory.release_stock)
    return await _order(client, queue, sessions, reserve_after_rival, release, hold=hold)


async def order_canceled_after_unrecorded_writes(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """An attempt that was never recorded created the order and took its stock; the run's
    first recorded task holds the cancel: the order is withdrawn, and the run CANCELED."""
    await stock_items(sessions, **{"rec-a": 10, "rec-b": 10})
    order = _cart(*CART)
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
    order = _cart(*CART)
    orders = OrderActivities(sessions)
    await orders.create_order(order)
    await CartInventoryActivities(sessions).reserve_stock(order)
    await orders.complete_order(OrderRef(order_id=order.order_id))
    return await _cancelled_before_it_runs(
        client, queue, sessions, CreateOrderWorkflow.run, order, order_workflow_id(order.order_id)
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
    handle = await _start(client, queue, run, arg, workflow_id)
    await handle.cancel()
    async with worker_with(client, queue, sessions):
        await _settle(handle)
    return handle


def _payment(amount: str, *overrides: Callable[..., Any], transient_failures: int = 0) -> Scenario:
    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        provider = SimulatedPaymentProvider(Decimal("1000.00"), transient_failures)
        request = PaymentInput(
            order=PaymentOrder(order_id=f"rec-{uuid.uuid4().hex}", amount=amount)
        )
        async with worker_with(client, queue, sessions, *overrides, provider=provider):
            handle = await _start(
                client, queue, ProcessOrderWorkflow.run, request, f"payment-{uuid.uuid4().hex}"
            )
            await _settle(handle)
        return handle

    return scenario


@activity.defn(name="charge_payment")
async def _charge_bug(_: ValidatedOrder) -> ChargedOrder:
    raise KeyError("a bug")


async def payment_conflict(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """The order was charged before at another amount: refused, nothing moves."""
    provider = SimulatedPaymentProvider(Decimal("1000.00"))
    order_id = f"rec-{uuid.uuid4().hex}"
    earlier = ValidatedOrder(order_id=order_id, amount=Decimal("5.00"), validated=True)
    await PaymentActivities(sessions, provider).charge_payment(earlier)
    request = PaymentInput(order=PaymentOrder(order_id=order_id, amount=Decimal("7.00")))
    async with worker_with(client, queue, sessions, provider=provider):
        handle = await _start(
            client, queue, ProcessOrderWorkflow.run, request, f"payment-{uuid.uuid4().hex}"
        )
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
        handle = await _start(
            client, queue, ProcessOrderWorkflow.run, request, f"payment-{uuid.uuid4().hex}"
        )
        await sent.wait()
        await handle.cancel()
        cancelled.set()
        await _settle(handle)
    return handle


async def payment_recorded_despite_cancel(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while the record is written: it finishes, and the run reports COMPLETED."""
    payments = PaymentActivities(sessions, SimulatedPaymentProvider(Decimal("1000.00")))
    hold = Hold(finishes=True)
    request = PaymentInput(order=PaymentOrder(order_id=f"rec-{uuid.uuid4().hex}", amount="8.00"))
    async with worker_with(client, queue, sessions, hold.step(payments.record_order)):
        handle = await _start(
            client, queue, ProcessOrderWorkflow.run, request, f"payment-{uuid.uuid4().hex}"
        )
        await hold.cancel(handle)
    return handle


def _webhook(*overrides: Callable[..., Any]) -> Scenario:
    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        webhook = WebhookInput(payload={"event": "recorded"}, received_at=datetime.now(UTC))
        async with worker_with(client, queue, sessions, *overrides):
            handle = await _start(
                client, queue, WebhookWorkflow.run, webhook, f"webhook-{uuid.uuid4().hex}"
            )
            await _settle(handle)
        return handle

    return scenario


@activity.defn(name="store_webhook")
async def _store_bug(_: StoreWebhookRequest) -> WebhookResult:
    raise KeyError("a bug")


async def webhook_canceled(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled before it ran: stored, then taken out again; the run CANCELED."""
    webhook = WebhookInput(payload={"event": "recorded"}, received_at=datetime.now(UTC))
    return await _cancelled_before_it_runs(
        client, queue, sessions, WebhookWorkflow.run, webhook, f"webhook-{uuid.uuid4().hex}"
    )


def _case(*draws: float, policy: str = "fail", tier2: str | None = None, **extra: Any) -> Scenario:
    """A support case with scripted Work on Case draws; `tier2` is "resolve" or "cancel"."""

    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        async def tier2_answers(handle: WorkflowHandle[Any, Any]) -> None:
            if tier2 in ("resolve", "cancel"):
                await until_waiting_for_tier2(handle)
            if tier2 == "resolve":
                await handle.execute_update(
                    SupportCaseWorkflow.tier2_resolution,
                    Tier2Resolution(resolution="fixed", agent="rec"),
                )
            elif tier2 == "cancel":
                await handle.cancel()

        return await _run_case(
            client, queue, sessions, draws, tier2_answers, on_unresolved=policy, **extra
        )

    return scenario


async def _run_case(
    client: Client,
    queue: str,
    sessions: SessionFactory,
    draws: Sequence[float],
    meanwhile: Callable[[WorkflowHandle[Any, Any]], Awaitable[None]] | None = None,
    *overrides: Callable[..., Any],
    **case: Any,
) -> WorkflowHandle[Any, Any]:
    """A case run with scripted draws and some steps replaced; `meanwhile` acts on the run
    before it settles."""
    case_input = CaseInput.model_validate({"case_id": f"rec-{uuid.uuid4().hex[:12]}", **case})
    async with worker_with(client, queue, sessions, *overrides, rng=ScriptedRandom(*draws)):
        handle = await _start(
            client, queue, SupportCaseWorkflow.run, case_input, f"case-{case_input.case_id}"
        )
        if meanwhile is not None:
            await meanwhile(handle)
        await _settle(handle)
    return handle


async def case_step_caught(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Assign Case keeps failing: caught and escalated with the error, as Catch to Next."""

    @activity.defn(name="assign_case")
    async def failing_assign(_: CaseStep) -> CaseProgress:
        # Unexpected, not infrastructure: an infrastructure error would be retried for hours.
        raise RuntimeError("assignment service answered nonsense")

    return await _run_case(client, queue, sessions, (), None, failing_assign)


async def case_step_retried_on_a_timer(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Assign Case's service is away for 6 attempts: past 5 s, a local step's retry waits on
    a durable timer; then the case is resolved."""
    real = CaseActivities(sessions, ScriptedRandom())

    @activity.defn(name="assign_case")
    async def assign_when_back(step: CaseStep) -> CaseProgress:
        if activity.info().attempt <= 6:
            raise ConnectionError("assignment service away")
        return await real.assign_case(step)

    return await _run_case(client, queue, sessions, (0.9,), None, assign_when_back)


async def case_canceled_while_working(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """Cancelled while Work on Case runs: the case is CANCELED, and so is the run."""
    hold = Hold()
    work = hold.step(CaseActivities(sessions, ScriptedRandom(0.1)).work_on_case)
    return await _run_case(client, queue, sessions, (), hold.cancel, work)


def _report(
    delay_s: float,
    max_polls: int,
    *,
    wait_seconds: float = 0.2,
    api_path: str = "",
    cancel_while_waiting: bool = False,
) -> Scenario:
    """A runner run against a reporting API whose reports are due after `delay_s`, served
    under `api_path` (a wrong one answers 404)."""

    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        settings = Settings(
            database_url=database_url,
            temporal_address=client.service_client.config.target_host,
            task_queue=queue,
            report_min_delay_seconds=delay_s,
        )
        site = LocalPagePublisher(Path(tempfile.mkdtemp(prefix="site-")))
        async with serve(create_app(FLOWS, settings, database_url, client)) as base:
            api = base + api_path
            async with worker_with(client, queue, sessions, reports_api_url=api, publisher=site):
                handle = await _start(
                    client,
                    queue,
                    ReportRunnerWorkflow.run,
                    ReportRunInput(wait_seconds=wait_seconds, max_polls=max_polls),
                    f"report-runner-{uuid.uuid4().hex}",
                )
                if cancel_while_waiting:
                    await _until_event(handle, EventType.EVENT_TYPE_TIMER_STARTED)
                    await handle.cancel()
                await _settle(handle)
        return handle

    return scenario


async def _noop(client: Client, queue: str, sessions: SessionFactory, database_url: str) -> Any:
    async with worker_with(client, queue, sessions):
        handle = await _start(
            client,
            queue,
            BenchNoopWorkflow.run,
            NoopShape(stages=[2, 3]),
            f"bench-noop-{uuid.uuid4().hex}",
        )
        await handle.result()
    return handle


SFN_TOUR = {
    "Comment": "Every state type once: the interpreter's main path",
    "StartAt": "Shape",
    "States": {
        "Shape": {
            "Type": "Pass",
            "Parameters": {"items.$": "$.items", "id.$": "States.UUID()"},
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.items[0]", "NumericGreaterThan": 0, "Next": "Both"}],
            "Default": "Nothing",
        },
        "Nothing": {"Type": "Fail", "Error": "Empty"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "EachItem",
                    "States": {
                        "EachItem": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 2,
                            "ItemProcessor": {
                                "StartAt": "Echo",
                                "States": {
                                    "Echo": {
                                        "Type": "Task",
                                        "Resource": "arn:aws:lambda:us-east-1:123456789012:"
                                        "function:echo",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Pause",
                    "States": {
                        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Local"},
                        "Local": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "local-echo", "Payload.$": "$"},
                            "ResultSelector": {"echoed.$": "$.Payload"},
                            "End": True,
                        },
                    },
                },
            ],
            "End": True,
        },
    },
}

SFN_RETRIED_AND_CAUGHT = {
    "StartAt": "Flaky",
    "States": {
        "Flaky": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
            "Retry": [{"ErrorEquals": ["CustomError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "ResultPath": "$.flaky",
            "Next": "Breaks",
        },
        "Breaks": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Stop"}],
            "End": True,
        },
        "Stop": {"Type": "Fail", "Error": "Caught", "CausePath": "$.error.Error"},
    },
}

SFN_LARGE_MAP = {
    "Comment": "A Map past the inline limit: its iterations run in child workflows",
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "MaxConcurrency": 40,
            "ItemProcessor": {
                "StartAt": "Double",
                "States": {
                    "Double": {
                        "Type": "Pass",
                        "Parameters": {"n.$": "States.MathAdd($, $)"},
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}

SFN_JSONATA_AND_VARIABLES = {
    "Comment": "JSONata states, JSONPath variables, and a catcher's Output and Assign",
    "StartAt": "Set",
    "States": {
        "Set": {"Type": "Pass", "Assign": {"base.$": "$.base"}, "Next": "Add"},
        "Add": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:add",
            "Arguments": {"a": "{% $base %}", "b": "{% $states.input.b %}"},
            "Assign": {"sum": "{% $states.result %}"},
            "Output": "{% $states.input %}",
            "Next": "Boom",
        },
        "Boom": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fail",
            "Arguments": {"message": "{% 'sum was ' & $string($sum) %}"},
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Output": "{% {'sum': $sum, 'at': $now(), 'id': $uuid()} %}",
                    "Next": "Done",
                }
            ],
            "End": True,
        },
        "Done": {"Type": "Succeed"},
    },
}

SFN_CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "record-token",
                "Payload": {"token.$": "$$.Task.Token"},
            },
            "HeartbeatSeconds": 60,
            "End": True,
        }
    },
}


RECORDED_TOKENS: list[str] = []


@task("record-token")
def _record_token(event: dict[str, str]) -> None:
    RECORDED_TOKENS.append(event["token"])


def _state_machine(
    definition: dict[str, Any], value: Any, answer: dict[str, Any] | None = None
) -> Scenario:
    """An interpreted execution of `definition`; with `answer`, its one waiting task gets
    that answer through the `complete_task` update."""

    async def scenario(
        client: Client, queue: str, sessions: SessionFactory, database_url: str
    ) -> Any:
        async with worker_with(client, queue, sessions):
            handle = await Executor(client, queue).start(definition, value)
            if answer is not None:
                for _ in range(200):
                    if RECORDED_TOKENS:
                        break
                    await asyncio.sleep(0.05)
                callback = TaskCallback(token=RECORDED_TOKENS.pop(), **answer)
                await handle.execute_update("complete_task", callback)
            await _settle(handle)
        return handle

    return scenario


SFN_REDRIVEN = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "MaxConcurrency": 1,
                            "ItemSelector": {
                                "key.$": "$$.Map.Item.Value",
                                "value.$": "$$.Map.Item.Index",
                            },
                            "ItemProcessor": {
                                "StartAt": "Call",
                                "States": {
                                    "Call": {
                                        "Type": "Task",
                                        "Resource": lambda_arn("fixable"),
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "End": True,
        }
    },
}


async def sfn_redriven(
    client: Client, queue: str, sessions: SessionFactory, database_url: str
) -> Any:
    """A Parallel whose Map failed on its second item, redriven once the item's handler is
    fixed: the history recorded is the redriven run's."""
    keys = ["redrive-recorded-0", "redrive-recorded-1", "redrive-recorded-2"]
    BROKEN.add(keys[1])
    async with worker_with(client, queue, sessions):
        executor = Executor(client, queue)
        failed = await executor.start(SFN_REDRIVEN, keys)
        await _settle(failed)
        BROKEN.discard(keys[1])
        plan = await failed.query("redrive_plan")
        request = await _input_of(client, failed)
        described = await failed.describe()
        redriven = request.model_copy(
            update={
                "redrive": Redrive(
                    count=1,
                    at=described.close_time,
                    first_start=described.start_time,
                    earlier_runs=[described.run_id],
                    plan=plan,
                )
            }
        )
        handle = await client.start_workflow(
            StateMachineWorkflow.run, redriven, id=failed.id, task_queue=queue
        )
        await _settle(handle)
    return handle


async def _input_of(client: Client, handle: WorkflowHandle[Any, Any]) -> ExecutionInput:
    async for event in handle.fetch_history_events(page_size=1):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        (value,) = await client.data_converter.decode(payloads, [ExecutionInput])
        assert isinstance(value, ExecutionInput)
        return value
    raise AssertionError("a run's history starts with its input")


FROZEN: tuple[str, ...] = ()
"""Histories that earlier workflow code recorded and today's code cannot record again, kept to
prove that the runs it started still replay. From 0.1.0 on, a recorded history is frozen: a
change that alters one needs `workflow.patched()`, and the history it altered moves here under
its name, while the new behaviour gets a scenario of its own. Empty at 0.1.0, the first
release: no run was ever started by earlier code outside the tests."""

SCENARIOS: dict[str, Scenario] = {
    "order_completed": order_completed,
    "order_retried": order_retried,
    "order_not_in_stock": order_not_in_stock,
    "order_invalid_cart": order_invalid_cart,
    "order_compensated": order_compensated,
    "order_step_failed": order_step_failed,
    "order_already_compensated": order_already_compensated,
    "order_canceled_while_checking": order_canceled_while_checking,
    "order_canceled": order_canceled,
    "order_completed_despite_cancel_while_completing": (
        order_completed_despite_cancel_while_completing
    ),
    "order_compensated_despite_cancel": order_compensated_despite_cancel,
    "order_canceled_after_unrecorded_writes": order_canceled_after_unrecorded_writes,
    "order_completed_despite_cancel": order_completed_despite_cancel,
    "payment_completed": _payment("19.99"),
    "payment_retried": _payment("5.00", transient_failures=2),
    "payment_invalid_amount": _payment("0"),
    "payment_declined": _payment("1000.01"),
    "payment_conflict": payment_conflict,
    "payment_step_failed": _payment("6.00", _charge_bug),
    "payment_canceled": payment_canceled,
    "payment_charged_despite_cancel": payment_charged_despite_cancel,
    "payment_recorded_despite_cancel": payment_recorded_despite_cancel,
    "webhook_stored": _webhook(),
    "webhook_step_failed": _webhook(_store_bug),
    "webhook_canceled": webhook_canceled,
    "case_resolved": _case(0.9),
    "case_escalated": _case(0.1),
    "case_retry_resolved": _case(0.1, 0.9, policy="retry"),
    "case_retry_exhausted": _case(0.1, 0.1, policy="retry", max_work_attempts=2),
    "case_tier2_resolved": _case(0.1, policy="tier2", tier2="resolve"),
    "case_tier2_expired": _case(0.1, policy="tier2", tier2_deadline_seconds=1),
    "case_step_caught": case_step_caught,
    "case_step_retried_on_a_timer": case_step_retried_on_a_timer,
    "case_canceled_while_working": case_canceled_while_working,
    "case_canceled_waiting": _case(0.1, policy="tier2", tier2="cancel"),
    "report_published": _report(delay_s=1.5, max_polls=10),
    "report_not_ready": _report(delay_s=3600, max_polls=2),
    "report_rejected": _report(delay_s=1.5, max_polls=2, api_path="/nowhere"),
    "report_canceled_while_waiting": _report(
        delay_s=1.5, max_polls=2, wait_seconds=3600, cancel_while_waiting=True
    ),
    "bench_noop": _noop,
    "sfn_tour": _state_machine(SFN_TOUR, {"items": [3, 1, 2]}),
    "sfn_retried_and_caught": _state_machine(
        SFN_RETRIED_AND_CAUGHT, {"key": "recorded", "failures": 1}
    ),
    "sfn_large_map": _state_machine(SFN_LARGE_MAP, list(range(1200))),
    "sfn_jsonata_and_variables": _state_machine(SFN_JSONATA_AND_VARIABLES, {"base": 40, "b": 2}),
    "sfn_callback": _state_machine(
        SFN_CALLBACK, {}, answer={"kind": "success", "output": {"approved": True}}
    ),
    "sfn_redriven": sfn_redriven,
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
