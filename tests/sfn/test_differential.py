"""Differential tests: each seed's own state machine, run by the interpreter with the seed's
task handlers (`STATEWRIGHT_ENGINE=asl`), against the hand-written workflow that does its job
(`STATEWRIGHT_ENGINE=workflows`). Both get the same inputs, through the same HTTP routes of
two apps that differ only in the engine, and must reach the same outcomes: the run's status
and error, the rows written, and the stock left.

The errors are compared by meaning, since each engine names them its own way (the hand-written
run fails with an error type and message; the seed's execution with an error and a cause):

- 000, a line short of stock: `NotInStock`, "not in stock: ITEM (requested Q, available A)",
  is `ItemNotInStock`, whose cause is Lambda's error document with the errorMessage
  "Item ITEM not in stock". Both name the same item when one line is short; with several, the
  hand-written names the first in cart order, the seed's Map whichever check fails first.
- 002: `InvalidOrder`, `PaymentDeclined` and `PaymentConflict` are the same names both ways;
  the seed's cause is the error document, whose errorMessage is the hand-written message.
- 004, a case left unresolved: `CaseEscalated`, "Engage Tier 2 Support.", is the seed's Fail
  state, which has no error name, with the cause "Engage Tier 2 Support.".

One difference is deliberate and asserted exactly, not skipped: seed 000 has no compensation.
Run one after another, its carts and the hand-written ones end the same; run at once, an
execution that passes the check and then loses a decrement race keeps the stock its other
lines took (and may have written its order, COMPLETED, beside the decrement), where the
hand-written workflow gives everything back and fails the order. Stock never goes negative
either way.

The carts are drawn from a seeded `random.Random`; the seed is printed, and
`STATEWRIGHT_DIFFERENTIAL_SEED` replays one. Run with `-s` to see the counts compared.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from api.app import create_app
from api.seed_starts import ensure_seed_machine
from api.sfn import state_machines
from api.sfn.arns import Arns
from api.sfn.context import Sfn
from core.db import SessionFactory
from core.publisher import LocalPagePublisher
from core.settings import Settings
from statewright.bench.invariants import assert_stock_invariants
from statewright.flows import FLOWS
from tests.conftest import ENGINES, serve
from tests.helpers import ScriptedRandom, stock_items, worker_with
from workflows.seed_ids import order_id_of
from workflows.seeds import PROCESS_ORDER

SEED = int(os.environ.get("STATEWRIGHT_DIFFERENTIAL_SEED") or random.randrange(2**32))
CARTS = 200
RESULT_TIMEOUT_S = 60.0
HAND, SEED_MACHINE = ENGINES
SUCCEEDED = {"COMPLETED": "SUCCEEDED", "SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED"}


@dataclass
class Api:
    """One app, with one engine, on the test's task queue and database."""

    engine: str
    http: httpx.AsyncClient
    settings: Settings

    def execution_arn(self, machine: str, name: str) -> str:
        region, account = self.settings.aws_region, self.settings.aws_account
        return f"arn:aws:states:{region}:{account}:execution:{machine}:{name}"


@pytest.fixture
async def apis(
    settings: Settings, database_url: str, client: Client
) -> AsyncIterator[dict[str, Api]]:
    """The app twice: once per engine. Reports are due at once (seed 001 waits 10 s)."""
    async with AsyncExitStack() as stack:
        found = {}
        for engine in ENGINES:
            configured = settings.model_copy(
                update={
                    "engine": engine,
                    "report_min_delay_seconds": 0.0,
                    "report_wait_seconds": 10.0,
                }
            )
            app = create_app(FLOWS, configured, database_url, client)
            base = await stack.enter_async_context(serve(app, configured))
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=30))
            found[engine] = Api(engine, http, configured)
        yield found


@dataclass
class Outcome:
    """How a run ended, in Step Functions' terms for both engines."""

    status: str
    error: str | None = None
    cause: str | None = None
    output: Any = None


async def settle(client: Client, workflow_id: str) -> Outcome:
    handle = client.get_workflow_handle(workflow_id)
    try:
        output = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
    except WorkflowFailureError as err:
        failure = err.cause
        assert isinstance(failure, ApplicationError), repr(failure)
        if workflow_id.startswith("execution-"):
            error, cause = failure.details  # the interpreter's (error, cause)
            return Outcome("FAILED", error or None, cause)
        return Outcome("FAILED", failure.type, failure.message)
    return Outcome("SUCCEEDED", output=output)


