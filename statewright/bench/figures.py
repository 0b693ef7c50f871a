"""A bench run's figures: summaries, ratios, the printed table, the JSON and the plot."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from statewright.bench.options import Options
from statewright.bench.phases import Phase, percentile


def _spread(samples_ms: list[float]) -> dict[str, float | None]:
    """p50, p99 and max in ms; each None when there are no samples."""
    return {
        "p50": _round(percentile(samples_ms, 50)),
        "p99": _round(percentile(samples_ms, 99)),
        "max": _round(max(samples_ms, default=None)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is unknown or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def summarize(phase: Phase) -> dict[str, Any]:
    completed = [r for r in phase.runs if r[1] == "COMPLETED"]
    first_send = min(phase.sent.values(), default=0.0)
    last_close = max((r[3] for r in phase.runs), default=first_send)
    span = max(last_close - first_send, 1e-9)
    e2e = [(close - phase.sent[wid]) * 1000 for wid, _, _, close in phase.runs]
    return {
        "sent": len(phase.sent),
        "send_failures": phase.failures,
        "send_failure_reasons": phase.failure_reasons,
        "closed": len(phase.runs),
        "completed": len(completed),
        "other_outcomes": len(phase.runs) - len(completed),
        "post_latency_ms": _spread(phase.latencies_ms),
        "api_start_call_ms": _spread(phase.temporal_ms),
        "runs_completed_per_s": round(len(completed) / span, 2),
        "runs_closed_per_s": round(len(phase.runs) / span, 2),
        "end_to_end_ms": {
            "p50": _round(percentile(e2e, 50)),
            "p99": _round(percentile(e2e, 99)),
        },
        "cpu_s": phase.cpu_s,
        "worker_peak_rss_mb": phase.worker_peak_rss_mb,
        "api_peak_rss_mb": phase.api_peak_rss_mb,
        "machine_cpu_busy_percent": phase.machine_busy,
        "peak_runs_in_flight": phase.worker_peak_in_flight,
        "wall_s": round(span, 2),
    }


def report_open_loop(options: Options, scenario: Phase, violations: list[str]) -> dict[str, Any]:
    """The figures of an open-loop run: latencies at the offered rate, and what got done."""
    figures = summarize(scenario)
    return {
        "scenario": options.scenario,
        "mode": "open loop",
        "rate_per_s": options.rate,
        "duration_s": options.duration_s,
        "scenario_figures": figures,
        "achieved_sends_per_s": round(figures["sent"] / options.duration_s, 2),
        "invariants": {"checked": options.load.per_line, "violations": violations},
        "raw": {"post_latency_ms": scenario.latencies_ms},
    }


def print_open_loop(result: dict[str, Any]) -> None:
    real = result["scenario_figures"]
    rows = [
        ("offered", f"{result['rate_per_s']}/s for {result['duration_s']:g} s"),
        (
            "sent / failed / closed / completed",
            f"{real['sent']} / {real['send_failures']} / {real['closed']} / {real['completed']}",
        ),
        ("POST latency p50 / p99 / max ms", _trio(real["post_latency_ms"])),
        ("start call inside the API p50 / p99 / max ms", _trio(real["api_start_call_ms"])),
        (
            "POST to completion p50 / p99 ms",
            f"{real['end_to_end_ms']['p50']} / {real['end_to_end_ms']['p99']}",
        ),
        ("CPU s worker / server", f"{real['cpu_s']['worker']} / {real['cpu_s']['server']}"),
        ("CPU s API / Postgres", f"{real['cpu_s']['api']} / {real['cpu_s']['postgres']}"),
        ("machine CPU busy %", f"{real['machine_cpu_busy_percent']}"),
        ("peak RSS MB worker / API", f"{real['worker_peak_rss_mb']} / {real['api_peak_rss_mb']}"),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print_endings(result, [real])


def print_endings(result: dict[str, Any], phases: list[dict[str, Any]]) -> None:
    """Why sends failed, if any did (a failure left unexplained hides a flaw in the figures),
    and whether the stock invariants hold."""
    for figures in phases:
        for reason, times in figures["send_failure_reasons"].items():
            print(f"send failed {times}x: {reason}")
    invariants = result["invariants"]
    if invariants["checked"]:
        verdict = (
            "hold"
            if not invariants["violations"]
            else "BROKEN: " + "; ".join(invariants["violations"])
        )
        print(f"stock invariants: {verdict}")


def server_cpu_per_run_ms(figures: dict[str, Any]) -> float | None:
    """The Temporal server's CPU per run closed: what the limit bounds from below."""
    if not figures["closed"]:
        return None
    closed: int = figures["closed"]
    return round(1000 * float(figures["cpu_s"]["server"]) / closed, 3)


