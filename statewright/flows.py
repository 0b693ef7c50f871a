"""The manifest: every workflow Statewright runs, declared once, one declaration each.

The rest is derived from these lines: the worker registers each flow's workflow and
activities (`worker.flows`); the API mounts its routes, lists its workflow type in
`GET /runs` and knows its `<name>:write` scope (`api.flows`); `statewright bench` loads the
flows that name a scenario. Adding a workflow is its own files (workflow, activities, routes,
contracts, a migration if it keeps rows) and one declaration here.

The manifest lives with the launchers because it pairs pieces of three layers: the API's
routes, the workflows, and the activities. Only the top layer may import all three.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import APIRouter

# The seeds' Lambda functions, as task handlers, so the seeds' own state machines run as they
# are (`workflows.seeds`); the `sfn` bench runs seed 000's.
from activities import (
    payment_tasks,  # noqa: F401
    report_tasks,  # noqa: F401
    shopping_order_tasks,  # noqa: F401
    support_case_tasks,  # noqa: F401
    webhook_tasks,  # noqa: F401
)
from activities.activity_tasks import ActivityTaskQueue
from activities.bench import bench_noop
from activities.cart_inventory import CartInventoryActivities
from activities.cases import CaseActivities
from activities.dependencies import Dependencies
from activities.orders import OrderActivities
from activities.payments import PaymentActivities
from activities.reports import ReportActivities
from activities.task_handlers import TaskActivities
from activities.webhooks import WebhookActivities
from api.routes import cases, orders, payments, report_runner, webhooks
from api.sfn import protocol as sfn_protocol
from statewright.bench import scenarios
from statewright.bench.scenarios import BenchScenario
from workflows.bench import BenchNoopWorkflow
from workflows.cases import SupportCaseWorkflow
from workflows.ids import (
    BENCH_RUNS,
    CASE_RUNS,
    EXECUTION_RUNS,
    ORDER_RUNS,
    PAYMENT_RUNS,
    REPORT_RUNS,
    WEBHOOK_RUNS,
    WorkflowIds,
)
from workflows.orders import CreateOrderWorkflow
from workflows.payments import ProcessOrderWorkflow
from workflows.reports import ReportRunnerWorkflow
from workflows.state_machines import StateMachineWorkflow
from workflows.webhooks import WebhookWorkflow


@dataclass(frozen=True)
class Flow:
    """One workflow and everything that serves it."""

    name: str
    """Names the flow in docs, scopes (`<name>:write`) and `statewright bench <name>`."""
    workflow: type
    """The `@workflow.defn` class."""
    ids: WorkflowIds
    """How its runs are named."""
    activities: Callable[[Dependencies], Iterable[object]]
    """Its activities, bound to their dependencies: activity classes' instances (every
    activity method of one is registered) or activity functions."""
    routes: APIRouter | None = None
    """The API routes that start and read its runs; None for a flow with no API."""
    bench: BenchScenario | None = None
    """How `statewright bench` loads it; None if it cannot be loaded that way."""
    eager: bool = False
    """Whether the API starts its runs eagerly (`Settings.eager_start`): only for a flow
    whose run is short and whose steps are local activities, since they then run in the API
    process."""


FLOWS: tuple[Flow, ...] = (
    Flow(
        "orders",
        CreateOrderWorkflow,
        ORDER_RUNS,
        activities=lambda d: [
            CartInventoryActivities(d.sessions),
            OrderActivities(d.sessions),
        ],
        routes=orders.router,
        bench=scenarios.ORDERS,
        eager=True,
    ),
    Flow(
        "payments",
        ProcessOrderWorkflow,
        PAYMENT_RUNS,
        activities=lambda d: [PaymentActivities(d.sessions, d.provider)],
        routes=payments.router,
        bench=scenarios.PAYMENTS,
    ),
    Flow(
        "webhooks",
        WebhookWorkflow,
        WEBHOOK_RUNS,
        activities=lambda d: [WebhookActivities(d.sessions)],
        routes=webhooks.router,
        bench=scenarios.WEBHOOKS,
        eager=True,
    ),
    Flow(
        "cases",
        SupportCaseWorkflow,
        CASE_RUNS,
        activities=lambda d: [CaseActivities(d.sessions, d.rng)],
        routes=cases.router,
        bench=scenarios.CASES,
    ),
    Flow(
        "reports",
        ReportRunnerWorkflow,
        REPORT_RUNS,
        activities=lambda d: [ReportActivities(d.reports_api_url, d.publisher, d.reports_api_key)],
        routes=report_runner.router,
    ),
    Flow(
        "sfn",
        StateMachineWorkflow,
        EXECUTION_RUNS,
        activities=lambda d: [TaskActivities(dependencies=d), ActivityTaskQueue(d.sessions)],
        routes=sfn_protocol.router,
        bench=scenarios.SFN,
    ),
    # The bench's baseline: no-op activities shaped like a flow, started by the bench itself.
    Flow("bench", BenchNoopWorkflow, BENCH_RUNS, activities=lambda d: [bench_noop]),
)
