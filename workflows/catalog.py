"""Every workflow this project runs: the worker registers them, and the API replays their
histories to show the inputs of local steps."""

from __future__ import annotations

from collections.abc import Sequence

from workflows.bench import BenchNoopWorkflow
from workflows.cases import SupportCaseWorkflow
from workflows.orders import CreateOrderWorkflow
from workflows.payments import ProcessOrderWorkflow
from workflows.reports import ReportRunnerWorkflow
from workflows.webhooks import WebhookWorkflow

WORKFLOWS: Sequence[type] = (
    CreateOrderWorkflow,
    ProcessOrderWorkflow,
    WebhookWorkflow,
    SupportCaseWorkflow,
    ReportRunnerWorkflow,
    BenchNoopWorkflow,
)
