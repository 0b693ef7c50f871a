"""Open-loop load: requests sent on a clock, whatever the answers do.

A closed loop (a fixed number of senders, each waiting for its answer) slows down with the
system it measures, so it cannot say how fast answers are when the system is not saturated.
Here request `i` is due at `start + i / rate`, and its latency counts from when it was due,
not from when it left: a sender that fell behind still charges the wait to the system
(coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any


async def at_rate(
    rate: float, duration_s: float, send: Callable[[int, float], Coroutine[Any, Any, None]]
) -> int:
    """Call `send(index, due)` `rate` times a second for `duration_s` seconds, each call at
    its due time (`time.perf_counter()` clock) without waiting for earlier ones; return how
    many were sent once all have answered."""
    if rate <= 0 or duration_s <= 0:
        raise ValueError("the rate and the duration must be greater than 0")
    total = max(1, round(rate * duration_s))
    start = time.perf_counter()
    pending: set[asyncio.Task[None]] = set()
    for index in range(total):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(index, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    return total
