"""Run a worker until SIGINT or SIGTERM, then let in-flight activities finish and exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.service import RPCError
from temporalio.worker import (
    Interceptor,
    PollerBehaviorSimpleMaximum,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowRunner,
)

from activities.dependencies import Dependencies
from activities.payment_provider import SimulatedPaymentProvider
from activities.task_handlers import load_task_modules
from core.db import SessionFactory, create_engine, create_session_factory
from core.publisher import configured_publisher
from core.request_id_propagation import RequestIdPropagation
from core.search_attributes import ensure_search_attributes
from core.settings import Settings
from core.temporal import connect_patiently, metrics_runtime
from core.tracing import provider_from_environment, temporal_tracing
from worker.flows import WorkerFlow, activities_of, workflows_of
from worker.interceptors import StepFailures

log = logging.getLogger(__name__)

WORKFLOW_POLLERS = 8
EAGER_QUEUE_POLLERS = 2
"""Pollers on the eager queue. Its runs' first tasks come in the API's start answers; the
queue holds only the tasks that could not: a lost eager task, or a start that found the
API's worker full."""

WORKFLOW_RUNNER: WorkflowRunner = UnsandboxedWorkflowRunner()
"""How production (and every test's worker) runs workflow code. The sandbox re-imports and
guards every run, for about a third more worker CPU (measured with `statewright bench`), so
production runs without it; `tests/test_replay.py` replays every history under the sandbox as
well as under this runner, so non-deterministic workflow code still fails CI."""


def build_worker(
    flows: Sequence[WorkerFlow],
    client: Client,
    task_queue: str,
    deps: Dependencies,
    *,
    activities: Sequence[Callable[..., Any]] | None = None,
    tracing: TracingInterceptor | None = None,
    pollers: int = WORKFLOW_POLLERS,
    remote_activities: bool = True,
) -> Worker:
    """A worker for every workflow of `flows`, and their activities, on `task_queue`. Tests
    pass `activities` to swap some for doubles, and otherwise run exactly this worker.
    `remote_activities=False` runs workflows and local activities only, with no activity
    poller: the API's eager-start worker."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows_of(flows),
        activities=activities_of(flows, deps) if activities is None else activities,
        interceptors=_interceptors(client, tracing),
        graceful_shutdown_timeout=timedelta(seconds=10),
        no_remote_activities=not remote_activities,
        **workflow_task_tuning(pollers),
    )


def workflow_task_tuning(pollers: int = WORKFLOW_POLLERS) -> dict[str, Any]:
    """How a worker here takes and runs workflow tasks: `Worker` keyword arguments, shared
    with the bench's empty-workflow limit so that it measures a worker tuned the same way."""
    return {
        "workflow_runner": WORKFLOW_RUNNER,
        # An order finishes in its first workflow task (its steps are local activities), and
        # first tasks come from the normal queue, which by default gets one poller of five.
        # Measured: runs queued there for seconds while the worker sat partly idle.
        "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(pollers),
        "nonsticky_to_sticky_poll_ratio": 1.0,
    }


def _interceptors(client: Client, tracing: TracingInterceptor | None) -> list[Interceptor]:
    # Outermost first: a step's log lines, StepFailures' too, carry its request id. The
    # worker also runs every interceptor its client has (the API's client carries the request
    # id and the trace), so only what the client lacks is added: twice would set each twice.
    on_client: set[type] = {type(i) for i in client.config()["interceptors"]}
    wanted: list[Interceptor] = [RequestIdPropagation(), *([tracing] if tracing else [])]
    missing = [i for i in wanted if type(i) not in on_client]
    return [*missing, StepFailures()]


def build_workers(
    flows: Sequence[WorkerFlow],
    client: Client,
    settings: Settings,
    deps: Dependencies,
    *,
    tracing: TracingInterceptor | None = None,
) -> list[Worker]:
    """The worker process's workers: every flow on the task queue, and the eager flows (if
    any) on the eager queue. The eager queue is polled whether or not the API starts
    eagerly: a run the API started there must never wait on a setting."""
    workers = [build_worker(flows, client, settings.task_queue, deps, tracing=tracing)]
    if eager := eager_flows(flows):
        workers.append(
            build_worker(
                eager,
                client,
                settings.eager_task_queue,
                deps,
                tracing=tracing,
                pollers=EAGER_QUEUE_POLLERS,
            )
        )
    return workers


def eager_flows(flows: Sequence[WorkerFlow]) -> list[WorkerFlow]:
    """The flows the API may start eagerly, on `Settings.eager_task_queue`."""
    return [flow for flow in flows if flow.eager]


def dependencies(settings: Settings, sessions: SessionFactory) -> Dependencies:
    """The production dependencies, configured from settings."""
    return Dependencies(
        sessions=sessions,
        provider=SimulatedPaymentProvider(
            settings.payment_decline_above, settings.payment_transient_failures
        ),
        reports_api_url=settings.reports_api_url,
        publisher=configured_publisher(settings),
        rng=random.Random(settings.case_random_seed),
        reports_api_key=(
            settings.reports_api_key.get_secret_value() if settings.reports_api_key else None
        ),
    )


async def register_search_attributes(client: Client) -> None:
    """Register the search attributes the API sets on runs, if this server lacks them. A
    server that refuses (no operator rights) gets a warning: an operator must register them,
    or every start carrying them fails."""
    try:
        await ensure_search_attributes(client)
    except RPCError as err:
        log.warning("could not register search attributes (%s); register them by hand", err)


async def run_worker(flows: Sequence[WorkerFlow], settings: Settings, database_url: str) -> None:
    """Serve the task queue until a stop signal arrives."""
    # Every activity retries, so a dead pooled connection costs one attempt. The ping before
    # every statement cost a round trip: a stock check took 0.53 ms of CPU with it and
    # 0.41 ms without, timed over 300 calls against the embedded Postgres.
    # A handler module that fails to import stops the worker here, not at its first task.
    handlers = load_task_modules(settings.task_modules)
    log.info("task handlers: %s", ", ".join(handlers) if handlers else "none")
    engine = create_engine(database_url, pool_size=settings.db_pool_size, pre_ping=False)
    provider = provider_from_environment("statewright-worker")
    try:
        runtime = (
            metrics_runtime(settings.api_host, settings.worker_metrics_port)
            if settings.worker_serves_metrics
            else None
        )
        if runtime is not None:
            log.info(
                "worker metrics at http://%s:%s/metrics",
                settings.api_host,
                settings.worker_metrics_port,
            )
        client = await connect_patiently(settings, runtime=runtime)
        await register_search_attributes(client)
        deps = dependencies(settings, create_session_factory(engine))
        tracing = temporal_tracing(provider) if provider is not None else None
        workers = build_workers(flows, client, settings, deps, tracing=tracing)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "worker polling task queue(s) %s on %s",
            ", ".join(repr(each.config()["task_queue"]) for each in workers),
            settings.temporal_target,
        )
        async with contextlib.AsyncExitStack() as running:
            for each in workers:
                await running.enter_async_context(each)
            await stop.wait()
            log.info("worker stopping: finishing in-flight tasks")
    finally:
        await engine.dispose()
        if provider is not None:
            provider.shutdown()  # the last spans go out before the process ends
