"""What a Statewright worker runs. Tests build their workers from this same list."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from activities.cases import CaseActivities
from activities.inventory import InventoryActivities
from activities.orders import OrderActivities
from activities.payment_provider import PaymentProvider
from activities.payments import PaymentActivities
from activities.webhooks import WebhookActivities
from core.db import SessionFactory
from workflows.cases import SupportCaseWorkflow
from workflows.orders import CreateOrderWorkflow
from workflows.payments import ProcessOrderWorkflow
from workflows.webhooks import WebhookWorkflow

WORKFLOWS: Sequence[type] = (
    CreateOrderWorkflow,
    ProcessOrderWorkflow,
    WebhookWorkflow,
    SupportCaseWorkflow,
)


def build_activities(
    sessions: SessionFactory, provider: PaymentProvider, rng: random.Random | None = None
) -> list[Callable[..., Any]]:
    """Every activity, bound to the dependencies it needs."""
    cases = CaseActivities(sessions, rng or random.Random())
    inventory = InventoryActivities(sessions)
    orders = OrderActivities(sessions)
    payments = PaymentActivities(sessions, provider)
    webhooks = WebhookActivities(sessions)
    return [
        inventory.check_stock,
        inventory.reserve_stock,
        inventory.release_stock,
        orders.create_order,
        orders.complete_order,
        orders.fail_order,
        payments.validate_order,
        payments.charge_payment,
        payments.record_order,
        webhooks.store_webhook,
        cases.open_case,
        cases.assign_case,
        cases.work_on_case,
        cases.close_case,
        cases.escalate_case,
        cases.resolve_case,
        cases.expire_case,
    ]
