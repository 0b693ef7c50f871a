"""How `statewright bench` loads each flow through the API. A flow names its scenario in the
manifest (`statewright.flows`); the bench offers exactly the flows that have one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BenchRun:
    """What one bench run's requests are made of."""

    tag: str
    """Unique to the run, so its ids never meet an earlier run's."""
    items: list[str]
    """Store items stocked for the run (orders)."""


@dataclass(frozen=True)
class BenchScenario:
    """One flow under load."""

    path: str
    """Where its runs are started."""
    body: Callable[[BenchRun, int], Any]
    """The JSON body of the `index`-th request."""
    baseline: Callable[[int], list[int]]
    """The no-op baseline's shape for `lines` lines: activities per stage, as the flow's."""
    per_line: bool = False
    """The flow orders store items: stock them first, give CPU per line, and check the stock
    invariants after."""


ORDERS = BenchScenario(
    "/orders",
    lambda run, index: {"order": [{"item_id": item, "quantity": 1} for item in run.items]},
    lambda lines: [lines, lines + 1],
    per_line=True,
)
PAYMENTS = BenchScenario(
    "/payments",
    lambda run, index: {"order": {"order_id": f"bench-{run.tag}-{index}", "amount": "9.99"}},
    lambda lines: [1, 1, 1],
)
WEBHOOKS = BenchScenario(
    "/webhooks", lambda run, index: {"bench": run.tag, "n": index}, lambda lines: [1]
)
CASES = BenchScenario(
    "/cases", lambda run, index: {"case_id": f"bench-{run.tag}-{index}"}, lambda lines: [1, 1, 1, 1]
)