def lambda_message(cause: str | None) -> str:
    """A task handler's error message, from Lambda's error document."""
    document = json.loads(cause or "{}")
    message: str = document["errorMessage"]
    return message


def report(seed: str, compared: Counter[str], differences: Sequence[str]) -> None:
    counts = ", ".join(f"{n} {what}" for what, n in compared.items())
    print(f"\nseed {seed}: {counts}; {len(differences)} differences (random seed {SEED})")
    for difference in differences:
        print(f"  difference: {difference}")


# Seed 000 ----------------------------------------------------------------------------------

HAND_SHORT = re.compile(r"not in stock: (.+) \((?:requested \d+, available \d+|unknown item)\)")
SEED_SHORT = re.compile(r"Item (.+) not in stock")


@dataclass
class Placed:
    """One cart placed through one engine: its run's end and what it wrote."""

    order_id: str
    workflow_id: str
    outcome: Outcome
    order: dict[str, Any]
    """`GET /orders/{order_id}`: the order row, or what its run says when it wrote none."""


async def place(api: Api, client: Client, cart: list[tuple[str, int]]) -> Placed:
    body = {"order": [{"item_id": item, "quantity": qty} for item, qty in cart]}
    started = await api.http.post("/orders", json=body)
    assert started.status_code == 202, started.text
    ref = started.json()
    outcome = await settle(client, ref["workflow_id"])
    order = (await api.http.get(f"/orders/{ref['order_id']}")).json()
    return Placed(ref["order_id"], ref["workflow_id"], outcome, order)


def short_item(engine: str, placed: Placed) -> str | None:
    """The item a failed order names as out of stock (see the module's mapping)."""
    outcome = placed.outcome
    if engine == HAND:
        assert outcome.error == "NotInStock", outcome
        found = HAND_SHORT.fullmatch(outcome.cause or "")
    else:
        assert outcome.error == "ItemNotInStock", outcome
        found = SEED_SHORT.fullmatch(lambda_message(outcome.cause))
    return found.group(1) if found else None


async def stock_levels(sessions: SessionFactory, items: Sequence[str]) -> list[int]:
    async with sessions() as session:
        found = await session.execute(
            text("SELECT item_id, stock FROM store_items WHERE item_id = ANY(:i)"),
            {"i": list(items)},
        )
        rows: dict[str, int] = {item_id: stock for item_id, stock in found}
    return [rows[item] for item in items]