def run_cpu_s(figures: dict[str, Any]) -> float:
    """CPU seconds that ran the phase's runs: the worker's, the API's (its eager starts run
    workflows and steps there, `api.eager`) and the Temporal server's."""
    cpu: dict[str, float] = figures["cpu_s"]
    return round(cpu["worker"] + cpu["api"] + cpu["server"], 2)


def report(
    options: Options,
    baseline: Phase,
    scenario: Phase,
    violations: list[str],
    limit: Phase | None = None,
) -> dict[str, Any]:
    base, real = summarize(baseline), summarize(scenario)
    bound = summarize(limit) if limit is not None else None
    lines = max(options.lines, 1) if options.load.per_line else 1
    cpu = run_cpu_s(real)
    return {
        "scenario": options.scenario,
        "count": options.count,
        "concurrency": options.concurrency,
        "lines_per_cart": lines if options.load.per_line else None,
        "baseline": base,
        "scenario_figures": real,
        "ratios": {
            "throughput_vs_baseline": _ratio(
                real["runs_completed_per_s"], base["runs_completed_per_s"]
            ),
            # Runs that ended any way: a case escalated by design ends FAILED, and is done.
            "closed_throughput_vs_baseline": _ratio(
                real["runs_closed_per_s"], base["runs_closed_per_s"]
            ),
            "post_p99_vs_start_p99": _ratio(
                real["post_latency_ms"]["p99"], base["post_latency_ms"]["p99"]
            ),
            # The same requests, against the start call the API made for them: what the API
            # itself adds, under the same load.
            "post_p99_vs_api_start_call_p99": _ratio(
                real["post_latency_ms"]["p99"], real["api_start_call_ms"]["p99"]
            ),
            "cpu_vs_baseline": _ratio(cpu, run_cpu_s(base)),
            # Against the empty workflow: runs per second, and the server's CPU per run.
            "throughput_vs_limit": _ratio(
                real["runs_completed_per_s"], bound["runs_completed_per_s"]
            )
            if bound
            else None,
            "cpu_vs_limit": _ratio(server_cpu_per_run_ms(real), server_cpu_per_run_ms(bound))
            if bound
            else None,
        },
        "limit": bound,
        "server_cpu_per_run_ms": {
            "scenario": server_cpu_per_run_ms(real),
            "limit": server_cpu_per_run_ms(bound) if bound else None,
        },
        "baseline_name": options.versus[0] if options.versus else "no-op baseline",
        "cpu_per_run_ms": round(1000 * cpu / max(real["closed"], 1), 3),
        "cpu_per_state_ms": round(
            1000 * cpu / max(real["closed"] * options.load.states(options.lines), 1), 3
        )
        if options.load.states
        else None,
        "cpu_per_line_ms": round(1000 * cpu / max(real["closed"] * lines, 1), 3)
        if options.load.per_line
        else None,
        "invariants": {"checked": options.load.per_line, "violations": violations},
        "raw": {
            "post_latency_ms": scenario.latencies_ms,
            "start_latency_ms": baseline.latencies_ms,
            "closes": sorted(r[3] for r in scenario.runs),
            "baseline_closes": sorted(r[3] for r in baseline.runs),
        },
    }


ROWS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("runs sent / closed / completed", lambda f: f"{f['sent']} / {f['closed']} / {f['completed']}"),
    ("start or POST latency p50 / p99 / max ms", lambda f: _trio(f["post_latency_ms"])),
    ("start call inside the API p50 / p99 / max ms", lambda f: _trio(f["api_start_call_ms"])),
    ("runs completed per second", lambda f: f"{f['runs_completed_per_s']}"),
    ("runs closed per second (any outcome)", lambda f: f"{f['runs_closed_per_s']}"),
    (
        "end to end p50 / p99 ms",
        lambda f: f"{f['end_to_end_ms']['p50']} / {f['end_to_end_ms']['p99']}",
    ),
    ("CPU s worker / server", lambda f: f"{f['cpu_s']['worker']} / {f['cpu_s']['server']}"),
    ("CPU s API / Postgres", lambda f: f"{f['cpu_s']['api']} / {f['cpu_s']['postgres']}"),
    ("CPU s load generator (this process)", lambda f: f"{f['cpu_s']['load_generator']}"),
    ("server CPU per run ms", lambda f: f"{server_cpu_per_run_ms(f)}"),
    ("machine CPU busy %", lambda f: f"{f['machine_cpu_busy_percent']}"),
    ("peak RSS MB worker / API", lambda f: f"{f['worker_peak_rss_mb']} / {f['api_peak_rss_mb']}"),
    ("peak runs in flight", lambda f: f"{f['peak_runs_in_flight']}"),
]
"""The table's rows: a label, and how each phase's figures show in it."""


