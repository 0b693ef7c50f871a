"""`statewright bench`: load a running stack through its HTTP API, with a same-run baseline
and the empty-workflow limit.

Each closed-loop run has three phases on the same Temporal server:

1. **Limit.** `BenchEmptyWorkflow`, which does nothing, started raw on a task queue served by
   a worker in this process: what Temporal itself needs for a run.
2. **Baseline.** `BenchNoopWorkflow`, a no-op workflow made of regular activities shaped like
   the scenario (for a 2-line cart: 2 in parallel, then 3 in parallel), started with raw
   `client.start_workflow` calls on the stack's worker. This gives the raw start latency and
   a naive build's throughput.
3. **Scenario.** The same count of real requests through the HTTP API, at the same
   concurrency.

An open-loop run (`Options.rate`) has the scenario only, sent on a clock.

Absolute figures on a shared 2-core machine are noise; the ratios are the figures. Runs are
found afterwards through visibility, so measuring adds no load while the phase runs.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client
from temporalio.worker import Worker

from core.db import create_engine, create_session_factory
from core.settings import Settings
from core.stock import set_stock
from core.temporal import connect_patiently
from statewright.bench.figures import report, report_open_loop
from statewright.bench.http_client import BenchHttpClient, timing_ms
from statewright.bench.invariants import stock_violations
from statewright.bench.options import Options
from statewright.bench.phases import Phase, Sampler, drive, drive_at_rate, settle
from statewright.bench.scenarios import BenchRun, BenchScenario
from worker.main import workflow_task_tuning
from workflows.bench import BenchEmptyWorkflow, BenchNoopWorkflow
from workflows.contracts import NoopShape
from workflows.ids import BENCH_RUNS, LIMIT_RUNS


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

    async def limit(self) -> Phase:
        """The empty-workflow limit: `BenchEmptyWorkflow` started raw, on a task queue of its
        own served by a worker in this process, so nothing but Temporal's own work is timed.
        The worker is tuned as the stack's is (pollers, no sandbox): the SDK's defaults would
        hold the limit down with one poller on the normal queue, a bar too easy to pass."""
        queue = f"{self.settings.task_queue}-limit-{self.tag}"
        phase = Phase("limit", "BenchEmptyWorkflow", task_queue=queue)

        async def start(index: int) -> str:
            workflow_id = LIMIT_RUNS.of(f"{self.tag}-{index}")
            await self.client.start_workflow(
                BenchEmptyWorkflow.run, {"index": index}, id=workflow_id, task_queue=queue
            )
            return workflow_id

        async with Worker(
            self.client,
            task_queue=queue,
            workflows=[BenchEmptyWorkflow],
            **workflow_task_tuning(),
        ):
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
        wait = self.options.wait and load.waits
        accepted = 200 if load.target or wait else 202
        path = load.path + ("?wait=true" if wait else "")

        async def send(index: int) -> str:
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
        if self.options.rate is not None:
            await drive_at_rate(phase, self.options.rate, self.options.duration_s, send)
        else:
            await drive(phase, self.options.count, self.options.concurrency, send)
        await settle(self.client, self.settings, phase, self.options.settle_timeout_s)
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
        loop = (
            f"{options.rate}/s for {options.duration_s:g} s, open loop"
            if options.rate is not None
            else f"{options.count} runs at concurrency {options.concurrency}"
        )
        print(f"bench {options.scenario}: {loop}, against {base_url}", file=sys.stderr)
        if options.open_loop:
            # Latency below saturation: the scenario alone, so nothing else loads the stack.
            async with BenchHttpClient(base_url, headers) as http:
                await bench.setup(http)
                scenario = await bench.scenario(http)
            violations = (
                await stock_violations(sessions, bench.items) if options.load.per_line else []
            )
            return report_open_loop(options, scenario, violations)
        # A client per phase: the API closes connections idle for 5 s, as they are while a
        # phase settles, and a request on a closed one fails. 32 of 1,000 did.
        limit = await bench.limit()
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
    return report(options, baseline, scenario, invariants, limit)
