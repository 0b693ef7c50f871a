"""What one `statewright bench` run is asked to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from statewright.bench.scenarios import BenchScenario


@dataclass
class Options:
    scenario: str
    load: BenchScenario
    workflow_type: str
    count: int = 1000
    concurrency: int = 32
    lines: int = 2
    json_path: Path | None = None
    plot_path: Path | None = None
    settle_timeout_s: float = 900
    versus: tuple[str, BenchScenario, str] | None = None
    """The flow measured in place of the no-op baseline: name, scenario, workflow type."""
    rate: float | None = None
    """Requests a second, open loop (`statewright.bench.pacing`), for `duration_s`; None:
    closed loop, `count` requests from `concurrency` senders."""
    duration_s: float = 60.0
    wait: bool = False
    """Ask for each run's result in its answer (`?wait=true`), so a POST's latency is the
    run's, start to result."""

    @property
    def open_loop(self) -> bool:
        return self.rate is not None
