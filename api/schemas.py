"""HTTP request and response models. Only the API uses them; workflows have their own."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from fastapi import Path
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    model_validator,
)

from api.graph.urls import page_path
from workflows.contracts import ReportState

MAX_ORDER_LINES = 100
MAX_LINE_QUANTITY = 1_000_000
MAX_STOCK = 1_000_000_000
ID_MAX = 64
WORKFLOW_ID_MAX = 200

# Ids and names may hold any printable text (an item id may even be `<script>`), but no
# control characters: Postgres refuses NUL outright, and the rest only cause trouble.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
# A business id that runs are indexed by (a search attribute) is also matched in visibility
# queries, inside quotes: printable, without quotes or backslashes.
INDEXED_ID = r"^[^\x00-\x1f\x7f'\"\\]+$"
# Free text (a resolution) may hold line breaks, never NUL.
NO_NUL = r"^[^\x00]+$"

ItemId = Annotated[
    str, Field(min_length=1, max_length=ID_MAX, pattern=PRINTABLE, examples=["sku-1"])
]
ItemIdPath = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=PRINTABLE)]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=PRINTABLE)]
WorkflowIdPath = Annotated[str, Path(min_length=1, max_length=WORKFLOW_ID_MAX, pattern=PRINTABLE)]


class StrictModel(BaseModel):
    """Unknown fields are an error: a typo such as `qty` must not pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StoreItemIn(StrictModel):
    item_id: ItemId = Field(validation_alias=AliasChoices("item_id", "itemId"))
    quantity: int = Field(strict=True, ge=0, le=MAX_STOCK, description="the new stock level")


class StoreItemOut(BaseModel):
    item_id: str
    stock: int


class OrderLineIn(StrictModel):
    item_id: ItemId = Field(validation_alias=AliasChoices("item_id", "itemId"))
    quantity: int = Field(strict=True, gt=0, le=MAX_LINE_QUANTITY)


def _distinct_items(lines: list[OrderLineIn]) -> list[OrderLineIn]:
    seen: set[str] = set()
    for line in lines:
        if line.item_id in seen:
            raise ValueError(f"item {line.item_id!r} appears on more than one line; combine them")
        seen.add(line.item_id)
    return lines


Cart = Annotated[
    list[OrderLineIn],
    Field(min_length=1, max_length=MAX_ORDER_LINES),
    AfterValidator(_distinct_items),
]


class OrderIn(StrictModel):
    order: Cart


class SeedCartIn(RootModel[Cart]):
    """The seed's `/create-order` body: a bare array of `{"itemId", "quantity"}`."""


def _page_url() -> Any:
    return Field(
        default=None,
        description="the run's page for people: its state machine's graph, coloured by what "
        "the run did in each state (`GET /executions/{workflow_id}`)",
        examples=["/executions/order-7f3c"],
    )


class RunRef(BaseModel):
    """What every start endpoint answers: enough to follow the run."""

    workflow_id: str
    run_id: str | None
    status_url: str
    ui_url: str
    page_url: str | None = _page_url()

    @model_validator(mode="after")
    def _with_page(self) -> Self:
        # Every run has an execution page: a reference built without one still links it.
        if self.page_url is None:
            self.page_url = page_path(self.workflow_id)
        return self


class OrderAccepted(RunRef):
    order_id: str


class OrderLineOut(BaseModel):
    item_id: str
    quantity: int


class OrderOut(BaseModel):
    order_id: str
    status: str = Field(
        description="PENDING, COMPLETED or FAILED; REJECTED when the run ended before the order "
        "was written (for example a failed stock check)"
    )
    failure_reason: str | None
    lines: list[OrderLineOut]
    workflow_id: str
    status_url: str
    created_at: datetime | None
    updated_at: datetime | None


class RunError(BaseModel):
    message: str
    type: str | None
    cause: str | None = None


class RunStep(BaseModel):
    activity_id: str
    name: str
    status: str
    attempts: int
    input: Any = None
    result: Any = None
    error: RunError | None = None
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    local: bool = Field(
        default=False,
        description="a local activity: run inside the worker, which starts it as soon as it is "
        "scheduled. Temporal records no input for these; the API recovers it by replaying "
        "the run's history",
    )


class RedriveAccepted(BaseModel):
    workflow_id: str
    run_id: str = Field(description="the new run, which continues the old one")
    status_url: str
    ui_url: str
    redrive_count: int = Field(description="how many times the run has been redriven")
    redrive_date: datetime


