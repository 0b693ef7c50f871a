"""Business counters, counted where each effect happened, once.

A step may run more than once (a retry, or an attempt whose result was lost), so a counter
moves only where the database says this attempt made the change: the row it updated, the
event it inserted. A retry that finds the work done counts nothing. The counters go through
the activity's Temporal metric meter, so the worker serves them beside the SDK's own metrics
(`STATEWRIGHT_WORKER_METRICS_PORT`), labelled with the workflow and activity type. With no
metrics endpoint configured they cost next to nothing.
"""

from __future__ import annotations

from typing import Final

from temporalio import activity

COUNTERS: Final = {
    "statewright_orders_completed": "Orders that completed.",
    "statewright_orders_failed": "Orders marked failed (not in stock, a failed step, cancelled).",
    "statewright_orders_compensated": "Orders whose stock was given back.",
    "statewright_stock_check_rejections": "Carts the stock check turned away.",
    "statewright_payments_charged": "Orders charged, once each.",
    "statewright_payments_charged_cents": "Money charged, in cents.",
    "statewright_payments_declined": "Charges the provider declined.",
    "statewright_webhooks_stored": "Webhook payloads stored.",
    "statewright_cases_resolved": "Support cases resolved (by Work on Case or by tier 2).",
    "statewright_cases_escalated": "Support cases escalated.",
    "statewright_cases_awaiting_tier2": "Support cases that began waiting for tier 2.",
    "statewright_reports_published": "Report pages published by the report runner.",
}
"""Every business counter, with its description (`docs/metrics.md` lists them)."""


PUBLISHED_AT: Final = "statewright_report_last_published_timestamp_seconds"
"""A gauge: when the report runner last published the page (Unix time). Its publish age is
`time() - statewright_report_last_published_timestamp_seconds`."""


def published_now(unix_seconds: float) -> None:
    """The report page was just published."""
    if activity.in_activity():
        meter = activity.metric_meter()
        meter.create_gauge_float(PUBLISHED_AT, "When the report page was last published.").set(
            unix_seconds
        )


def count(name: str, value: int = 1) -> None:
    """Add `value` to the business counter `name` (one of `COUNTERS`)."""
    description = COUNTERS[name]
    if activity.in_activity():  # a handler called by hand, outside a worker, counts nothing
        activity.metric_meter().create_counter(name, description).add(value)