async def test_seed_000_carts_one_after_another_end_the_same(
    apis: dict[str, Api], worker: Worker, client: Client, sessions: SessionFactory, item_prefix: str
) -> None:
    """200 random carts, each placed through both engines, each engine on its own copy of the
    store: same status, same error, same order written, same stock left, after every cart,
    and all as a model of the store predicts. Stock is scarce, and restocked every 10 carts,
    so carts both pass and fail throughout (about half fail)."""
    rng = random.Random(SEED)
    n_items = 6
    names = {e: [f"{item_prefix}-{e[0]}{i}" for i in range(n_items)] for e in ENGINES}
    model: list[int] = []
    compared: Counter[str] = Counter()
    differences: list[str] = []
    for k in range(CARTS):
        if k % 10 == 0:
            model = [rng.randint(0, 12) for _ in range(n_items)]
            for engine in ENGINES:
                await stock_items(sessions, **dict(zip(names[engine], model, strict=True)))
        lines = rng.sample(range(n_items), rng.randint(1, 3))
        cart = [(i, rng.randint(1, 3)) for i in lines]
        short = [i for i, qty in cart if qty > model[i]]
        hand, seed = await asyncio.gather(
            *(
                place(apis[e], client, [(names[e][i], qty) for i, qty in cart])
                for e in (HAND, SEED_MACHINE)
            )
        )
        compared["carts each way"] += 1

        def differ(what: str, hand_says: Any, seed_says: Any, k: int = k, cart: Any = cart) -> None:
            differences.append(
                f"cart {k} {cart}: {what}: hand-written {hand_says!r}, seed {seed_says!r}"
            )

        statuses = (hand.outcome.status, seed.outcome.status)
        expected = "FAILED" if short else "SUCCEEDED"
        if statuses != (expected, expected):
            differ(f"status (the model says {expected})", *statuses)
        elif short:
            compared["failed carts"] += 1
            # The hand-written check names the first short line in cart order; the seed's Map
            # checks the lines at once and fails on whichever fails first, so with several
            # short lines it may name another of them.
            named = (short_item(HAND, hand), short_item(SEED_MACHINE, seed))
            index = {e: {name: i for i, name in enumerate(names[e])} for e in ENGINES}
            hand_i = index[HAND].get(named[0] or "")
            seed_i = index[SEED_MACHINE].get(named[1] or "")
            if hand_i != short[0] or seed_i not in short:
                differ(f"item named short (short: {short})", hand_i, seed_i)
            compared["with several lines short"] += len(short) > 1
            compared["naming the same item"] += hand_i == seed_i
        hand_order, seed_order = (
            (
                p.order["status"],
                [
                    (ln["item_id"][len(item_prefix) + 2 :], ln["quantity"])
                    for ln in p.order["lines"]
                ],
            )
            for p in (hand, seed)
        )
        if hand_order != seed_order or hand_order[0] != ("REJECTED" if short else "COMPLETED"):
            differ("order read back", hand_order, seed_order)
        if not short:
            for i, qty in cart:
                model[i] -= qty
        levels = {e: await stock_levels(sessions, names[e]) for e in ENGINES}
        if not levels[HAND] == levels[SEED_MACHINE] == model:
            differ(f"stock left (the model says {model})", levels[HAND], levels[SEED_MACHINE])
        compared["stock levels"] += n_items

    report("000", compared, differences)
    assert compared["failed carts"] > 0 and compared["failed carts"] < CARTS, "both outcomes"
    assert not differences


async def ledger(sessions: SessionFactory, order_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """order id -> item -> quantity the order still holds (ledger rows `reserved`)."""
    held: dict[str, dict[str, int]] = {order_id: {} for order_id in order_ids}
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT order_id, item_id, quantity FROM stock_ledger "
                "WHERE order_id = ANY(:o) AND state = 'reserved'"
            ),
            {"o": list(order_ids)},
        )
        for order_id, item_id, quantity in rows:
            held[order_id][item_id] = quantity
    return held


async def order_statuses(sessions: SessionFactory, order_ids: Sequence[str]) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT order_id, status FROM orders WHERE order_id = ANY(:o)"),
            {"o": list(order_ids)},
        )
        return dict(rows.all())


async def test_seed_000_contended_batch_differs_only_by_compensation(
    apis: dict[str, Api], worker: Worker, client: Client, sessions: SessionFactory, item_prefix: str
) -> None:
    """40 carts at once over 3 items of 6 each, per engine. Not comparable cart by cart (who
    wins a race is up to the scheduler), so the invariants are: stock never negative; every
    unit taken is in the ledger; the hand-written orders are all or nothing (initial minus
    completed equals current). The seed's executions are not: the difference is exactly the
    stock that failed executions kept, which the hand-written compensation gives back."""
    rng = random.Random(SEED + 1)
    initial = 6
    names = {e: [f"{item_prefix}-{e[0]}{i}" for i in range(3)] for e in ENGINES}
    carts = [
        [(i, rng.randint(1, 3)) for i in rng.sample(range(3), rng.randint(1, 3))] for _ in range(40)
    ]
    for engine in ENGINES:
        await stock_items(sessions, **dict.fromkeys(names[engine], initial))

    async def batch(engine: str) -> list[Placed]:
        api = apis[engine]
        return list(
            await asyncio.gather(
                *(place(api, client, [(names[engine][i], q) for i, q in cart]) for cart in carts)
            )
        )

    hand, seed = await asyncio.gather(batch(HAND), batch(SEED_MACHINE))
    counts: dict[str, Counter[str]] = {}
    for engine, placed in ((HAND, hand), (SEED_MACHINE, seed)):
        levels = await stock_levels(sessions, names[engine])
        assert min(levels) >= 0, f"{engine}: stock went negative: {levels}"
        if engine == HAND:
            row_ids = [p.order_id for p in placed]
        else:
            row_ids = [
                order_id_of(apis[engine].execution_arn("seed-000-shopping-order", p.order_id))
                for p in placed
            ]
        held = await ledger(sessions, row_ids)
        rows = await order_statuses(sessions, row_ids)
        completed = [0, 0, 0]
        kept = [0, 0, 0]
        count = counts[engine] = Counter()
        for p, row_id, cart in zip(placed, row_ids, carts, strict=True):
            taken = {names[engine].index(item): qty for item, qty in held[row_id].items()}
            count[p.outcome.status] += 1
            if p.outcome.status == "SUCCEEDED":
                assert taken == dict(cart), "a completed order holds its whole cart"
                assert rows.get(row_id) == "COMPLETED"
                for i, qty in cart:
                    completed[i] += qty
            else:
                for i, qty in taken.items():
                    kept[i] += qty
                count["failed, kept stock"] += bool(taken)
                count["failed, order row COMPLETED"] += rows.get(row_id) == "COMPLETED"
                count["failed, order row FAILED"] += rows.get(row_id) == "FAILED"
        # Every unit that left the shelf is in the ledger, for both engines.
        assert [initial - level for level in levels] == [
            c + k for c, k in zip(completed, kept, strict=True)
        ]
        if engine == HAND:
            # The hardening: a failed order gives back all it took, and is marked FAILED.
            assert kept == [0, 0, 0]
            assert count["failed, order row COMPLETED"] == 0
            await assert_stock_invariants(sessions, names[engine])
        else:
            # The seed: no compensation, and no order is ever marked FAILED.
            assert count["failed, order row FAILED"] == 0
        count["units kept by failed runs"] = sum(kept)
    for engine in ENGINES:
        print(f"\nseed 000 contended batch, {engine}: {dict(counts[engine])}")
    assert counts[HAND]["SUCCEEDED"] > 0 and counts[HAND]["FAILED"] > 0, "contended"


