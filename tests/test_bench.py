"""`statewright bench` end to end on a tiny load: it runs both phases, checks the invariants,
and writes its JSON and plot. (Speed itself is measured by running the tool, not in tests.)"""

from __future__ import annotations

import json
from pathlib import Path

from core.bench import Options, run_bench, write_outputs
from core.settings import Settings


async def test_bench_runs_both_phases_and_reports_ratios(
    api: str, worker: object, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    options = Options(
        scenario="orders",
        count=8,
        concurrency=4,
        lines=2,
        json_path=tmp_path / "bench.json",
        plot_path=tmp_path / "bench.png",
    )
    configured = settings.model_copy(update={"reports_api_url_override": api})

    result = await run_bench(options, configured, database_url)
    write_outputs(result, options)

    figures = json.loads((tmp_path / "bench.json").read_text())
    assert figures["baseline"]["completed"] == 8
    assert figures["scenario_figures"]["completed"] == 8
    assert figures["ratios"]["throughput_vs_baseline"] > 0
    assert figures["ratios"]["post_p99_vs_start_p99"] > 0
    assert figures["invariants"] == {"checked": True, "violations": []}
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
