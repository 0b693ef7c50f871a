"""What metrics and traces cost: `statewright bench orders` against the same stack started
three ways, in rotation, round after round.

    python -m statewright.bench.overhead [--rounds 5] [--count 1000] [--concurrency 32]

- `off`: `STATEWRIGHT_METRICS=off`, no tracing;
- `metrics`: the defaults (the API's `/metrics`, the worker's SDK and business metrics);
- `metrics+traces`: the defaults, and `OTEL_EXPORTER_OTLP_ENDPOINT` at a receiver in this
  process (`span_sink`) that counts the spans and keeps none.

Each run restarts `statewright up` on one data folder, so every configuration meets the same
database. The order of the three rotates each round, so a machine that slows down over the
minutes does not land on one configuration. Before each bench the run checks that its
configuration took (the API's `/metrics` answers, or does not), and after it, that spans
arrived when they should. Prints orders/s per run, the median and spread of each, and the
median's cost against `off`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings
from core.tracing import ENDPOINT_VARIABLE
from statewright.bench.span_sink import SpanSink

CONFIGS = ("off", "metrics", "metrics+traces")
READY_LINE = "Statewright is up."
STATEWRIGHT = str(Path(sys.executable).with_name("statewright"))


class StackError(RuntimeError):
    """`statewright up` or the bench did not do what the run needs; says what it printed."""


@dataclass
class Run:
    config: str
    round: int
    orders_per_s: float
    baseline_per_s: float
    cpu_per_run_ms: float
    post_p50_ms: float | None
    spans: int
    violations: list[str] = field(default_factory=list)


def environment(config: str, data_dir: Path, sink: SpanSink) -> dict[str, str]:
    """The environment `up` and the bench run with, for one configuration."""
    env = {k: v for k, v in os.environ.items() if k not in (ENDPOINT_VARIABLE, "OTEL_SDK_DISABLED")}
    env["STATEWRIGHT_DATA_DIR"] = str(data_dir)
    env["STATEWRIGHT_METRICS"] = "off" if config == "off" else "on"
    if config == "metrics+traces":
        env[ENDPOINT_VARIABLE] = sink.endpoint
    return env


@contextmanager
def stack(env: dict[str, str], timeout_s: float = 240) -> Iterator[None]:
    """`statewright up`, from its banner until it is stopped the way Ctrl-C stops it."""
    process = subprocess.Popen(
        [STATEWRIGHT, "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    tail: deque[str] = deque(maxlen=30)
    ready = threading.Event()

    def read(stream: Any) -> None:
        for line in stream:
            tail.append(line.rstrip())
            if READY_LINE in line:
                ready.set()

    threading.Thread(target=read, args=(process.stdout,), daemon=True).start()
    deadline = time.monotonic() + timeout_s
    try:
        while not ready.wait(0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise StackError("`statewright up` did not come up:\n" + "\n".join(tail))
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def check_config(config: str, env: dict[str, str]) -> None:
    """The API serves `/metrics` exactly when the configuration says it does."""
    settings = Settings.model_validate(env)
    url = f"http://{settings.api_host}:{settings.api_port}/metrics"
    status = httpx.get(url, timeout=10).status_code
    if (status == 200) != (config != "off"):
        raise StackError(f"{config}: GET /metrics answered {status}; the setting did not take")


def bench(env: dict[str, str], count: int, concurrency: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [STATEWRIGHT, "bench", "orders", "--count", str(count)]
        command += ["--concurrency", str(concurrency), "--json", out.name]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"the bench failed ({done.returncode}):\n{done.stderr[-3000:]}")
        figures: dict[str, Any] = json.loads(Path(out.name).read_text())
        return figures


def one_run(
    config: str, round_: int, data_dir: Path, sink: SpanSink, count: int, concurrency: int
) -> Run:
    env = environment(config, data_dir, sink)
    with stack(env):
        check_config(config, env)
        spans_before = sink.spans
        figures = bench(env, count, concurrency)
    # `up` has stopped, and the worker and API flushed their last batch of spans on the way.
    spans = sink.spans - spans_before
    if (spans > 0) != (config == "metrics+traces"):
        raise StackError(f"{config}: {spans} spans arrived; tracing did not do what was set")
    real = figures["scenario_figures"]
    return Run(
        config=config,
        round=round_,
        orders_per_s=real["runs_completed_per_s"],
        baseline_per_s=figures["baseline"]["runs_completed_per_s"],
        cpu_per_run_ms=figures["cpu_per_run_ms"],
        post_p50_ms=real["post_latency_ms"]["p50"],
        spans=spans,
        violations=figures["invariants"]["violations"],
    )


def summary(runs: list[Run]) -> dict[str, Any]:
    """Per configuration: orders/s of each run, median, spread, and the median's cost
    against `off` (positive: slower)."""
    by_config = {c: [r for r in runs if r.config == c] for c in CONFIGS}
    medians = {
        c: statistics.median(r.orders_per_s for r in rs) for c, rs in by_config.items() if rs
    }
    off = medians.get("off")
    return {
        config: {
            "orders_per_s": [r.orders_per_s for r in rs],
            "median": medians[config],
            "spread": [min(r.orders_per_s for r in rs), max(r.orders_per_s for r in rs)],
            "cpu_per_run_ms_median": statistics.median(r.cpu_per_run_ms for r in rs),
            "cost_vs_off_percent": round(100 * (1 - medians[config] / off), 1) if off else None,
            "spans_median": statistics.median(r.spans for r in rs),
        }
        for config, rs in by_config.items()
        if rs
    }


def print_summary(result: dict[str, Any]) -> None:
    heads = ("configuration", "orders/s per run", "median", "CPU/run", "cost")
    print("{:<16} {:<34} {:>7} {:>8} {:>7}".format(*heads))
    for config, row in result.items():
        each = " ".join(f"{v:5.1f}" for v in row["orders_per_s"])
        cost = row["cost_vs_off_percent"]
        print(
            f"{config:<16} {each:<34} {row['median']:7.1f} "
            f"{row['cpu_per_run_ms_median']:6.1f}ms {'' if cost is None else f'{cost:+.1f}%':>7}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args(argv)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="statewright-overhead-") as data, SpanSink() as sink:
        for round_ in range(args.rounds):
            turn = round_ % len(CONFIGS)
            for config in CONFIGS[turn:] + CONFIGS[:turn]:
                print(f"round {round_ + 1}/{args.rounds} · {config} ...", file=sys.stderr)
                run = one_run(config, round_ + 1, Path(data), sink, args.count, args.concurrency)
                print(
                    f"  {run.orders_per_s} orders/s (no-op baseline {run.baseline_per_s}/s), "
                    f"{run.spans} spans, invariants "
                    + ("held" if not run.violations else f"BROKEN: {run.violations[:3]}"),
                    file=sys.stderr,
                )
                runs.append(run)
    result = summary(runs)
    print_summary(result)
    if args.json:
        args.json.write_text(
            json.dumps({"summary": result, "runs": [r.__dict__ for r in runs]}, indent=2) + "\n"
        )
    return 1 if any(r.violations for r in runs) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StackError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