class RunDetail(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    input: Any
    result: Any
    error: RunError | None
    started_at: datetime | None
    closed_at: datetime | None
    steps: list[RunStep]
    ui_url: str
    page_url: str | None = _page_url()
    redrive_count: int = Field(
        default=0, description="how many times the run was redriven; 0 if never"
    )
    redrive_date: datetime | None = Field(
        default=None, description="when it was last redriven; null if never"
    )


class HealthOut(BaseModel):
    status: str = Field(description="ok, degraded (no worker polling) or unavailable")
    postgres: str
    temporal: str
    worker: str = Field(description="ok, or why no worker seems to be polling the task queue")
    version: str = Field(description="the Statewright release serving", examples=["0.1.0"])


class ErrorOut(BaseModel):
    detail: Any


def json_error(description: str) -> dict[str, Any]:
    """An error answer declared as JSON, for routes whose success is HTML or CSV (a `model`
    there would be documented in the route's own media type)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": ErrorOut.model_json_schema()}},
    }


class PaymentOrderIn(StrictModel):
    """Shape and types only: whether the amount is acceptable is the workflow's business."""

    order_id: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=ID_MAX, pattern=INDEXED_ID
        ),
    ]
    amount: Decimal = Field(
        allow_inf_nan=False,
        max_digits=12,
        decimal_places=2,
        examples=["19.99"],
        description="a finite decimal with at most 2 places, as a string or a number",
    )


class PaymentIn(StrictModel):
    order: PaymentOrderIn


class PaymentAccepted(RunRef):
    order_id: str


PaymentOrderIdPath = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=INDEXED_ID)]


class WebhookAccepted(RunRef):
    status: str = Field(examples=["webhook submitted"])


class WebhookProcessed(RunRef):
    status: str = Field(examples=["webhook processed"])
    result: dict[str, Any]


class WebhookFailed(BaseModel):
    status: str = Field(examples=["webhook failed"])
    detail: str


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    TERMINATED = "TERMINATED"
    TIMED_OUT = "TIMED_OUT"
    CONTINUED_AS_NEW = "CONTINUED_AS_NEW"


class RunSummary(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    started_at: datetime | None
    closed_at: datetime | None
    status_url: str
    ui_url: str
    page_url: str | None = _page_url()


class RunPage(BaseModel):
    runs: list[RunSummary]
    next_page_token: str | None = Field(
        description="pass as `page_token` for the next page; null on the last page"
    )


class CancelAccepted(BaseModel):
    workflow_id: str
    run_id: str
    status: str = Field(examples=["CANCEL_REQUESTED"])
    status_url: str


CaseId = Annotated[
    str,
    Field(min_length=1, max_length=ID_MAX, pattern=r"^[A-Za-z0-9._:-]+$", examples=["42"]),
]
CaseIdPath = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=PRINTABLE)]


class CaseIn(StrictModel):
    case_id: CaseId = Field(
        validation_alias=AliasChoices("case_id", "inputCaseID"),
        description="letters, digits and . _ : - (1-64); the seed's `inputCaseID` works too",
    )
    on_unresolved: Literal["fail", "retry", "tier2"] = Field(
        default="fail",
        description="fail: escalate and fail, as in the seed; retry: work again (bounded); "
        "tier2: escalate and wait for POST /cases/{case_id}/resolve, with a deadline",
    )
    max_work_attempts: int | None = Field(
        default=None, strict=True, ge=1, le=10, description="for `retry`; default 3"
    )


class CaseAccepted(RunRef):
    case_id: str


class CaseEventOut(BaseModel):
    step: str
    status: str
    message: str
    detail: dict[str, Any] | None
    run_id: str
    at: datetime


class CaseOut(BaseModel):
    case_id: str
    status: str
    message: str
    workflow_id: str
    run_id: str
    status_url: str
    created_at: datetime
    updated_at: datetime
    history: list[CaseEventOut]


class ResolveIn(StrictModel):
    resolution: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL),
    ]
    agent: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
    ]


class ResolveAccepted(BaseModel):
    case_id: str
    status: str = Field(examples=["RESOLUTION_SENT"])
    workflow_id: str
    run_id: str
    status_url: str


class ReportAccepted(BaseModel):
    report_id: str
    status_url: str


class ReportOut(BaseModel):
    report_id: str
    status: ReportState
    download_url: str | None
    requested_at: datetime
    generated_at: datetime | None
    row_count: int | None


class ScheduleOut(BaseModel):
    schedule_id: str
    paused: bool
    note: str | None
    cron_expressions: list[str]
    intervals_seconds: list[float]
    overlap: str
    next_run_times: list[datetime]
    recent_runs: list[dict[str, Any]]


class ChargeOut(BaseModel):
    payment_id: str
    amount: Decimal
    charged_at: datetime


class PaymentOut(BaseModel):
    """Everything known of an order's payment: the charge, its record, and its runs."""

    order_id: str
    charge: ChargeOut | None = Field(description="null until the order is charged")
    recorded_at: datetime | None = Field(description="when Record wrote it; null before")
    runs: list[RunSummary] = Field(description="its payment runs, in visibility order")


class WebhookOut(BaseModel):
    """A webhook as received and stored, and its run."""

    workflow_id: str
    status: str = Field(description="its run's status, or STORED if the run is gone")
    payload: dict[str, Any] | None = Field(description="null until stored")
    received_at: datetime | None
    stored_at: datetime | None
    status_url: str
