"""What a Statewright worker runs. Tests build their workers from this same list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from activities.inventory import InventoryActivities
from activities.orders import OrderActivities
from activities.payment_provider import PaymentProvider
from activities.payments import PaymentActivities
from activities.webhooks import WebhookActivities
from core.db import SessionFactory
from workflows.orders import CreateOrderWorkflow
from workflows.payments import ProcessOrderWorkflow
from workflows.webhooks import WebhookWorkflow

WORKFLOWS: Sequence[type] = (CreateOrderWorkflow, ProcessOrderWorkflow, WebhookWorkflow)


def build_activities(
    sessions: SessionFactory, provider: PaymentProvider
) -> list[Callable[..., Any]]:
    """Every activity, bound to the dependencies it needs."""
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
    ]
