"""How long the execution page takes to render: a 100-state definition and a whole history of
one execution, built in memory, rendered N times (history to per-state progress, layout, SVG
and HTML). No server: the rendering is pure.

    python -m statewright.bench.page_render [--renders 200]

Prints the median and p95, cold (the layout computed every time, as for a page opened for
the first time) and warm (the layout cached, as when the page is opened again).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from api.graph.page import ExecutionView, execution_page, forget_layouts
from api.graph.progress import history_progress
from workflows.asl.events import EventLog, Thread, payload

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"
BRANCH_STATES = 4
MAP_STATES = 4
ITERATIONS = 10


def _task(next_state: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": LAMBDA}
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def _chain(prefix: str, count: int) -> dict[str, Any]:
    names = [f"{prefix} {i}" for i in range(count)]
    return {
        "StartAt": names[0],
        "States": {
            name: _task(names[i + 1] if i + 1 < count else None) for i, name in enumerate(names)
        },
    }


def definition(states: int = 100) -> dict[str, Any]:
    """`states` states: a line of Tasks with a Choice every tenth, a Parallel of two branches
    and a Map, then a Succeed."""
    nested = 1 + 2 * BRANCH_STATES + 1 + MAP_STATES
    top = states - nested
    names = [f"Step {i:03d}" for i in range(top)]
    body: dict[str, Any] = {}
    half = top // 2
    for i, name in enumerate(names[:-1]):
        after = names[i + 1]
        if i == half:
            after = "Fan out"
        if i % 10 == 9 and i + 3 < top - 1 and i != half:
            body[name] = {
                "Type": "Choice",
                "Choices": [{"Variable": "$.skip", "BooleanEquals": True, "Next": names[i + 3]}],
                "Default": after,
            }
        else:
            body[name] = _task(after)
    body["Fan out"] = {
        "Type": "Parallel",
        "Branches": [_chain("Left", BRANCH_STATES), _chain("Right", BRANCH_STATES)],
        "Next": "Each item",
    }
    body["Each item"] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": _chain("Item step", MAP_STATES),
        "ResultPath": "$.results",
        "Next": names[half + 1],
    }
    body[names[-1]] = {"Type": "Succeed"}
    return {"Comment": "page_render bench", "StartAt": names[0], "States": body}


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=7)
        return self.now


def history(machine: dict[str, Any]) -> list[dict[str, Any]]:
    """A succeeded execution's events, in AWS's shapes, as the interpreter writes them."""
    log = EventLog()
    clock = _Clock()
    value = {
        "skip": False,
        "items": [{"sku": f"sku-{i}", "quantity": i + 1} for i in range(ITERATIONS)],
        "customer": {"id": "c-42", "name": "A. Customer", "tier": "gold"},
    }
    thread = Thread()
    log.add(thread, "ExecutionStarted", clock(), {**payload("input", value), "roleArn": "r"})

    def run(block: dict[str, Any], data: Any, own: Thread) -> None:
        name: str | None = block["StartAt"]
        while name is not None:
            state = block["States"][name]
            kind = state["Type"]
            log.add(own, f"{kind}StateEntered", clock(), {"name": name, **payload("input", data)})
            if kind == "Task":
                where = {"resourceType": "lambda", "resource": "invoke"}
                log.add(own, "TaskScheduled", clock(), {**where, "region": "us-east-1"})
                log.add(own, "TaskStarted", clock(), where)
                log.add(own, "TaskSucceeded", clock(), {**where, **payload("output", data)})
            elif kind == "Parallel":
                log.add(own, "ParallelStateStarted", clock())
                started = own.last
                for branch in state["Branches"]:
                    run(branch, data, Thread(last=started))
                log.add(own, "ParallelStateSucceeded", clock())
            elif kind == "Map":
                log.add(own, "MapStateStarted", clock(), {"length": ITERATIONS})
                started = own.last
                for index, item in enumerate(data["items"]):
                    iteration = Thread(last=started)
                    details = {"name": name, "index": index}
                    log.add(iteration, "MapIterationStarted", clock(), details)
                    run(state["ItemProcessor"], item, iteration)
                    log.add(iteration, "MapIterationSucceeded", clock(), details)
                log.add(own, "MapStateSucceeded", clock())
            log.add(own, f"{kind}StateExited", clock(), {"name": name, **payload("output", data)})
            name = state.get("Next") or state.get("Default")

    run(machine, value, thread)
    log.add(thread, "ExecutionSucceeded", clock(), payload("output", value))
    return log.rendered()


def render(machine: dict[str, Any], events: list[dict[str, Any]]) -> str:
    """The execution page, from the definition and the history, as the route renders it."""
    progress = history_progress(machine, events, "SUCCEEDED")
    view = ExecutionView(
        workflow_id="execution-bench:page-render",
        title="page-render",
        subtitle="An execution of the state machine bench",
        progress=progress,
        definition=machine,
        progress_url="/executions/execution-bench:page-render/progress",
        redrive_url="/runs/execution-bench:page-render/redrive",
        machine="bench",
    )
    return execution_page(view)


def timings(renders: int, once: Callable[[], object]) -> list[float]:
    found = []
    for _ in range(renders):
        began = time.perf_counter()
        once()
        found.append((time.perf_counter() - began) * 1000)
    return found


def _summary(label: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{label}: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=200, help="renders to time (default 200)")
    parser.add_argument("--states", type=int, default=100, help="states (default 100)")
    args = parser.parse_args(argv)
    machine = definition(args.states)
    events = history(machine)
    page = render(machine, events)

    def cold() -> object:
        forget_layouts()
        return render(machine, events)

    print(
        f"{args.states} states, {len(events)} history events, page {len(page) / 1024:.0f} KiB, "
        f"{args.renders} renders"
    )
    print(_summary("cold (layout every time)", timings(args.renders, cold)))
    print(_summary("warm (layout cached)", timings(args.renders, lambda: render(machine, events))))


if __name__ == "__main__":
    main()
