"""The seeds' own state machines, as the seeds define them, and how each hand-written workflow
maps onto its seed's graph.

The definitions are the seeds' ASL, unmodified (see `../shared/seeds/asl/README.md` for how
each was obtained): `statewright up` and `statewright sfn seed` register them, the
`STATEWRIGHT_ENGINE=asl` routes start them, and the graph inspector draws a hand-written run
on its seed's graph. This module is data only: it does no I/O but read its own JSON files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@dataclass(frozen=True)
class SeedMachine:
    """One seed's state machine, and the hand-written workflow that does the same job."""

    number: str
    """The seed's number: `000` to `004`."""
    slug: str
    """Names the file and the state machine: `seed-<number>-<slug>`."""
    type: str
    """STANDARD or EXPRESS, as the seed deploys it."""
    flow: str
    """The manifest's flow for the hand-written workflow (`statewright.flows`)."""
    workflow_type: str
    """The hand-written workflow's Temporal type."""
    steps: Mapping[str, str] = field(default_factory=dict)
    """Hand-written activity name -> the seed's state it does the work of. Activities that
    are not here (compensation, cancellation) have no state in the seed's graph."""

    @property
    def name(self) -> str:
        """The state machine's name, e.g. `seed-000-shopping-order`."""
        return f"seed-{self.number}-{self.slug}"

    def definition(self) -> dict[str, Any]:
        """The seed's definition, as a fresh dict (callers may change their copy)."""
        definition: dict[str, Any] = json.loads(self.definition_text())
        return definition

    def definition_text(self) -> str:
        """The definition as the file holds it: what `CreateStateMachine` is sent."""
        return _text(f"{self.number}-{self.slug}.asl.json")


@cache
def _text(filename: str) -> str:
    return (HERE / filename).read_text()


SHOPPING_ORDER = SeedMachine(
    "000",
    "shopping-order",
    "STANDARD",
    flow="orders",
    workflow_type="CreateOrderWorkflow",
    steps={
        "check_stock": "isItemInStockMappedTask",
        "reserve_stock": "updateItemStockMappedTask",
        "create_order": "createOrderTask",
        "complete_order": "createOrderTask",
    },
)
REPORT_RUNNER = SeedMachine(
    "001",
    "report-runner",
    "STANDARD",
    flow="reports",
    workflow_type="ReportRunnerWorkflow",
    steps={
        "create_report": "CreateReportState",
        "poll_report": "PollReportState",
        "download_report": "DownloadReportState",
        "render_report": "UpdateSiteState",
        "publish_report": "UpdateSiteState",
    },
)
PROCESS_ORDER = SeedMachine(
    "002",
    "process-order",
    "STANDARD",
    flow="payments",
    workflow_type="ProcessOrderWorkflow",
    steps={
        "validate_order": "Validate",
        "charge_payment": "Charge",
        "record_order": "Record",
    },
)
WEBHOOK = SeedMachine(
    "003",
    "webhook",
    "EXPRESS",
    flow="webhooks",
    workflow_type="WebhookWorkflow",
    steps={"store_webhook": "OneFuncInvoke"},
)
SUPPORT_CASE = SeedMachine(
    "004",
    "support-case",
    "STANDARD",
    flow="cases",
    workflow_type="SupportCaseWorkflow",
    steps={
        "open_case": "Open Case",
        "assign_case": "Assign Case",
        "work_on_case": "Work on Case",
        "close_case": "Close Case",
        "escalate_case": "Escalate Case",
    },
)

SEEDS: tuple[SeedMachine, ...] = (
    SHOPPING_ORDER,
    REPORT_RUNNER,
    PROCESS_ORDER,
    WEBHOOK,
    SUPPORT_CASE,
)


def seed_named(name: str) -> SeedMachine | None:
    """The seed whose state machine is called `name`, if any."""
    return next((seed for seed in SEEDS if seed.name == name), None)


def seed_for_workflow(workflow_type: str) -> SeedMachine | None:
    """The seed a hand-written workflow type does the work of, if any."""
    return next((seed for seed in SEEDS if seed.workflow_type == workflow_type), None)
