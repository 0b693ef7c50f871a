"""Chaos: real load on a real stack while its parts fail, then proof that nothing was lost.

    .venv/bin/python -m tests.reliability.chaos            # the full run (README figures)
    .venv/bin/python -m tests.reliability.chaos --reduced  # what CI runs

Load: orders on contended stock, and orders on two items with ample stock that list them in
opposite orders; payments (some invalid, some declined, some charged twice, all through a
provider that fails transiently), webhooks (some sent twice with one key) and support cases.
Some orders, payments and webhooks are cancelled right after they are accepted. Meanwhile:
SIGKILL the worker at random moments and restart it, restart the Temporal server, restart
Postgres, and stop Postgres for longer than the old retry window (2 minutes; 1 in the reduced
run) while requests keep coming. Every request carries an Idempotency-Key and is retried on
503 or a dropped connection, as a careful client would. Afterwards every check below must
hold; the exit code says whether they did.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SessionFactory, create_engine, create_session_factory
from core.models import (
    CaseEventRow,
    OrderRecordRow,
    OrderRow,
    PaymentRow,
    StockLedgerRow,
    SupportCaseRow,
    WebhookEventRow,
)
from statewright.bench.invariants import assert_stock_invariants
from tests.reliability.stack import ProcessStack

RETRYABLE = {502, 503, 504}
AMOUNTS = ("19.99", "5.00", "250.00", "0", "1000.01", "42.00")
STOCK_CHECK = "stock >= 0; initial - completed = current = ledger; orders all or nothing"
AMPLE_STOCK = 100_000
AMPLE_ITEMS = ("chaos-ample-a", "chaos-ample-b")


@dataclass
class ChaosConfig:
    orders: int = 300
    payments: int = 60
    webhooks: int = 60
    cases: int = 40
    items: int = 5
    stock_per_item: int = 40
    worker_kills: int = 5
    restart_temporal: bool = True
    restart_postgres: bool = True
    postgres_outage_s: float = 120
    ample_orders: int = 60
    cancel_every: int = 6
    concurrency: int = 12
    seed: int = 7
    settle_timeout_s: float = 900

    @classmethod
    def reduced(cls) -> ChaosConfig:
        return cls(
            orders=60,
            payments=16,
            webhooks=16,
            cases=10,
            items=3,
            stock_per_item=12,
            worker_kills=2,
            restart_temporal=False,
            restart_postgres=True,
            postgres_outage_s=60,
            ample_orders=20,
        )


@dataclass
class Report:
    config: ChaosConfig
    counts: Counter[str] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    seconds: float = 0.0
    began: float = field(default_factory=time.monotonic)
    load_done_at: float = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(passed for _, passed, _ in self.checks)

    def check(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append((name, passed, detail))

    def table(self) -> str:
        lines = [
            f"chaos run: {self.seconds:.0f} s; all requests sent by {self.load_done_at:.1f}s",
            f"  faults: {', '.join(self.faults) or 'none'}",
        ]
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))
        width = max(len(name) for name, _, _ in self.checks)
        lines.append(f"  {'check':<{width}}  result  detail")
        for name, passed, detail in self.checks:
            lines.append(f"  {name:<{width}}  {'PASS' if passed else 'FAIL':<6}  {detail}")
        lines.append(f"  overall: {'PASS' if self.ok else 'FAIL'}")
        return "\n".join(lines)


class Client:
    """An HTTP client that keeps retrying a request with the same Idempotency-Key."""

    def __init__(self, http: httpx.AsyncClient, report: Report) -> None:
        self.http = http
        self.report = report

    async def post(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        for attempt in range(240):
            try:
                response = await self.http.post(path, json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                return response
            self.report.counts["client retries"] += 1
            await asyncio.sleep(min(0.25 * (attempt + 1), 2))
        raise RuntimeError(f"POST {path} never succeeded")

    async def get_json(self, path: str) -> Any:
        for _ in range(240):
            try:
                response = await self.http.get(path)
                if response.status_code not in RETRYABLE:
                    return response.json()
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
        raise RuntimeError(f"GET {path} never succeeded")


@dataclass
class Started:
    orders: list[str] = field(default_factory=list)
    ample_orders: list[str] = field(default_factory=list)  # opposite-order carts, ample stock
    payments: list[tuple[str, str, str]] = field(default_factory=list)  # (wf, order, amount)
    webhooks: list[str] = field(default_factory=list)
    cases: list[tuple[str, str]] = field(default_factory=list)  # (workflow id, case id)
    cancelled: set[str] = field(default_factory=set)  # runs asked to cancel right away


async def drive_load(client: Client, config: ChaosConfig, rng: random.Random) -> Started:
    items = [f"chaos-{i}" for i in range(config.items)]
    stock = {item: config.stock_per_item for item in items}
    stock.update(dict.fromkeys(AMPLE_ITEMS, AMPLE_STOCK))
    for item, quantity in stock.items():
        response = await client.post("/store-items", {"item_id": item, "quantity": quantity})
        assert response.status_code == 201, response.text
    started = Started()
    jobs: list[tuple[str, Any]] = [("order", i) for i in range(config.orders)]
    jobs += [("ample", i) for i in range(config.ample_orders)]
    jobs += [("payment", i) for i in range(config.payments)]
    jobs += [("webhook", i) for i in range(config.webhooks)]
    jobs += [("case", i) for i in range(config.cases)]
    rng.shuffle(jobs)
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def one(kind: str, i: int) -> None:
        if kind == "order":
            cart = rng.sample(items, k=rng.randint(1, 2))
            body: dict[str, Any] = {
                "order": [{"item_id": it, "quantity": rng.randint(1, 2)} for it in cart]
            }
            response = await client.post("/orders", body, key=f"chaos-order-{i}")
            assert response.status_code == 202, response.text
            started.orders.append(await maybe_cancel(response, i))
        elif kind == "ample":
            # The same two items in opposite orders, with stock for all: none may fail.
            cart = list(AMPLE_ITEMS) if i % 2 else list(reversed(AMPLE_ITEMS))
            body = {"order": [{"item_id": it, "quantity": rng.randint(1, 3)} for it in cart]}
            response = await client.post("/orders", body, key=f"chaos-ample-{i}")
            assert response.status_code == 202, response.text
            started.ample_orders.append(response.json()["workflow_id"])
        elif kind == "payment":
            # Some invalid (0), some declined (over 1000), and one in five orders charged
            # twice, at the same amount: two runs, one payment.
            n = i - 1 if i % 5 == 1 else i
            amount = AMOUNTS[n % len(AMOUNTS)]
            order_id = f"chaos-pay-{n}"
            body = {"order": {"order_id": order_id, "amount": amount}}
            response = await client.post("/payments", body, key=f"chaos-payment-{i}")
            assert response.status_code == 202, response.text
            started.payments.append((await maybe_cancel(response, i), order_id, amount))
        elif kind == "webhook":
            key = f"chaos-hook-{i - i % 4 if i % 4 == 1 else i}"  # some sent twice
            body = {"event": "chaos", "n": i - i % 4 if i % 4 == 1 else i}
            response = await client.post("/webhooks", body, key=key)
            assert response.status_code == 202, response.text
            started.webhooks.append(await maybe_cancel(response, i))
        else:
            case_id = f"chaos-case-{i}"
            body = {"case_id": case_id, "on_unresolved": rng.choice(["fail", "retry"])}
            response = await client.post("/cases", body, key=f"chaos-case-{i}")
            assert response.status_code == 202, response.text
            started.cases.append((response.json()["workflow_id"], case_id))

    async def maybe_cancel(response: httpx.Response, i: int) -> str:
        """The accepted run's id; one run in `cancel_every` is cancelled at once."""
        workflow_id: str = response.json()["workflow_id"]
        if i % config.cancel_every == 3 and workflow_id not in started.cancelled:
            started.cancelled.add(workflow_id)
            answer = await client.post(f"/runs/{workflow_id}/cancel", None)
            assert answer.status_code in (202, 409), answer.text  # 409: it had already ended
        return workflow_id

    async def worker_loop() -> None:
        while not queue.empty():
            kind, i = queue.get_nowait()
            await one(kind, i)

    await asyncio.gather(*(worker_loop() for _ in range(config.concurrency)))
    return started


