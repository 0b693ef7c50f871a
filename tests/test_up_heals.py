"""`statewright up` heals itself: a worker or a Postgres that dies is started again, and the
work accepted meanwhile completes. A part that keeps dying at once is given up on, clearly.

The probe: SIGKILL the worker, or Temporal, and `up` shut the whole stack down and exited;
SIGKILL Postgres, and `up` never noticed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from core.settings import Settings
from statewright.supervisor import MAX_FAST_CRASHES
from statewright.supervisor import Stack as Supervised
from tests.test_up import Stack


def child_of(up_pid: int, *words: str) -> psutil.Process:
    """The process under `up` whose command line holds every one of `words`."""
    for child in psutil.Process(up_pid).children(recursive=True):
        if all(word in child.cmdline() for word in words):
            return child
    raise AssertionError(f"no {words} under `up`")


def postmaster_of(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])


async def wait_until_closed(
    http: httpx.AsyncClient, ids: list[str], timeout_s: float
) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    statuses: dict[str, str] = {}
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        still = []
        for workflow_id in pending:
            try:
                response = await http.get(f"/runs/{workflow_id}")
            except httpx.TransportError:
                still.append(workflow_id)
                continue
            status = response.json().get("status") if response.status_code == 200 else None
            if status in (None, "RUNNING"):
                still.append(workflow_id)
            else:
                statuses[workflow_id] = status
        pending = still
        if pending:
            await asyncio.sleep(0.5)
    return statuses


async def post_until_accepted(http: httpx.AsyncClient, path: str, body: object, key: str) -> str:
    """POST as a careful client does: the same Idempotency-Key until a 202."""
    for _ in range(240):
        try:
            response = await http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code == 202:
            workflow_id: str = response.json()["workflow_id"]
            return workflow_id
        assert response.status_code == 503, response.text
        await asyncio.sleep(0.5)
    raise AssertionError(f"POST {path} never accepted")


async def load(base: str, kill: Callable[[], None], count: int = 40) -> dict[str, str]:
    """Stock an item, send `count` orders and as many webhooks, calling `kill` halfway;
    then wait for every accepted run to close."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        response = await http.post("/store-items", json={"item_id": "heal", "quantity": 10_000})
        assert response.status_code == 201
        ids = []
        for n in range(count):
            if n == count // 2:
                kill()
            order = {"order": [{"item_id": "heal", "quantity": 1}]}
            ids.append(await post_until_accepted(http, "/orders", order, f"heal-o-{n}"))
            ids.append(await post_until_accepted(http, "/webhooks", {"n": n}, f"heal-w-{n}"))
        return await wait_until_closed(http, ids, timeout_s=180)


def killer(part: str, stack: Stack) -> Callable[[], None]:
    """SIGKILL for one part of the running stack, found now, sent when called."""
    if part == "Postgres":
        postmaster = postmaster_of(stack.data_dir)
        return lambda: os.kill(postmaster, signal.SIGKILL)
    words = ("statewright.cli", "worker") if part == "worker" else ("server", "start-dev")
    process = child_of(stack.process_pid, *words)
    return lambda: process.send_signal(signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("part", ["worker", "Postgres", "Temporal"])
def test_up_restarts_a_killed_part_and_no_accepted_work_is_lost(tmp_path: Path, part: str) -> None:
    """SIGKILL one part halfway through 40 orders and 40 webhooks: `up` starts it again,
    and every run it accepted completes, each order taking its stock once."""
    stack = Stack(tmp_path / "data")
    with stack.running():
        statuses = asyncio.run(load(stack.base, killer(part, stack)))
        log = stack.log_text()
        assert f"{part} stopped after" in log and "killed by SIGKILL" in log, log
        assert f"{part} restarted" in log, log
        assert sorted(set(statuses.values())) == ["COMPLETED"], statuses
        assert len(statuses) == 80
        health = httpx.get(f"{stack.base}/health").json()
        assert (health["postgres"], health["temporal"]) == ("ok", "ok"), health
        stock = httpx.get(f"{stack.base}/store-items/heal").json()["stock"]
        assert stock == 10_000 - 40


def test_a_part_that_keeps_dying_at_once_is_given_up_on(tmp_path: Path) -> None:
    supervised = Supervised(Settings(data_dir=tmp_path))
    supervised.spawn("flaky", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ), None)
    supervised.children[0].restarts.first_delay_s = 0.01
    started = time.monotonic()
    reason = None
    while reason is None and time.monotonic() - started < 30:
        reason = supervised.tend()
        time.sleep(0.05)
    supervised.stop()

    assert reason == (
        f"flaky stopped {MAX_FAST_CRASHES + 1} times in a row, each within 10s of starting "
        "(exit code 3); not restarting it again"
    )
