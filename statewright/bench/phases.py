"""One phase of a bench run: sending its load (closed or open loop), waiting until its runs
have closed, and the CPU and memory the stack's processes used meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psutil
from temporalio.client import Client

from core.settings import Settings
from core.temporal import on_task_queues
from statewright.bench.pacing import at_rate


@dataclass
class Phase:
    """One phase's raw observations."""

    name: str
    workflow_type: str
    task_queue: str | None = None
    """Where its runs are found; None: the stack's own task queues, the ordinary one and the
    one the API starts eagerly on."""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    sent: dict[str, float] = field(default_factory=dict)  # workflow id -> wall time sent
    latencies_ms: list[float] = field(default_factory=list)
    temporal_ms: list[float] = field(default_factory=list)
    """What the API reported (`Server-Timing`) for its own start call, request by request."""
    failures: int = 0
    failure_reasons: dict[str, int] = field(default_factory=dict)
    """Why sends failed, by the error's type and first words, with how often."""
    runs: list[tuple[str, str, float, float]] = field(
        default_factory=list
    )  # id, status, start, close
    cpu_s: dict[str, float] = field(default_factory=dict)
    worker_peak_rss_mb: float = 0.0
    api_peak_rss_mb: float = 0.0
    """The API's: it runs the eager starts' workflows and steps (`api.eager`)."""
    worker_peak_in_flight: int = 0
    machine_busy: float = 0.0

    def failed(self, err: Exception) -> None:
        """Count a send that failed, and why: a bench that hides its errors can flatter."""
        self.failures += 1
        reason = f"{type(err).__name__}: {err}"[:100]
        self.failure_reasons[reason] = self.failure_reasons.get(reason, 0) + 1


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
    """CPU seconds of the worker, the API, the Temporal server and Postgres, and the worker's
    and the API's peak memory."""

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
        self.api_peak_rss = 0
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
            self.peak_rss = max(self.peak_rss, _rss(self.workers))
            self.api_peak_rss = max(self.api_peak_rss, _rss(self.apis))

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
        phase.api_peak_rss_mb = round(self.api_peak_rss / 2**20, 1)


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


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


async def drive(
    phase: Phase, count: int, concurrency: int, send: Callable[[int], Awaitable[str]]
) -> None:
    """`count` sends from `concurrency` senders, while the progress line follows closures."""
    next_index = 0

    async def sender() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            await _timed_send(phase, send, index, time.time(), time.perf_counter())

    await asyncio.gather(*(sender() for _ in range(concurrency)))


async def drive_at_rate(
    phase: Phase, rate: float, duration_s: float, send: Callable[[int], Awaitable[str]]
) -> None:
    """Sends on a clock (`pacing.at_rate`); each latency counts from when the send was due."""

    async def one(index: int, due: float) -> None:
        await _timed_send(phase, send, index, time.time() - (time.perf_counter() - due), due)

    await at_rate(rate, duration_s, one)


async def _timed_send(
    phase: Phase,
    send: Callable[[int], Awaitable[str]],
    index: int,
    sent_at: float,
    since: float,
) -> None:
    """Send the `index`-th request; its latency counts from `since`, a perf-counter reading,
    and `sent_at` is when it was sent (or due), in wall time."""
    try:
        workflow_id = await send(index)
    except Exception as err:
        phase.failed(err)
        return
    phase.latencies_ms.append((time.perf_counter() - since) * 1000)
    phase.sent[workflow_id] = sent_at


async def settle(client: Client, settings: Settings, phase: Phase, timeout_s: float) -> None:
    """Wait until every run of the phase has closed, showing progress, then collect them."""
    since = phase.started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    queues = [phase.task_queue] if phase.task_queue is not None else settings.task_queues
    base = (
        f"{on_task_queues(queues)} "
        f"AND WorkflowType = '{phase.workflow_type}' "
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
