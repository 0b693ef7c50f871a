"""What a Statewright worker runs. Tests build their workers from this same list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from activities.inventory import InventoryActivities
from activities.orders import OrderActivities
from core.db import SessionFactory
from workflows.orders import CreateOrderWorkflow

WORKFLOWS: Sequence[type] = (CreateOrderWorkflow,)


def build_activities(sessions: SessionFactory) -> list[Callable[..., Any]]:
    """Every activity, bound to the dependencies it needs."""
    inventory = InventoryActivities(sessions)
    orders = OrderActivities(sessions)
    return [
        inventory.check_stock,
        inventory.reserve_stock,
        inventory.release_stock,
        orders.create_order,
        orders.complete_order,
        orders.fail_order,
    ]
