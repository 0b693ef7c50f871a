"""How each workflow names its runs. A workflow id is `<prefix>-<name>`; each flow has its own
prefix (checked in tests/test_flows.py), so two flows can never claim the same id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkflowIds:
    """One flow's id scheme."""

    prefix: str

    def of(self, name: str) -> str:
        """The id of the run named `name`."""
        return f"{self.prefix}-{name}"


ORDER_RUNS = WorkflowIds("order")
"""Named by order id: the API and the order rows both use it."""

PAYMENT_RUNS = WorkflowIds("payment")
"""Named at random, or by Idempotency-Key; found by order id through `PaymentOrderId`."""

WEBHOOK_RUNS = WorkflowIds("webhook")
"""Named at random, or by Idempotency-Key."""

CASE_RUNS = WorkflowIds("case")
"""Named by case id: one case has at most one run in progress, and keeps its earlier runs."""

REPORT_RUNS = WorkflowIds("report-runner-now")
"""Runs started by hand; the schedule names its own (`report-runner-...`)."""

BENCH_RUNS = WorkflowIds("bench-noop")
"""The bench's baseline runs."""

LIMIT_RUNS = WorkflowIds("bench-empty")
"""The bench's empty-workflow limit runs."""

EXECUTION_RUNS = WorkflowIds("execution")
"""A state machine's executions: `execution-<state machine name>:<execution name>`. Neither
name may hold a colon (AWS refuses it), so the id names one execution."""

TEST_STATE_RUNS = WorkflowIds("test-state")
"""`TestState` calls: one state run once, with no execution of its own."""
