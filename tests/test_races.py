"""Property: whatever the interleaving of concurrent orders, cancellations and restocks over
a few items, the stock invariants hold once every run has closed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import SessionFactory
from statewright.bench.invariants import assert_stock_invariants
from tests.helpers import stock_items, wait_for_run

ITEMS = ("a", "b", "c")

line = st.tuples(st.sampled_from(ITEMS), st.integers(min_value=1, max_value=3))
cart = st.lists(line, min_size=1, max_size=3, unique_by=lambda entry: entry[0])
action = st.one_of(
    st.tuples(st.just("order"), cart),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("restock"), st.tuples(st.sampled_from(ITEMS), st.integers(0, 6))),
)
plans = st.tuples(
    st.dictionaries(st.sampled_from(ITEMS), st.integers(0, 6), min_size=3, max_size=3),
    st.lists(st.tuples(action, st.integers(min_value=0, max_value=40)), min_size=1, max_size=14),
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans)
async def test_random_interleavings_keep_the_stock_invariants(
    plan: tuple[dict[str, int], list[tuple[Any, int]]],
    http: httpx.AsyncClient,
    worker: object,
    sessions: SessionFactory,
) -> None:
    initial, steps = plan
    prefix = uuid.uuid4().hex[:8]  # each example gets its own items
    item = {name: f"race-{prefix}-{name}" for name in ITEMS}
    await stock_items(sessions, **{item[name]: qty for name, qty in initial.items()})
    started: list[str] = []

    async def perform(step: Any, delay_ms: int) -> None:
        await asyncio.sleep(delay_ms / 1000)
        kind, arg = step
        if kind == "order":
            body = {"order": [{"item_id": item[name], "quantity": qty} for name, qty in arg]}
            response = await http.post("/orders", json=body)
            assert response.status_code == 202, response.text
            started.append(response.json()["workflow_id"])
        elif kind == "cancel" and started:
            target = started[arg % len(started)]
            response = await http.post(f"/runs/{target}/cancel")
            assert response.status_code in (202, 409), response.text
        elif kind == "restock":
            name, qty = arg
            response = await http.post(
                "/store-items", json={"item_id": item[name], "quantity": qty}
            )
            assert response.status_code == 201

    await asyncio.gather(*(perform(step, delay) for step, delay in steps))
    runs = await asyncio.gather(*(wait_for_run(http, workflow_id) for workflow_id in started))

    assert all(run["status"] in ("COMPLETED", "FAILED", "CANCELED") for run in runs)
    await assert_stock_invariants(sessions, list(item.values()))
