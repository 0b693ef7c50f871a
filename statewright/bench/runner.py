"""`statewright bench`: load a running stack through its HTTP API, with a same-run baseline.

Each run has two phases on the same Temporal server and worker:

1. **Baseline.** `BenchNoopWorkflow`, a no-op workflow made of regular activities shaped like
   the scenario (for a 2-line cart: 2 in parallel, then 3 in parallel), started with raw
   `client.start_workflow` calls. This gives the raw start latency and a naive build's
   throughput.
2. **Scenario.** The same count of real requests through the HTTP API, at the same
   concurrency.

Absolute figures on a shared 2-core machine are noise; the ratios to the baseline are the
figures. Runs are found afterwards through visibility, so measuring adds no load while the
phase runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client

from core.db import create_engine, create_session_factory
from core.settings import Settings
from core.stock import set_stock
from core.temporal import connect_patiently
from statewright.bench.http_client import BenchHttpClient, timing_ms
from statewright.bench.invariants import stock_violations
from statewright.bench.scenarios import BenchRun, BenchScenario
from workflows.bench import BenchNoopWorkflow
from workflows.contracts import NoopShape
from workflows.ids import BENCH_RUNS


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


@dataclass
class Phase:
    """One phase's raw observations."""

    name: str
    workflow_type: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    sent: dict[str, float] = field(default_factory=dict)  # workflow id -> wall time sent
    latencies_ms: list[float] = field(default_factory=list)
    temporal_ms: list[float] = field(default_factory=list)
    """What the API reported (`Server-Timing`) for its own start call, request by request."""
    failures: int = 0
    runs: list[tuple[str, str, float, float]] = field(
        default_factory=list
    )  # id, status, start, close
    cpu_s: dict[str, float] = field(default_factory=dict)
    worker_peak_rss_mb: float = 0.0
    worker_peak_in_flight: int = 0
    machine_busy: float = 0.0


def percentile(samples: list[float], p: float) -> float | None:
    """The `p`th percentile, or None for no samples (JSON has no NaN)."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Progress:
    """One live line on stderr: a bar of closed runs, and the sent count. Visibility is
    eventually consistent, so a count can read lower than one before; the bar never goes
    back."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.closed = 0

    def show(self, sent: int, closed: int) -> None:
        self.closed = closed = min(max(self.closed, closed), self.total)
        width = 30
        filled = int(width * closed / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(
            f"\r  {self.label:<9} [{bar}] {closed:>5}/{self.total} closed, {sent:>5} sent"
        )
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")


class Sampler:
    """CPU seconds of the worker and the Temporal server, and the worker's peak memory."""

    def __init__(self) -> None:
        self.workers = _processes(
            lambda cmd: (
                ("statewright.cli" in cmd and "worker" in cmd) or "statewright worker" in cmd
            )
        )
        self.servers = _processes(lambda cmd: "temporal" in cmd and "start-dev" in cmd)
        self.apis = _processes(
            lambda cmd: ("statewright.cli" in cmd or "statewright" in cmd) and cmd.endswith(" api")
        )
        self._machine = psutil.cpu_times()
        self._start = self._cpu()
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _cpu(self) -> dict[str, float]:
        return {
            "worker": _cpu(self.workers),
            "server": _cpu(self.servers),
            "api": _cpu(self.apis),
            "postgres": _postgres_cpu(),
            "load_generator": _cpu([psutil.Process()]),
        }

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            rss = 0
            for process in self.workers:
                with contextlib.suppress(psutil.Error):
                    rss += process.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)

    def stop(self, phase: Phase) -> None:
        self._stop.set()
        self._thread.join()
        end = self._cpu()
        phase.cpu_s = {name: round(end[name] - self._start[name], 2) for name in end}
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, f) - getattr(self._machine, f) for f in ("user", "system"))
        idle = machine.idle - self._machine.idle
        phase.machine_busy = round(100 * busy / max(busy + idle, 1e-9), 1)
        phase.worker_peak_rss_mb = round(self.peak_rss / 2**20, 1)


