"""Open-loop pacing: sends leave on the clock, not when earlier ones answer."""

from __future__ import annotations

import asyncio
import time

import pytest

from statewright.bench.pacing import at_rate


async def test_sends_leave_on_time_while_earlier_ones_still_wait() -> None:
    """Each answer takes 0.3 s, at 20 a second: a closed loop of one sender would manage
    about 3 a second; the open loop sends every one on its due time."""
    left: list[tuple[int, float, float]] = []
    in_flight, most_in_flight = 0, 0

    async def slow(index: int, due: float) -> None:
        nonlocal in_flight, most_in_flight
        left.append((index, due, time.perf_counter()))
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.3)
        in_flight -= 1

    began = time.perf_counter()
    sent = await at_rate(20, 1.0, slow)

    assert sent == 20 and [index for index, _, _ in left] == list(range(20))
    assert most_in_flight >= 5, "later sends did not wait for earlier answers"
    dues = [due - began for _, due, _ in left]
    assert dues == pytest.approx([i / 20 for i in range(20)], abs=0.01)
    assert all(actual >= due for _, due, actual in left), "nothing leaves before it is due"


async def test_a_rate_of_zero_is_refused() -> None:
    async def never(index: int, due: float) -> None:
        raise AssertionError("nothing is sent")

    with pytest.raises(ValueError, match="greater than 0"):
        await at_rate(0, 10, never)
