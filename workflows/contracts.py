"""Pydantic models that cross Temporal: workflow inputs and results, activity inputs and results.

These are recorded in workflow histories, so a field may be added with a default but never
renamed or removed without a `workflow.patched()` plan.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from workflows.ids import CASE_RUNS, ORDER_RUNS

OrderStatus = Literal["PENDING", "COMPLETED", "FAILED"]
LedgerState = Literal["reserved", "released"]

NOT_IN_STOCK = "NotInStock"
"""Error type of a failed stock check or a lost decrement race; never retried."""
INVALID_CART = "InvalidCart"
"""Error type of a cart the stock check refuses to read (an item twice); never retried."""
INVALID_ORDER = "InvalidOrder"
"""Error type of an order that fails the business check (amount > 0); never retried."""
PAYMENT_DECLINED = "PaymentDeclined"
"""Error type of a charge the provider refused; never retried."""
PAYMENT_CONFLICT = "PaymentConflict"
"""Error type of a second charge for an order at a different amount; never retried."""
PROVIDER_UNAVAILABLE = "ProviderUnavailable"
"""Error type of a transient provider failure; retried with backoff."""


def order_workflow_id(order_id: str) -> str:
    """Workflow id of an order's run; the API and the order rows both use it."""
    return ORDER_RUNS.of(order_id)


class OrderLine(BaseModel):
    item_id: str
    quantity: int


class CreateOrderInput(BaseModel):
    order_id: str
    lines: list[OrderLine]


class CreateOrderResult(BaseModel):
    order_id: str
    status: OrderStatus
    lines: list[OrderLine]


class StockCheck(BaseModel):
    """One line of a cart as the check saw it; also the details of a `NotInStock` error."""

    item_id: str
    requested: int
    available: int


class CartCheck(BaseModel):
    """Every line of a cart, checked in one step."""

    lines: list[StockCheck]


class CartLedgerResult(BaseModel):
    """Outcome of taking or giving back a whole cart's stock in one transaction."""

    order_id: str
    state: LedgerState
    changed_stock: bool
    """False when a retry found the work already done, or when a release found nothing taken."""


class OrderRef(BaseModel):
    order_id: str


class FailOrderInput(BaseModel):
    order: CreateOrderInput
    reason: str


class OrderState(BaseModel):
    """Where an order stands after a step that writes it."""

    order_id: str
    status: OrderStatus


# Order processing (seed 002): Validate, then Charge, then Record. Each step returns the
# order it was given with its own fields added, as the seed's Lambdas do.


class PaymentOrder(BaseModel):
    order_id: str
    amount: Decimal


class PaymentInput(BaseModel):
    order: PaymentOrder


class ValidatedOrder(PaymentOrder):
    validated: bool


class ChargedOrder(ValidatedOrder):
    payment_id: str
    charged: bool


class ProcessedOrder(ChargedOrder):
    recorded_at: datetime


class RecordRequest(BaseModel):
    order: ChargedOrder
    workflow_id: str


# Webhook intake (seed 003).


class WebhookInput(BaseModel):
    payload: dict[str, Any]
    received_at: datetime


class StoreWebhookRequest(WebhookInput):
    workflow_id: str


class WebhookResult(BaseModel):
    workflow_id: str
    received_at: datetime
    stored: bool


# Support cases (seed 004): Open, Assign, Work, then Close, or Escalate (and Fail, loop back,
# or wait for tier 2).

OnUnresolved = Literal["fail", "retry", "tier2"]
CaseStatus = Literal[
    "OPEN",
    "ASSIGNED",
    "RESOLVED",
    "UNRESOLVED",
    "ESCALATED",
    "AWAITING_TIER2",
    "CLOSED",
    "EXPIRED",
    "CANCELED",
]

CASE_ESCALATED = "CaseEscalated"
"""Error type of the seed's Fail state; its message is the seed's cause."""
ESCALATION_CAUSE = "Engage Tier 2 Support."
TIER2_EXPIRED = "Tier2DeadlinePassed"


def case_workflow_id(case_id: str) -> str:
    """Workflow id of a case's runs; one case has at most one run in progress."""
    return CASE_RUNS.of(case_id)


class CaseInput(BaseModel):
    case_id: str
    on_unresolved: OnUnresolved = "fail"
    max_work_attempts: int = 3
    tier2_deadline_seconds: float = 24 * 3600


class Tier2Resolution(BaseModel):
    resolution: str
    agent: str


class CaseStep(BaseModel):
    """What every case step receives: the case and the message built so far.

    `run_id` and `step` key the step's status event, so a retried step writes one event.
    `error` is a caught failure that escalation records; `resolution` is tier 2's answer;
    `awaiting_tier2` says an escalation now waits for a person (AWAITING_TIER2) rather than
    failing the run (ESCALATED).
    """

    case_id: str
    run_id: str
    step: str
    message: str
    error: str | None = None
    resolution: Tier2Resolution | None = None
    awaiting_tier2: bool = False


class CaseProgress(BaseModel):
    case_id: str
    status: CaseStatus
    message: str


class CaseResult(BaseModel):
    case_id: str
    status: CaseStatus
    message: str
    work_attempts: int
    resolution: Tier2Resolution | None = None


# Report runner (seed 001): Create, Wait, Poll (bounded loop), Download, Render, Publish.