def _processes(match: Callable[[str], bool]) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmd = " ".join(process.info["cmdline"] or [])
        if match(cmd) and process.pid != os.getpid():
            found.append(process)
    return found


def _postgres_cpu() -> float:
    """CPU seconds of every Postgres process, those already gone included.

    Postgres starts a process per connection, and backends come and go during a phase. The
    postmaster reaps them, so its children's times hold the exited ones, and the live ones are
    read directly.
    """
    total = 0.0
    for process in psutil.process_iter(["name", "ppid"]):
        if process.info["name"] != "postgres":
            continue
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
            if psutil.Process(process.info["ppid"]).name() != "postgres":
                total += times.children_user + times.children_system
    return total


_last_cpu: dict[int, float] = {}


def _cpu(processes: list[psutil.Process]) -> float:
    """Summed CPU seconds; a process that has exited counts with its last reading."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            _last_cpu[process.pid] = times.user + times.system
        except psutil.Error:
            pass
        total += _last_cpu.get(process.pid, 0.0)
    return total


async def _drive(
    phase: Phase, count: int, concurrency: int, send: Callable[[int], Awaitable[str]]
) -> None:
    """`count` sends from `concurrency` senders, while the progress line follows closures."""
    next_index = 0

    async def sender() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            began = time.time()
            t0 = time.perf_counter()
            try:
                workflow_id = await send(index)
            except Exception:
                phase.failures += 1
                continue
            phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
            phase.sent[workflow_id] = began

    await asyncio.gather(*(sender() for _ in range(concurrency)))


async def _settle(client: Client, settings: Settings, phase: Phase, timeout_s: float) -> None:
    """Wait until every run of the phase has closed, showing progress, then collect them."""
    since = phase.started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    base = (
        f"TaskQueue = '{settings.task_queue}' AND WorkflowType = '{phase.workflow_type}' "
        f"AND StartTime >= '{since}'"
    )
    progress = Progress(phase.name, len(phase.sent))
    deadline = time.monotonic() + timeout_s
    while True:
        running = (await client.count_workflows(f"{base} AND ExecutionStatus = 'Running'")).count
        closed = (await client.count_workflows(f"{base} AND ExecutionStatus != 'Running'")).count
        phase.worker_peak_in_flight = max(phase.worker_peak_in_flight, running)
        progress.show(len(phase.sent), closed)
        if closed >= len(phase.sent) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    progress.done()
    async for run in client.list_workflows(base):
        if run.id in phase.sent and run.close_time is not None:
            phase.runs.append(
                (
                    run.id,
                    run.status.name if run.status else "?",
                    run.start_time.timestamp(),
                    run.close_time.timestamp(),
                )
            )


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
        "machine_cpu_busy_percent": phase.machine_busy,
        "peak_runs_in_flight": phase.worker_peak_in_flight,
        "wall_s": round(span, 2),
    }


class Bench:
    def __init__(self, options: Options, settings: Settings, client: Client) -> None:
        self.options, self.settings, self.client = options, settings, client
        self.tag = uuid.uuid4().hex[:8]
        self.items = [f"bench-{self.tag}-{i}" for i in range(max(options.lines, 1))]
        self.run = BenchRun(
            self.tag, self.items[: options.lines], settings.aws_region, settings.aws_account
        )

    async def baseline(self) -> Phase:
        phase = Phase("baseline", "BenchNoopWorkflow")
        shape = NoopShape(stages=self.options.load.baseline(self.options.lines))

        async def start(index: int) -> str:
            workflow_id = BENCH_RUNS.of(f"{self.tag}-{index}")
            await self.client.start_workflow(
                BenchNoopWorkflow.run, shape, id=workflow_id, task_queue=self.settings.task_queue
            )
            return workflow_id

        return await self._phase(phase, start)

    async def scenario(
        self,
        http: BenchHttpClient,
        load: BenchScenario | None = None,
        name: str | None = None,
        workflow_type: str | None = None,
    ) -> Phase:
        """A phase of requests through the API: the options' scenario, or the one given."""
        load = load or self.options.load
        phase = Phase(name or self.options.scenario, workflow_type or self.options.workflow_type)
        accepted = 200 if load.target else 202

        async def send(index: int) -> str:
            path = load.path
            response = await http.post(path, load.body(self.run, index), load.target)
            if response.status_code != accepted:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
            temporal = timing_ms(response.server_timing, "temporal")
            if temporal is not None:
                phase.temporal_ms.append(temporal)
            return load.run_id(response.json())

        return await self._phase(phase, send)

    async def setup(self, http: BenchHttpClient) -> None:
        """The AWS API calls the scenario needs first (a state machine to start)."""
        for target, body in self.options.load.setup(self.run) if self.options.load.setup else []:
            answer = await http.post("/", body, target)
            if answer.status_code != 200:
                raise BenchTargetError(f"{target} answered {answer.status_code}: {answer.text}")

    async def _phase(self, phase: Phase, send: Callable[[int], Awaitable[str]]) -> Phase:
        sampler = Sampler()
        phase.started_at = datetime.now(UTC)
        await _drive(phase, self.options.count, self.options.concurrency, send)
        await _settle(self.client, self.settings, phase, self.options.settle_timeout_s)
        sampler.stop(phase)
        return phase