# Seed 004 ----------------------------------------------------------------------------------


async def case_state(sessions: SessionFactory, case_id: str) -> tuple[str, str, list[str]]:
    async with sessions() as session:
        status, message = (
            await session.execute(
                text("SELECT status, message FROM support_cases WHERE case_id = :c"),
                {"c": case_id},
            )
        ).one()
        events = await session.scalars(
            text("SELECT status FROM case_events WHERE case_id = :c ORDER BY id"), {"c": case_id}
        )
        return status, message, list(events)


async def test_seed_004_same_draws_same_cases(
    apis: dict[str, Api], client: Client, task_queue: str, sessions: SessionFactory
) -> None:
    """Each case is drawn once and the draw given to both engines (the worker's scripted
    random source): same run status, error and cause, case status, message and history."""
    rng = random.Random(SEED + 4)
    draws = [rng.random() for _ in range(20)]
    # One draw per engine per case, in the order the cases run: hand-written, then the seed.
    scripted = ScriptedRandom(*(value for value in draws for _ in ENGINES))
    compared: Counter[str] = Counter()
    differences: list[str] = []
    async with worker_with(client, task_queue, sessions, rng=scripted):
        for k, draw in enumerate(draws):
            ends = {}
            for engine in (HAND, SEED_MACHINE):
                case_id = f"c-{SEED % 10**6}-{k}-{engine[0]}{random.getrandbits(24):06x}"
                started = await apis[engine].http.post("/cases", json={"case_id": case_id})
                assert started.status_code == 202, started.text
                outcome = await settle(client, started.json()["workflow_id"])
                status, message, events = await case_state(sessions, case_id)
                output = outcome.output or {}
                final = output.get("Message", output.get("message")) if outcome.output else None
                ends[engine] = (
                    outcome.status,
                    # Mapping: CaseEscalated (hand-written) is the seed's Fail with no error name.
                    None if outcome.error == "CaseEscalated" else outcome.error,
                    outcome.cause,
                    status,
                    message.replace(case_id, "ID"),
                    (final or "").replace(case_id, "ID"),
                    events,
                )
            resolved = draw >= 0.5
            compared["resolved" if resolved else "escalated"] += 1
            if ends[HAND] != ends[SEED_MACHINE]:
                differences.append(f"draw {draw}: {ends[HAND]} != {ends[SEED_MACHINE]}")
            elif ends[HAND][3] != ("CLOSED" if resolved else "ESCALATED"):
                differences.append(f"draw {draw}: both {ends[HAND]}")
    report("004", compared, differences)
    assert not differences


