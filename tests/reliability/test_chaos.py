"""The reduced chaos run (2 worker kills, a Postgres restart, a one-minute Postgres outage,
cancels right after start, opposite-order carts) as part of the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.chaos import ChaosConfig, run_chaos


@pytest.mark.slow
async def test_reduced_chaos_loses_nothing(tmp_path: Path) -> None:
    report = await run_chaos(ChaosConfig.reduced(), tmp_path / "chaos")
    print("\n" + report.table())
    assert sum(fault.startswith("worker SIGKILL") for fault in report.faults) == 2
    assert any(fault.startswith("Postgres restart") for fault in report.faults)
    assert any(fault.startswith("Postgres down") for fault in report.faults)
    assert report.ok, report.table()