async def inject_faults(
    stack: ProcessStack, config: ChaosConfig, rng: random.Random, report: Report
) -> None:
    # The restarts come early, while requests are still arriving, so clients meet them too;
    # the worker kills are spread around them and through the rest of the run.
    restarts = ["temporal"] * config.restart_temporal + ["postgres"] * config.restart_postgres
    restarts += ["outage"] * (config.postgres_outage_s > 0)
    rng.shuffle(restarts)
    kills = ["kill"] * config.worker_kills
    plan = kills[:1] + restarts + kills[1:]
    for fault in plan:
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        if fault == "kill":
            await asyncio.to_thread(stack.kill_worker)
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            await asyncio.to_thread(stack.start_worker)
            report.faults.append(f"worker SIGKILL @{report.elapsed():.1f}s")
        elif fault == "outage":
            at = report.elapsed()
            await asyncio.to_thread(stack.stop_postgres)
            await asyncio.sleep(config.postgres_outage_s)
            await asyncio.to_thread(stack.start_postgres_again)
            report.faults.append(f"Postgres down {report.elapsed() - at:.0f}s @{at:.1f}s")
        elif fault == "temporal":
            await asyncio.to_thread(stack.restart_temporal)
            report.faults.append(f"Temporal restart @{report.elapsed():.1f}s")
        else:
            await asyncio.to_thread(stack.restart_postgres)
            report.faults.append(f"Postgres restart @{report.elapsed():.1f}s")