# Seed 002 ----------------------------------------------------------------------------------


async def payment_rows(sessions: SessionFactory, order_id: str) -> tuple[Any, ...]:
    async with sessions() as session:
        charges = (
            await session.execute(
                text("SELECT amount FROM payments WHERE order_id = :o"), {"o": order_id}
            )
        ).all()
        records = (
            await session.execute(
                text("SELECT amount FROM order_records WHERE order_id = :o"), {"o": order_id}
            )
        ).all()
    return tuple(str(a) for (a,) in charges), tuple(str(a) for (a,) in records)


async def test_seed_002_same_payments(
    apis: dict[str, Api], worker: Worker, client: Client, sessions: SessionFactory, item_prefix: str
) -> None:
    """Valid, invalid, declined, a duplicate of an order and a conflicting one: the same run
    status and error, the same charge (one at most) and record, and `GET /payments` alike."""
    # (label, amount); the duplicate and the conflict pay the first order again.
    scenario = [
        ("valid", "19.99", 0),
        ("zero", "0", 1),
        ("negative", "-5.00", 2),
        ("declined", "1500.00", 3),
        ("duplicate", "19.99", 0),
        ("conflict", "20.00", 0),
    ]
    compared: Counter[str] = Counter()
    differences: list[str] = []
    for label, amount, order in scenario:
        ends = {}
        for engine in (HAND, SEED_MACHINE):
            order_id = f"{item_prefix}-{engine[0]}{order}"
            body = {"order": {"order_id": order_id, "amount": amount}}
            started = await apis[engine].http.post("/payments", json=body)
            assert started.status_code == 202, started.text
            outcome = await settle(client, started.json()["workflow_id"])
            error = outcome.error
            reason = (
                outcome.cause
                if engine == HAND or outcome.cause is None
                else lambda_message(outcome.cause)
            )
            read = (await apis[engine].http.get(f"/payments/{order_id}")).json()
            ends[engine] = (
                outcome.status,
                error,
                (reason or "").replace(order_id, "ID"),
                await payment_rows(sessions, order_id),
                read["charge"]["amount"] if read.get("charge") else None,
                read.get("recorded_at") is not None,
                len(read.get("runs", [])),
            )
        compared[label] += 1
        if ends[HAND] != ends[SEED_MACHINE]:
            differences.append(f"{label}: {ends[HAND]} != {ends[SEED_MACHINE]}")
    report("002", compared, differences)
    assert not differences


# Seed 003 ----------------------------------------------------------------------------------


async def test_seed_003_same_webhooks(
    apis: dict[str, Api], worker: Worker, client: Client, sessions: SessionFactory
) -> None:
    """Asynchronous and `?wait=true`, and a repeat under an Idempotency-Key: the same answer,
    the payload stored once, exactly, and `GET /webhooks/{id}` alike."""
    payloads: list[dict[str, Any]] = [
        {"event": "push", "n": 1},
        {"nested": {"list": [1, 2.5, None, True], "text": "héllo ✓"}},
        {},
    ]
    compared: Counter[str] = Counter()
    differences: list[str] = []
    for k, payload in enumerate(payloads):
        for wait in (False, True):
            ends = {}
            for engine in (HAND, SEED_MACHINE):
                http = apis[engine].http
                key = {"Idempotency-Key": f"diff-{SEED}-{k}-{wait}-{engine}"}
                params = {"wait": "true"} if wait else {}
                answers = [
                    await http.post("/webhooks", json=payload, params=params, headers=key)
                    for _ in range(2)
                ]
                first = answers[0].json()
                workflow_id = first["workflow_id"]
                outcome = await settle(client, workflow_id)
                read = (await http.get(f"/webhooks/{workflow_id}")).json()
                async with sessions() as session:
                    stored = (
                        await session.execute(
                            text("SELECT payload FROM webhook_events WHERE workflow_id = :w"),
                            {"w": workflow_id},
                        )
                    ).all()
                result = first.get("result") or {}
                ends[engine] = (
                    [a.status_code for a in answers],
                    first["status"],
                    answers[1].json() == first
                    if not wait
                    else answers[1].json()["run_id"] == first["run_id"],
                    outcome.status,
                    (result.get("workflow_id") == workflow_id, result.get("stored")),
                    [row for (row,) in stored],
                    (read["status"], read["payload"]),
                )
            compared["webhooks, " + ("waited" if wait else "async")] += 1
            if ends[HAND] != ends[SEED_MACHINE]:
                differences.append(f"{payload} wait={wait}: {ends[HAND]} != {ends[SEED_MACHINE]}")
            elif ends[HAND][5] != [payload]:
                differences.append(f"{payload}: both stored {ends[HAND][5]}")
    report("003", compared, differences)
    assert not differences