class BenchTargetError(RuntimeError):
    """The stack to measure is not all there; the message says what is missing."""


async def run_bench(options: Options, settings: Settings, database_url: str) -> dict[str, Any]:
    client = await connect_patiently(settings, wait_s=5)
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1 FROM store_items LIMIT 1"))
    except DBAPIError as err:
        await engine.dispose()
        raise BenchTargetError(
            f"the database at {engine.url.render_as_string(hide_password=True)} is not the "
            "stack's: it has no Statewright tables (run `statewright migrate`, or point "
            "DATABASE_URL or STATEWRIGHT_DATA_DIR at the stack)"
        ) from err
    bench = Bench(options, settings, client)
    base_url = settings.reports_api_url
    headers = {}
    if settings.reports_api_key:
        headers["Authorization"] = f"Bearer {settings.reports_api_key.get_secret_value()}"
    try:
        if options.load.per_line:
            async with sessions.begin() as session:
                for item in bench.items:
                    # Both phases order the same items when the baseline is a real flow.
                    phases = 2 if options.versus is not None else 1
                    await set_stock(session, item, phases * options.count + 10)
        print(
            f"bench {options.scenario}: {options.count} runs at concurrency "
            f"{options.concurrency} against {base_url}",
            file=sys.stderr,
        )
        # A client per phase: the API closes connections idle for 5 s, as they are while a
        # phase settles, and a request on a closed one fails. 32 of 1,000 did.
        async with BenchHttpClient(base_url, headers) as http:
            await bench.setup(http)
            if options.versus is not None:
                name, load, workflow_type = options.versus
                baseline = await bench.scenario(http, load, name, workflow_type)
            else:
                baseline = await bench.baseline()
        async with BenchHttpClient(base_url, headers) as http:
            scenario = await bench.scenario(http)
        invariants = await stock_violations(sessions, bench.items) if options.load.per_line else []
    finally:
        await engine.dispose()
    return report(options, baseline, scenario, invariants)


def report(
    options: Options, baseline: Phase, scenario: Phase, violations: list[str]
) -> dict[str, Any]:
    base, real = summarize(baseline), summarize(scenario)
    lines = max(options.lines, 1) if options.load.per_line else 1
    cpu = real["cpu_s"]["worker"] + real["cpu_s"]["server"]
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
            "cpu_vs_baseline": _ratio(cpu, base["cpu_s"]["worker"] + base["cpu_s"]["server"]),
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