REPORT_NOT_READY = "ReportNotReady"
REPORT_FAILED = "ReportFailed"
REPORTING_API_REJECTED = "ReportingApiRejected"
"""A 4xx from the reporting API: retrying the same request cannot help."""


class ReportRunInput(BaseModel):
    wait_seconds: float = 10
    max_polls: int = 10


class ReportTicket(BaseModel):
    report_id: str
    status_url: str


ReportState = Literal["IN_PROGRESS", "COMPLETED", "FAILED"]
"""A report's status at the reporting API."""


class ReportStatus(BaseModel):
    report_id: str
    status: ReportState
    download_url: str | None
    generated_at: datetime | None = None


class PublishedReport(BaseModel):
    report_id: str
    location: str
    """Where the page is: its URL."""
    row_count: int
    size_bytes: int


class StagedFile(BaseModel):
    """A reference to a working file in the page publisher (a claim check): the report runner's
    steps pass these, never the CSV or the page itself, so its history stays small however
    large the inventory grows."""

    report_id: str
    name: str
    size_bytes: int
    generated_at: datetime | None = None
    row_count: int | None = None


# The benchmark's baseline: no-op work of a scenario's shape, in regular activities.


class NoopShape(BaseModel):
    """Stages run one after another; the activities of a stage run in parallel."""

    stages: list[int]


class NoopStep(BaseModel):
    stage: int
    index: int


class MapChunk(BaseModel):
    """Some iterations of a large Map, run as a child of the execution (`asl.map_chunks`)."""

    workflow_id: str
    """The chunk's own workflow id, from which the ids of its own Maps' chunks follow."""
    state_name: str
    processor: dict[str, Any]
    first_index: int
    inputs: list[Any]
    concurrency: int
    """How many iterations run at once; 0: all."""
    tolerant: bool
    """Whether the Map tolerates failures: then every iteration runs, and failures are
    counted, not raised."""
    execution_start: datetime
    """When the execution started (`$$.Execution.StartTime`), not the chunk."""
    variables: dict[str, Any] = {}
    """The workflow variables the Map's iterations start with."""
    query_language: str = "JSONPath"
    """The definition's `QueryLanguage`, for states that do not name their own."""


class MapChunkResult(BaseModel):
    results: list[Any]
    failures: int


class Redrive(BaseModel):
    """How a redriven execution continues its earlier runs (`RedriveExecution`)."""

    count: int
    """How many times the execution has been redriven, this time included."""
    at: datetime
    """When this redrive was asked for: AWS's `redriveDate`."""
    first_start: datetime
    """When the execution first started: its `startDate` stays that."""
    earlier_runs: list[str]
    """The Temporal run ids of the execution's earlier runs, oldest first: its history is
    theirs, then this run's."""
    plan: dict[str, Any] = {}
    """Where the last run stood when it ended (`workflows.asl.redrive`)."""
    client_token: str | None = None
    """The `clientToken` of the request: the same token asks for the same redrive."""


class ExecutionInput(BaseModel):
    """How a state machine's execution starts: the definition it runs, pinned at start as AWS
    pins a revision, and what the context object (`$$`) tells about the execution."""

    definition: dict[str, Any]
    input: Any
    execution_arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    role_arn: str
    region: str
    account: str
    type: Literal["STANDARD", "EXPRESS"] = "STANDARD"
    map_chunk: MapChunk | None = None
    """Set for a child run that runs some iterations of a large Map, not the definition."""
    test_state: str | None = None
    """Set for `TestState`: the one state of the definition to run once."""
    handler_modes: dict[str, bool] | None = None
    """Whether each handler the definition names runs as a local activity, as the API knew
    them at start: pinned in the history, so a replay schedules what the run did. A handler
    not named here is decided by the worker, with a marker in the history."""
    redrive: Redrive | None = None
    """Set for a redriven execution's run: where to continue from."""


class TestStateResult(BaseModel):
    """What `TestState` found: AWS's status, the output or error, and each stage of the data
    flow by AWS's `inspectionData` names."""

    status: Literal["SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"]
    output: Any = None
    next_state: str | None = None
    error: str | None = None
    cause: str | None = None
    inspection: dict[str, Any] = {}


class TaskHandlerCall(BaseModel):
    """One call of a task handler (`statewright.tasks`): the function named by the Task
    state, and the input it gets."""

    function: str
    payload: Any
    execution_arn: str
    state_name: str


class HttpTaskCall(BaseModel):
    """One `http:invoke` task: its resolved `Parameters`."""

    parameters: Any
    execution_arn: str
    state_name: str


TASK_FAILED_TYPE = "TaskHandlerFailed"
"""Error type of a task whose handler failed; its details are the ASL error and cause."""


class TaskCallback(BaseModel):
    """An answer for a task waiting on its token: an output (`SendTaskSuccess`), an error
    (`SendTaskFailure`) or a sign of life (`SendTaskHeartbeat`)."""

    token: str
    kind: Literal["success", "failure", "heartbeat"]
    output: Any = None
    error: str | None = None
    cause: str | None = None


class ActivityTaskOffer(BaseModel):
    """A task for an activity's workers (`GetActivityTask`), offered under its token."""

    token: str
    activity_name: str
    input: str
    """The task's input as JSON text, as `GetActivityTask` hands it out."""


class ActivityStarted(BaseModel):
    """A worker took an activity task with `GetActivityTask`."""

    token: str
    worker_name: str | None = None