# Seed 001 ----------------------------------------------------------------------------------


async def test_seed_001_same_report(
    apis: dict[str, Api], client: Client, task_queue: str, sessions: SessionFactory, tmp_path: Path
) -> None:
    """One run each way, at once (the seed waits 10 s before it polls): both complete, and
    publish reports of the same rows."""
    store = LocalPagePublisher(tmp_path / "site")
    base = str(apis[HAND].http.base_url).rstrip("/")
    async with worker_with(client, task_queue, sessions, reports_api_url=base, publisher=store):
        started = [await apis[e].http.post("/report-runner/runs") for e in (HAND, SEED_MACHINE)]
        assert all(s.status_code == 202 for s in started), [s.text for s in started]
        outcomes = await asyncio.gather(*(settle(client, s.json()["workflow_id"]) for s in started))
        csvs = []
        for outcome in outcomes:
            assert outcome.status == "SUCCEEDED", outcome
            report_id = outcome.output["report_id"]
            download = await apis[HAND].http.get(f"/reports/{report_id}/download")
            csvs.append(download.text.splitlines())
    hand, seed = outcomes
    assert hand.output["row_count"] == seed.output["row_count"] == len(csvs[0]) - 1
    assert hand.output["location"] == seed.output["location"]
    assert csvs[0] == csvs[1], "the same store, reported the same"
    report("001", Counter({"report runs each way": 1}), [])


# What the comparisons stand on -------------------------------------------------------------


async def test_seed_machines_are_registered_once_and_kept_as_the_seed(
    apis: dict[str, Api], worker: Worker, client: Client, sessions: SessionFactory
) -> None:
    """Two API processes registering a seed's machine at once both succeed, with one machine
    and one revision; a machine edited since gets the seed's definition back; one deleted
    since is registered again by the next start."""
    settings = apis[SEED_MACHINE].settings

    async def temporal() -> Client:
        return client

    def process() -> Sfn:
        # A process of its own: nothing cached.
        arns = Arns(settings.aws_region, settings.aws_account)
        return Sfn(settings=settings, sessions=sessions, temporal=temporal, arns=arns)

    async def pay() -> Outcome:
        body = {"order": {"order_id": f"reg-{uuid.uuid4().hex[:8]}", "amount": "5.00"}}
        started = await apis[SEED_MACHINE].http.post("/payments", json=body)
        assert started.status_code == 202, started.text
        return await settle(client, started.json()["workflow_id"])

    assert (await pay()).status == "SUCCEEDED"  # the app has registered the machine
    arn = process().arns.state_machine(PROCESS_ORDER.name)
    await state_machines.delete(process(), {"stateMachineArn": arn})
    assert await asyncio.gather(
        *(ensure_seed_machine(process(), PROCESS_ORDER) for _ in range(2))
    ) == [arn, arn]
    assert await revisions(sessions, PROCESS_ORDER.name) == 1

    edited = PROCESS_ORDER.definition()
    edited["States"]["Validate"]["Comment"] = "edited"
    await state_machines.update(
        process(), {"stateMachineArn": arn, "definition": json.dumps(edited)}
    )
    await ensure_seed_machine(process(), PROCESS_ORDER)
    row = await state_machines.load(process(), arn)
    assert row.definition == PROCESS_ORDER.definition_text()
    assert await revisions(sessions, PROCESS_ORDER.name) == 3

    await state_machines.delete(process(), {"stateMachineArn": arn})
    await asyncio.sleep(1.1)  # past the start cache of the app (`MachineCache.ttl_s`)
    assert (await pay()).status == "SUCCEEDED"
    assert (await state_machines.load(process(), arn)).definition == (
        PROCESS_ORDER.definition_text()
    )


async def revisions(sessions: SessionFactory, name: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM state_machine_revisions WHERE name = :n"), {"n": name}
        )
    return int(count or 0)