def print_table(result: dict[str, Any]) -> None:
    base, real, ratios = result["baseline"], result["scenario_figures"], result["ratios"]
    rows = [
        (
            "runs sent / closed / completed",
            f"{base['sent']} / {base['closed']} / {base['completed']}",
            f"{real['sent']} / {real['closed']} / {real['completed']}",
        ),
        (
            "start or POST latency p50 / p99 / max ms",
            _trio(base["post_latency_ms"]),
            _trio(real["post_latency_ms"]),
        ),
        (
            "start call inside the API p50 / p99 / max ms",
            "",
            _trio(real["api_start_call_ms"]),
        ),
        (
            "runs completed per second",
            f"{base['runs_completed_per_s']}",
            f"{real['runs_completed_per_s']}",
        ),
        (
            "runs closed per second (any outcome)",
            f"{base['runs_closed_per_s']}",
            f"{real['runs_closed_per_s']}",
        ),
        (
            "end to end p50 / p99 ms",
            f"{base['end_to_end_ms']['p50']} / {base['end_to_end_ms']['p99']}",
            f"{real['end_to_end_ms']['p50']} / {real['end_to_end_ms']['p99']}",
        ),
        (
            "CPU s worker / server",
            f"{base['cpu_s']['worker']} / {base['cpu_s']['server']}",
            f"{real['cpu_s']['worker']} / {real['cpu_s']['server']}",
        ),
        (
            "CPU s API / Postgres",
            f"{base['cpu_s']['api']} / {base['cpu_s']['postgres']}",
            f"{real['cpu_s']['api']} / {real['cpu_s']['postgres']}",
        ),
        (
            "CPU s load generator (this process)",
            f"{base['cpu_s']['load_generator']}",
            f"{real['cpu_s']['load_generator']}",
        ),
        (
            "machine CPU busy %",
            f"{base['machine_cpu_busy_percent']}",
            f"{real['machine_cpu_busy_percent']}",
        ),
        ("worker peak RSS MB", f"{base['worker_peak_rss_mb']}", f"{real['worker_peak_rss_mb']}"),
        ("peak runs in flight", f"{base['peak_runs_in_flight']}", f"{real['peak_runs_in_flight']}"),
    ]
    width = max(len(r[0]) for r in rows)
    versus = result["baseline_name"] + (
        " (API)" if result["baseline_name"] != "no-op baseline" else ""
    )
    print(f"\n{'':<{width}}  {versus:>22}  {result['scenario'] + ' (API)':>22}")
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>22}  {b:>22}")
    print()
    figures = [
        (f"throughput vs {result['baseline_name']}", _times(ratios["throughput_vs_baseline"])),
        ("closed runs per second vs baseline", _times(ratios["closed_throughput_vs_baseline"])),
        ("POST p99 vs raw start p99 (baseline phase)", _times(ratios["post_p99_vs_start_p99"])),
        (
            "POST p99 vs the API's own start call p99",
            _times(ratios["post_p99_vs_api_start_call_p99"]),
        ),
        ("CPU (worker + server) vs baseline", _times(ratios["cpu_vs_baseline"])),
        ("CPU (worker + server) per run", f"{result['cpu_per_run_ms']} ms"),
    ]
    if result["cpu_per_line_ms"] is not None:  # orders only: a cart has lines
        figures.append(("CPU per line ordered", f"{result['cpu_per_line_ms']} ms"))
    if result["cpu_per_state_ms"] is not None:  # interpreted: a run enters states
        figures.append(("CPU (worker + server) per state", f"{result['cpu_per_state_ms']} ms"))
    for label, value in figures:
        print(f"{label:<{width}}  {value}")
    invariants = result["invariants"]
    if invariants["checked"]:
        verdict = (
            "hold"
            if not invariants["violations"]
            else "BROKEN: " + "; ".join(invariants["violations"])
        )
        print(f"stock invariants: {verdict}")


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