async def settle(client: Client, started: Started, timeout_s: float) -> dict[str, Any]:
    """Every run's final description; a run still open at the deadline stays RUNNING."""
    ids = started.orders + started.ample_orders + [w for w, _, _ in started.payments]
    ids += started.webhooks
    ids += [w for w, _ in started.cases]
    runs: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    pending = list(dict.fromkeys(ids))
    while pending and time.monotonic() < deadline:
        still = []
        for workflow_id in pending:
            run = await client.get_json(f"/runs/{workflow_id}")
            runs[workflow_id] = run
            if run["status"] == "RUNNING":
                still.append(workflow_id)
        pending = still
        if pending:
            await asyncio.sleep(2)
    return runs


async def verify(
    stack: ProcessStack, started: Started, runs: dict[str, Any], report: Report
) -> None:
    open_runs = [w for w, run in runs.items() if run["status"] == "RUNNING"]
    report.check(
        "every run closed, none stuck", not open_runs, f"{len(runs)} runs; open {open_runs[:3]}"
    )
    report.counts.update(f"{run['workflow_type']} {run['status']}" for run in runs.values())

    engine = create_engine(stack.database_url)
    sessions = create_session_factory(engine)
    try:
        items = [f"chaos-{i}" for i in range(report.config.items)] + list(AMPLE_ITEMS)
        try:
            await assert_stock_invariants(sessions, items)
            report.check(STOCK_CHECK, True, f"{len(items)} items")
        except AssertionError as err:
            report.check(STOCK_CHECK, False, str(err)[:300])

        async with sessions() as session:
            payments = await per_key(session, PaymentRow.order_id)
            records = await per_key(session, OrderRecordRow.order_id)
            hooks = await per_key(session, WebhookEventRow.workflow_id)
            cases = {c.case_id: c for c in await session.scalars(select(SupportCaseRow))}
            events = await session.execute(
                select(CaseEventRow.case_id, CaseEventRow.status).order_by(CaseEventRow.id)
            )
            history: dict[str, list[str]] = {}
            for case_id, status in events:
                history.setdefault(case_id, []).append(status)

        charged = {order for w, order, _ in started.payments if runs[w]["status"] == "COMPLETED"}
        wrong = [o for o in charged if payments[o] != 1 or records[o] != 1]
        stray = [o for _, o, _ in started.payments if o not in charged and payments[o]]
        report.check(
            "each charged order has exactly one payment",
            not wrong and not stray,
            f"{len(charged)} charged orders; wrong counts {wrong[:3]}; stray {stray[:3]}",
        )

        accepted = set(started.webhooks)
        expected_rows = {w: 0 if runs[w]["status"] == "CANCELED" else 1 for w in accepted}
        wrong = [w for w in accepted if hooks[w] != expected_rows[w]]
        dropped = sum(1 for rows in expected_rows.values() if rows == 0)
        report.check(
            "each accepted webhook stored once (none if its run was CANCELED)",
            not wrong,
            f"{len(accepted)} accepted from {len(started.webhooks)} sends, {dropped} cancelled;"
            f" wrong {wrong[:3]}",
        )

        ample = [runs[w]["status"] for w in started.ample_orders]
        report.check(
            "opposite-order carts with ample stock all complete",
            set(ample) <= {"COMPLETED"},
            f"{len(ample)} carts: {dict(Counter(ample))}",
        )

        orders = await order_outcomes(sessions, started.orders + started.ample_orders)
        untrue = [
            w
            for w in started.orders + started.ample_orders
            if not run_matches_order(runs[w]["status"], *orders.get(w, (None, False)))
        ]
        cancelled = [w for w in started.orders if w in started.cancelled]
        outcome = Counter(runs[w]["status"] for w in cancelled)
        report.check(
            "each order is what its run says; a CANCELED order took no stock",
            not untrue,
            f"cancelled right after start: {len(cancelled)} {dict(outcome)}; untrue {untrue[:3]}",
        )

        mismatched = []
        for workflow_id, case_id in started.cases:
            run, case, seen = runs[workflow_id], cases.get(case_id), history.get(case_id, [])
            expected = {"COMPLETED": "CLOSED", "FAILED": "ESCALATED"}.get(run["status"])
            consistent = (
                case is not None
                and case.status == expected
                and case.run_id == run["run_id"]
                and seen[:2] == ["OPEN", "ASSIGNED"]
                and seen[-1:] == [expected]
            )
            if not consistent:
                mismatched.append(case_id)
        report.check(
            "each case's history matches its run",
            not mismatched,
            f"{len(started.cases)} cases; mismatched {mismatched[:3]}",
        )
    finally:
        await engine.dispose()


