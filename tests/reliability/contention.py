"""Carts on the same two items with ample stock, through the HTTP API of a whole stack: half
list A then B, half B then A. Prints how long they took against carts all in one order, and
how many deadlocks Postgres detected.

    .venv/bin/python -m tests.reliability.contention [--orders 200] [--concurrency 16]

The worker, API, Temporal and Postgres are separate processes, as under `statewright up`: the
probe that found the deadlocks drove such a stack, and an in-process worker did not
reproduce them.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from core.db import create_engine
from tests.reliability.stack import ProcessStack

AMPLE = 100_000


@dataclass
class Outcome:
    mixed: bool
    seconds: float
    statuses: Counter[str]
    deadlocks: int

    def line(self) -> str:
        order = "opposite orders" if self.mixed else "one order     "
        return (
            f"{order}: {sum(self.statuses.values())} carts in {self.seconds:.1f} s, "
            f"{dict(self.statuses)}, {self.deadlocks} deadlocks"
        )


async def deadlocks(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_stat_force_next_flush()"))
        async with engine.connect() as conn:
            await conn.execute(text("SET stats_fetch_consistency = none"))
            count = await conn.scalar(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            )
    finally:
        await engine.dispose()
    return int(count or 0)


async def run_carts(
    stack: ProcessStack, *, orders: int, concurrency: int, mixed: bool, prefix: str
) -> Outcome:
    """Stock two fresh items, send the carts, wait for every run to close."""
    a, b = f"{prefix}-a", f"{prefix}-b"
    before = await deadlocks(stack.database_url)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        for item in (a, b):
            response = await http.post("/store-items", json={"item_id": item, "quantity": AMPLE})
            response.raise_for_status()
        gate = asyncio.Semaphore(concurrency)

        async def send(n: int) -> str:
            lines = [{"item_id": a, "quantity": 1}, {"item_id": b, "quantity": 1}]
            if mixed and n % 2:
                lines.reverse()
            async with gate:
                response = await http.post("/orders", json={"order": lines})
            response.raise_for_status()
            workflow_id: str = response.json()["workflow_id"]
            return workflow_id

        began = time.monotonic()
        pending = list(await asyncio.gather(*(send(n) for n in range(orders))))
        statuses: Counter[str] = Counter()
        while pending:
            still = []
            for workflow_id in pending:
                status = (await http.get(f"/runs/{workflow_id}")).json()["status"]
                if status == "RUNNING":
                    still.append(workflow_id)
                else:
                    statuses[status] += 1
            pending = still
            if pending:
                await asyncio.sleep(0.25)
        seconds = time.monotonic() - began
    return Outcome(mixed, seconds, statuses, await deadlocks(stack.database_url) - before)


async def compare(workdir: Path, orders: int, concurrency: int) -> list[Outcome]:
    """Same-order carts, then opposite-order carts, on one stack."""
    stack = ProcessStack(workdir)
    await asyncio.to_thread(stack.start)
    try:
        return [
            await run_carts(
                stack, orders=orders, concurrency=concurrency, mixed=mixed, prefix=f"c{mixed:d}"
            )
            for mixed in (False, True)
        ]
    finally:
        await asyncio.to_thread(stack.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contention-") as tmp:
        outcomes = asyncio.run(compare(Path(tmp), args.orders, args.concurrency))
    for outcome in outcomes:
        print(outcome.line())


if __name__ == "__main__":
    main()
