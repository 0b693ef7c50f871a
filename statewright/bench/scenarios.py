"""How `statewright bench` loads each flow through the API. A flow names its scenario in the
manifest (`statewright.flows`); the bench offers exactly the flows that have one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workflows import seeds


@dataclass(frozen=True)
class BenchRun:
    """What one bench run's requests are made of."""

    tag: str
    """Unique to the run, so its ids never meet an earlier run's."""
    items: list[str]
    """Store items stocked for the run (orders)."""
    region: str = "us-east-1"
    account: str = "123456789012"
    """Where the AWS API's ARNs point (`sfn`)."""


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
    target: str | None = None
    """The AWS API operation (`X-Amz-Target`) the requests call; None for the JSON API."""
    run_id: Callable[[Any], str] = lambda answer: str(answer["workflow_id"])
    """The workflow id of the run a request started, from its JSON answer."""
    setup: Callable[[BenchRun], list[tuple[str, Any]]] | None = None
    """AWS API calls (operation, body) to make before the phase."""
    versus: str | None = None
    """Measured against this other flow's scenario through the API, in the same run, instead
    of the no-op baseline."""
    states: Callable[[int], int] | None = None
    """States one run enters, for `lines` lines: the interpreter's CPU per state."""
    waits: bool = False
    """The route can answer with the run's result (`?wait=true`): `statewright bench --wait`
    times that answer."""


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
    "/webhooks", lambda run, index: {"bench": run.tag, "n": index}, lambda lines: [1], waits=True
)
CASES = BenchScenario(
    "/cases", lambda run, index: {"case_id": f"bench-{run.tag}-{index}"}, lambda lines: [1, 1, 1, 1]
)


SHOPPING_ORDER = seeds.SHOPPING_ORDER.definition()
"""Seed 000's state machine, unmodified: Map(isItemInStock), then Parallel{Map(updateItemStock),
createOrder}; its handlers are `activities.shopping_order_tasks`."""


def _machine_name(run: BenchRun) -> str:
    return f"bench-shopping-order-{run.tag}"


def _machine_arn(run: BenchRun) -> str:
    return f"arn:aws:states:{run.region}:{run.account}:stateMachine:{_machine_name(run)}"


SFN = BenchScenario(
    "/",
    lambda run, index: {
        "stateMachineArn": _machine_arn(run),
        "name": f"order-{index}",
        "input": json.dumps({"order": [{"itemId": item, "quantity": 1} for item in run.items]}),
    },
    lambda lines: [lines, lines + 1],
    per_line=True,
    target="AWSStepFunctions.StartExecution",
    # arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME -> execution-MACHINE:NAME
    run_id=lambda answer: "execution-" + ":".join(answer["executionArn"].split(":")[-2:]),
    setup=lambda run: [
        (
            "AWSStepFunctions.CreateStateMachine",
            {
                "name": _machine_name(run),
                "definition": json.dumps(SHOPPING_ORDER),
                "roleArn": f"arn:aws:iam::{run.account}:role/statewright-bench",
            },
        )
    ],
    versus="orders",
    # Map, a check per line, Parallel, Map, a decrement per line, createOrder.
    states=lambda lines: 4 + 2 * lines,
)