def print_table(result: dict[str, Any]) -> None:
    ratios = result["ratios"]
    versus = result["baseline_name"] + (
        " (API)" if result["baseline_name"] != "no-op baseline" else ""
    )
    columns = [("empty limit", result["limit"])] if result.get("limit") else []
    columns += [
        (versus, result["baseline"]),
        (result["scenario"] + " (API)", result["scenario_figures"]),
    ]
    width = max(len(label) for label, _ in ROWS)
    print("\n" + f"{'':<{width}}" + "".join(f"  {name:>22}" for name, _ in columns))
    for label, show in ROWS:
        print(f"{label:<{width}}" + "".join(f"  {show(figures):>22}" for _, figures in columns))
    print()
    figures = [
        ("throughput vs the empty-workflow limit", _times(ratios.get("throughput_vs_limit"))),
        ("server CPU per run vs the limit's", _times(ratios.get("cpu_vs_limit"))),
        (f"throughput vs {result['baseline_name']}", _times(ratios["throughput_vs_baseline"])),
        ("closed runs per second vs baseline", _times(ratios["closed_throughput_vs_baseline"])),
        ("POST p99 vs raw start p99 (baseline phase)", _times(ratios["post_p99_vs_start_p99"])),
        (
            "POST p99 vs the API's own start call p99",
            _times(ratios["post_p99_vs_api_start_call_p99"]),
        ),
        ("CPU (worker + API + server) vs baseline", _times(ratios["cpu_vs_baseline"])),
        ("CPU (worker + API + server) per run", f"{result['cpu_per_run_ms']} ms"),
    ]
    if result["cpu_per_line_ms"] is not None:  # orders only: a cart has lines
        figures.append(("CPU per line ordered", f"{result['cpu_per_line_ms']} ms"))
    if result["cpu_per_state_ms"] is not None:  # interpreted: a run enters states
        figures.append(
            ("CPU (worker + API + server) per state", f"{result['cpu_per_state_ms']} ms")
        )
    for label, value in figures:
        print(f"{label:<{width}}  {value}")
    print_endings(result, [figures for _, figures in columns])


def _trio(figures: dict[str, float | None]) -> str:
    return " / ".join("-" if figures[k] is None else str(figures[k]) for k in ("p50", "p99", "max"))


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio}x"


def closes_per_second(closes: list[float], bins: int = 30) -> tuple[list[float], list[float]]:
    """Bin close times into about `bins` equal steps (at least 0.1 s wide): the time of each
    step and the runs closed per second in it. Whole seconds left a short run a few dots."""
    if not closes:
        return [], []
    t0 = closes[0]
    span = max(closes[-1] - t0, 0.1)
    width = max(span / bins, 0.1)
    counts = [0] * (int(span / width) + 1)
    for close in closes:
        counts[min(int((close - t0) / width), len(counts) - 1)] += 1
    return [i * width for i in range(len(counts))], [c / width for c in counts]


def plot(result: dict[str, Any], path: Path) -> None:
    """Latency distributions, and runs closed per second over time, for both phases."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    raw = result["raw"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.hist(
        [raw["start_latency_ms"], raw["post_latency_ms"]],
        bins=40,
        label=["raw start_workflow (baseline)", f"POST ({result['scenario']})"],
    )
    left.set_xlabel("latency, ms")
    left.set_ylabel("requests")
    left.set_title("start latency")
    left.legend()
    for closes, label in (
        (raw["baseline_closes"], "no-op baseline"),
        (raw["closes"], f"{result['scenario']} (API)"),
    ):
        if closes:
            times, rates = closes_per_second(closes)
            right.plot(times, rates, label=label)
    right.set_xlabel("seconds since the first close")
    right.set_ylabel("runs closed per second")
    right.set_title("throughput over time")
    right.legend()
    fig.suptitle(
        f"statewright bench {result['scenario']}: {result['count']} runs, concurrency "
        f"{result['concurrency']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_outputs(result: dict[str, Any], options: Options) -> None:
    if options.open_loop:
        print_open_loop(result)
    else:
        print_table(result)
    if options.json_path:
        slim = {k: v for k, v in result.items() if k != "raw"}
        slim["raw_summary"] = {
            "post_latency_mean_ms": round(statistics.fmean(result["raw"]["post_latency_ms"]), 2)
            if result["raw"]["post_latency_ms"]
            else None
        }
        # allow_nan=False: a figure that is not a number must be null, never NaN.
        options.json_path.write_text(json.dumps(slim, indent=2, allow_nan=False) + "\n")
        print(f"figures written to {options.json_path}")
    if options.plot_path:
        plot(result, options.plot_path)
        print(f"plot written to {options.plot_path}")