async def order_outcomes(
    sessions: SessionFactory, workflow_ids: list[str]
) -> dict[str, tuple[str | None, bool]]:
    """For each order run: its order's status, and whether the order holds stock."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                OrderRow.workflow_id,
                OrderRow.status,
                exists().where(
                    StockLedgerRow.order_id == OrderRow.order_id,
                    StockLedgerRow.state == "reserved",
                ),
            ).where(OrderRow.workflow_id.in_(workflow_ids))
        )
        return {workflow_id: (status, holds) for workflow_id, status, holds in rows}


def run_matches_order(run_status: str, order_status: str | None, holds_stock: bool) -> bool:
    """A COMPLETED run completed its order, which holds its stock; any other ending left no
    completed order and took no stock (the order may be FAILED, or never written)."""
    if run_status == "COMPLETED":
        return order_status == "COMPLETED" and holds_stock
    return order_status != "COMPLETED" and not holds_stock


async def per_key(session: AsyncSession, column: Any) -> Counter[str]:
    """How many rows there are for each value of `column`."""
    rows = await session.execute(select(column, func.count()).group_by(column))
    return Counter({key: count for key, count in rows.all()})


async def run_chaos(config: ChaosConfig, workdir: Path) -> Report:
    """Start a stack in `workdir`, load it while faults strike, settle, verify."""
    report = Report(config)
    rng = random.Random(config.seed)
    stack = ProcessStack(workdir, worker_env={"STATEWRIGHT_PAYMENT_TRANSIENT_FAILURES": "1"})
    await asyncio.to_thread(stack.start)
    report.began = time.monotonic()  # fault and load times count from a running stack
    try:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http:
            client = Client(http, report)
            load = asyncio.create_task(drive_load(client, config, rng))
            await inject_faults(stack, config, rng, report)
            started = await load
            report.load_done_at = report.elapsed()
            runs = await settle(client, started, config.settle_timeout_s)
        report.counts["worker starts"] = stack.worker_starts
        await verify(stack, started, runs, report)
    finally:
        await asyncio.to_thread(stack.stop)
        report.seconds = report.elapsed()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reduced", action="store_true", help="the smaller run CI makes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = ChaosConfig.reduced() if args.reduced else ChaosConfig()
    config.seed = args.seed
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        report = asyncio.run(run_chaos(config, Path(tmp)))
    print(report.table())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
