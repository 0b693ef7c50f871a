"""Step Functions' Map and Parallel semantics on top of workflow-safe asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def all_or_cancel(steps: Iterable[Awaitable[T]]) -> list[T]:
    """Run steps concurrently; on the first failure cancel the rest and raise that failure.

    A Map or Parallel state fails as a whole when one branch fails, and its siblings stop.
    """
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


async def finish(step: Awaitable[T]) -> T:
    """Await `step` to its end, even if the run is cancelled meanwhile.

    For work whose outcome must be known once it has begun: a completion that may already be
    written, a charge already sent, a compensation. A cancel that arrives meanwhile is
    absorbed here; the caller decides what the run reports.
    """
    task = asyncio.ensure_future(step)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
