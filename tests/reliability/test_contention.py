"""Opposite-order carts with ample stock, on a whole stack: every one completes, no deadlock."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.contention import compare


@pytest.mark.slow
async def test_opposite_order_carts_complete_without_deadlock(tmp_path: Path) -> None:
    same, mixed = await compare(tmp_path / "stack", orders=200, concurrency=16)
    print("\n" + same.line() + "\n" + mixed.line())
    for outcome in (same, mixed):
        assert outcome.statuses == {"COMPLETED": 200}, outcome.line()
        assert outcome.deadlocks == 0, outcome.line()
