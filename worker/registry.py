"""What a Statewright worker runs. Tests build their workers from this same list."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from activities.bench import bench_noop
from activities.cart_inventory import CartInventoryActivities
from activities.cases import CaseActivities
from activities.orders import OrderActivities
from activities.payment_provider import PaymentProvider
from activities.payments import PaymentActivities
from activities.reports import ReportActivities
from activities.webhooks import WebhookActivities
from core.db import SessionFactory
from core.site_store import SiteStore
from workflows.catalog import WORKFLOWS

__all__ = ["WORKFLOWS", "Dependencies", "build_activities"]


@dataclass
class Dependencies:
    """Everything the activities need from the outside world, handed in, never looked up."""

    sessions: SessionFactory
    provider: PaymentProvider
    reports_api_url: str
    site_store: SiteStore
    rng: random.Random = field(default_factory=random.Random)
    reports_api_key: str | None = None


def build_activities(deps: Dependencies) -> list[Callable[..., Any]]:
    """Every activity, bound to the dependencies it needs."""
    cart = CartInventoryActivities(deps.sessions)
    orders = OrderActivities(deps.sessions)
    payments = PaymentActivities(deps.sessions, deps.provider)
    webhooks = WebhookActivities(deps.sessions)
    cases = CaseActivities(deps.sessions, deps.rng)
    reports = ReportActivities(deps.reports_api_url, deps.site_store, deps.reports_api_key)
    return [
        cart.check_stock,
        cart.reserve_stock,
        cart.release_stock,
        orders.create_order,
        orders.complete_order,
        orders.fail_order,
        orders.cancel_order,
        payments.validate_order,
        payments.charge_payment,
        payments.record_order,
        webhooks.store_webhook,
        webhooks.discard_webhook,
        cases.open_case,
        cases.assign_case,
        cases.work_on_case,
        cases.close_case,
        cases.escalate_case,
        cases.resolve_case,
        cases.expire_case,
        cases.cancel_case,
        reports.create_report,
        reports.poll_report,
        reports.download_report,
        reports.render_report,
        reports.publish_report,
        bench_noop,
    ]
