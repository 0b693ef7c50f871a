"""What a step's exception means (`activities.failures`), with real errors from a real
Postgres: infrastructure is retried, business errors fail fast, bugs give up after a few
attempts unless the step must finish, and nothing of the original reaches a client."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.cart_inventory import CartInventoryActivities
from activities.failures import (
    DATABASE_CONFLICT,
    DATABASE_UNAVAILABLE,
    DEPENDENCY_UNAVAILABLE,
    UNEXPECTED,
    UNEXPECTED_ERROR_ATTEMPTS,
    Verdict,
    classify,
)
from core.db import SessionFactory, create_engine
from statewright.bench.invariants import assert_stock_invariants
from tests.conftest import free_port
from tests.helpers import ledger_rows, order_status, start_order, stock_items, stock_of, worker_with
from workflows.contracts import CartLedgerResult, CreateOrderInput, OrderState


async def real_error(coroutine: object) -> Exception:
    try:
        await coroutine  # type: ignore[misc]
    except Exception as err:
        return err
    raise AssertionError("no error")


async def test_an_unreachable_database_is_infrastructure() -> None:
    engine = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    try:
        err = await real_error(engine.connect().__aenter__())
    finally:
        await engine.dispose()

    verdict = classify(err, "check_stock", 1)
    assert verdict.infrastructure
    assert isinstance(verdict.error, ApplicationError)
    assert (verdict.error.type, verdict.error.non_retryable) == (DATABASE_UNAVAILABLE, False)
    assert verdict.error.message == "the database is unavailable; retrying"


async def test_a_real_deadlock_is_a_retried_conflict(
    sessions: SessionFactory, item_prefix: str
) -> None:
    a, b = f"{item_prefix}-a", f"{item_prefix}-b"
    await stock_items(sessions, **{a: 1, b: 1})
    lock = text("SELECT 1 FROM store_items WHERE item_id = :i FOR UPDATE")
    first_locked, second_locked = asyncio.Event(), asyncio.Event()

    async def take(mine: str, theirs: str, locked: asyncio.Event, other: asyncio.Event) -> None:
        async with sessions.begin() as session:
            await session.execute(lock, {"i": mine})
            locked.set()
            await other.wait()
            await session.execute(lock, {"i": theirs})

    outcomes = await asyncio.gather(
        take(a, b, first_locked, second_locked),
        take(b, a, second_locked, first_locked),
        return_exceptions=True,
    )
    [deadlock] = [o for o in outcomes if isinstance(o, DBAPIError)]

    verdict = classify(deadlock, "reserve_stock", 3)
    assert isinstance(verdict.error, ApplicationError)
    assert (verdict.error.type, verdict.error.non_retryable) == (DATABASE_CONFLICT, False)
    assert verdict.error.message == "database deadlock; retrying"
    assert "store_items" not in str(verdict.error) and "Process" not in str(verdict.error)


async def test_a_bug_in_sql_gives_up_after_a_few_attempts_unless_the_step_must_finish(
    sessions: SessionFactory,
) -> None:
    async with sessions() as session:
        err = await real_error(session.execute(text("SELECT secret FROM no_such_table")))

    early = unexpected(classify(err, "create_order", 1))
    late = unexpected(classify(err, "create_order", UNEXPECTED_ERROR_ATTEMPTS))
    compensation = unexpected(classify(err, "release_stock", 50, must_finish=True))

    assert not early.non_retryable
    assert late.non_retryable
    assert late.message == (
        f"unexpected ProgrammingError in create_order (gave up after {UNEXPECTED_ERROR_ATTEMPTS} "
        "attempts)"
    )
    assert not compensation.non_retryable


def unexpected(verdict: Verdict) -> ApplicationError:
    """The error of a verdict on a bug, checked to carry nothing of the original."""
    assert isinstance(verdict.error, ApplicationError)
    assert verdict.error.type == UNEXPECTED and not verdict.infrastructure
    assert "no_such_table" not in verdict.error.message
    return verdict.error


def test_business_errors_pass_and_a_retryable_one_is_a_dependency_away() -> None:
    business = ApplicationError("not in stock: x", type="NotInStock", non_retryable=True)
    provider = ApplicationError("provider outage", type="ProviderUnavailable")
    assert classify(business, "reserve_stock", 1).error is business
    assert not classify(business, "reserve_stock", 1).infrastructure
    assert classify(provider, "charge_payment", 9).error is provider
    assert classify(provider, "charge_payment", 9).infrastructure


def test_an_unreachable_http_dependency_is_infrastructure() -> None:
    err = httpx.ConnectError("connection refused to 10.0.0.7:443")
    verdict = classify(err, "poll_report", 7)
    assert isinstance(verdict.error, ApplicationError)
    assert verdict.error.type == DEPENDENCY_UNAVAILABLE and not verdict.error.non_retryable
    assert "10.0.0.7" not in verdict.error.message


async def test_an_order_whose_step_hits_a_bug_fails_in_plain_words(
    client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """The order fails and is compensated; its failure_reason names the step and the kind of
    error, never the SQL."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 5})

    @activity.defn(name="create_order")
    async def create_order_bug(order: CreateOrderInput) -> OrderState:
        raise KeyError("INSERT INTO orders (secret_column) VALUES (%(o)s)")

    async with worker_with(client, task_queue, sessions, create_order_bug):
        order_id, handle = await start_order(client, task_queue, **{a: 2})
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "StepFailed"
    assert cause.message == (
        f"unexpected KeyError in create_order (gave up after {UNEXPECTED_ERROR_ATTEMPTS} attempts)"
    )
    assert await order_status(sessions, order_id) == "FAILED"
    assert await stock_of(sessions, a) == 5
    assert await ledger_rows(sessions, order_id) == {a: "released"}
    await assert_stock_invariants(sessions, [a])


async def test_a_compensation_keeps_retrying_a_bug_until_it_is_fixed(
    client: Client, task_queue: str, sessions: SessionFactory, item_prefix: str
) -> None:
    """A release that fails unexpectedly more times than a step may is still retried (here
    the 'fix' lands at attempt 7), and the stock goes back."""
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 5})
    inventory = CartInventoryActivities(sessions)

    @activity.defn(name="reserve_stock")
    async def reserve_then_lose(order: CreateOrderInput) -> CartLedgerResult:
        await inventory.reserve_stock(order)
        raise ApplicationError("lost a race", type="NotInStock", non_retryable=True)

    @activity.defn(name="release_stock")
    async def release_with_a_bug(order: CreateOrderInput) -> CartLedgerResult:
        if activity.info().attempt < 7:
            raise KeyError("a bug, fixed at attempt 7")
        return await inventory.release_stock(order)

    async with worker_with(client, task_queue, sessions, reserve_then_lose, release_with_a_bug):
        order_id, handle = await start_order(client, task_queue, **{a: 2})
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    assert await order_status(sessions, order_id) == "FAILED"
    assert await stock_of(sessions, a) == 5, "the stock went back after all"
    await assert_stock_invariants(sessions, [a])
