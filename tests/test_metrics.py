"""`GET /metrics`: the API's Prometheus metrics move by exactly what happened."""

from __future__ import annotations

import math
import socket
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.business_metrics import COUNTERS, PUBLISHED_AT
from activities.orders import OrderActivities
from api.app import create_app
from api.metrics import ApiMetrics, MetricsMiddleware
from core.db import SessionFactory
from core.models import SupportCaseRow
from core.settings import Settings
from core.temporal import DATA_CONVERTER, metrics_runtime
from statewright.flows import FLOWS
from statewright.supervisor import metrics_lines
from tests.conftest import REPO, free_port, serve
from tests.helpers import api_routes, stock_items, wait_for_run, worker_with
from tests.sfn.aws import Aws
from workflows.bench import BenchNoopWorkflow
from workflows.contracts import NoopShape, OrderRef, OrderState
from workflows.state_machines import EXECUTIONS_METRIC

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient) -> Samples:
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def client_serving_metrics(temporal_env: WorkflowEnvironment) -> tuple[Client, int]:
    """A client whose SDK runtime serves its metrics, as the worker's does; and the port."""
    port = free_port()
    runtime = metrics_runtime("127.0.0.1", port)
    assert runtime is not None
    target = temporal_env.client.service_client.config.target_host
    client = await Client.connect(target, data_converter=DATA_CONVERTER, runtime=runtime)
    return client, port


async def test_requests_are_counted_by_route_template_status_and_reason(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 5})
    before = await scrape(http)

    started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
    assert started.status_code == 202
    await wait_for_run(http, started.json()["workflow_id"])
    order = await http.get(f"/orders/{started.json()['order_id']}")
    assert order.status_code == 200
    invalid = await http.post("/orders", json={"order": [{"item_id": item, "qty": 1}]})
    assert invalid.status_code == 422
    not_json = await http.post("/webhooks", content=b"x", headers={"content-type": "text/plain"})
    assert not_json.status_code == 415

    after = await scrape(http)
    requests = "statewright_http_requests_total"
    assert moved(before, after, requests, route="/orders", method="POST", status="202") == 1
    assert moved(before, after, requests, route="/orders", method="POST", status="422") == 1
    assert (
        moved(before, after, requests, route="/orders/{order_id}", method="GET", status="200") == 1
    )
    assert not any(started.json()["order_id"] in str(key) for key in after), "ids never label"
    rejected = "statewright_http_rejected_requests_total"
    assert moved(before, after, rejected, reason="invalid") == 1
    assert moved(before, after, rejected, reason="unsupported_media_type") == 1
    assert moved(before, after, rejected, reason="rate_limited") == 0
    latency = "statewright_http_request_duration_seconds_count"
    assert moved(before, after, latency, route="/orders", method="POST") == 2
    starts = "statewright_temporal_start_duration_seconds_count"
    assert moved(before, after, starts, route="/orders") == 1, "only the accepted start"


async def test_the_worker_serves_the_sdks_own_metrics(
    temporal_env: WorkflowEnvironment, sessions: SessionFactory
) -> None:
    """`metrics_runtime` gives the worker's client the SDK's Prometheus endpoint: after one
    workflow run it reports workflow and activity task latencies and its slots."""
    client, port = await client_serving_metrics(temporal_env)
    queue = f"metrics-{uuid.uuid4().hex}"
    async with worker_with(client, queue, sessions):
        await client.execute_workflow(
            BenchNoopWorkflow.run, NoopShape(stages=[1]), id=f"bench-noop-{queue}", task_queue=queue
        )
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    names = {family.name for family in text_string_to_metric_families(text)}
    for expected in (
        "temporal_workflow_completed",
        "temporal_workflow_task_execution_latency",
        "temporal_activity_execution_latency",
        "temporal_worker_task_slots_available",
    ):
        assert expected in names, sorted(names)


async def test_cases_waiting_for_tier2_are_read_from_postgres_at_each_scrape(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    """A case that has waited an hour shows in the count and the oldest wait; once tier 2
    answers it, it leaves both. Nothing is kept in the API process."""
    waiting = "statewright_cases_waiting_for_tier2"
    oldest = "statewright_cases_waiting_for_tier2_oldest_seconds"
    case_id = f"metrics-{uuid.uuid4().hex[:12]}"
    before = await scrape(http)
    async with sessions() as session, session.begin():
        session.add(
            SupportCaseRow(
                case_id=case_id,
                status="AWAITING_TIER2",
                message="waiting",
                workflow_id=f"case-{case_id}",
                run_id="r",
                updated_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )
    during = await scrape(http)
    assert moved(before, during, waiting) == 1
    assert during[(oldest, ())] >= 3600
    async with sessions() as session, session.begin():
        row = await session.get(SupportCaseRow, case_id)
        assert row is not None
        row.status = "RESOLVED"
    after = await scrape(http)
    assert moved(before, after, waiting) == 0
    assert after[(oldest, ())] < 3600


async def test_a_scrape_answers_while_postgres_is_away(client: Client) -> None:
    """The HTTP counters matter most during an outage: the scrape answers 200, and the
    count it cannot read is NaN, not 0, which would read as 'nobody is waiting'."""
    app = create_app(FLOWS, Settings(), "postgresql+psycopg://nobody@127.0.0.1:1/none", client)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as away:
        samples = await scrape(away)
    assert math.isnan(samples[("statewright_cases_waiting_for_tier2", ())])


def test_metrics_off_drops_the_route_the_middleware_and_the_workers_endpoint() -> None:
    """`STATEWRIGHT_METRICS=off` is what the overhead bench compares against, so it must
    really remove the work, not just hide the page."""
    for value, served in (("on", True), ("off", False)):
        settings = Settings.model_validate({"STATEWRIGHT_METRICS": value})
        app = create_app(FLOWS, settings, "postgresql+psycopg://unused/none")
        paths = {route.path for route in api_routes(app)}
        assert ("/metrics" in paths) is served, value
        layers: set[object] = {layer.cls for layer in app.user_middleware}
        assert (MetricsMiddleware in layers) is served, value
        assert settings.worker_serves_metrics is served, value
        banner = metrics_lines(settings, "http://127.0.0.1:8000")
        assert ("http://127.0.0.1:8000/metrics (API)" in banner) is served, banner
        assert (":9464/metrics (worker)" in banner) is served, banner
        assert ":7235/metrics (Temporal)" in banner, "the dev server always serves its own"


def test_a_taken_port_turns_worker_metrics_off_not_the_worker() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert metrics_runtime("127.0.0.1", taken.getsockname()[1]) is None
    assert metrics_runtime("127.0.0.1", 0) is None


def business(samples: Samples, name: str) -> float:
    """A business counter's total over all its labels (workflow and activity types)."""
    return sum(value for (sample, _), value in samples.items() if sample == f"{name}_total")


async def test_business_counters_move_once_per_effect(
    temporal_env: WorkflowEnvironment,
    api: str,
    http: httpx.AsyncClient,
    sessions: SessionFactory,
    task_queue: str,
    item_prefix: str,
) -> None:
    """One completed order, one declined payment and one state machine execution, through
    the API, on a worker whose client serves its metrics: each counter moves by exactly what
    happened."""
    client, port = await client_serving_metrics(temporal_env)
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 5})

    aws = Aws(api)
    machine = await aws.machine(
        f"metrics-{uuid.uuid4().hex[:8]}",
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    )
    async with worker_with(client, task_queue, sessions):
        before = await scrape_worker(port)
        execution = await aws("start_execution", stateMachineArn=machine, input="{}")
        assert (await aws.finished(execution["executionArn"]))["status"] == "SUCCEEDED"
        order = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 2}]})
        paid = await http.post(
            "/payments",
            json={"order": {"order_id": f"o-{uuid.uuid4().hex[:8]}", "amount": "5000.00"}},
        )
        assert (await wait_for_run(http, order.json()["workflow_id"]))["status"] == "COMPLETED"
        assert (await wait_for_run(http, paid.json()["workflow_id"]))["status"] == "FAILED"
        after = await scrape_worker(port)

    def moved_by(name: str) -> float:
        return business(after, name) - business(before, name)

    assert moved_by("statewright_orders_completed") == 1
    assert moved_by("statewright_payments_declined") == 1
    assert moved_by(EXECUTIONS_METRIC) == 1
    for untouched in (
        "statewright_orders_failed",
        "statewright_orders_compensated",
        "statewright_stock_check_rejections",
        "statewright_payments_charged",
    ):
        assert moved_by(untouched) == 0, untouched


async def test_a_retried_effect_is_counted_once(
    temporal_env: WorkflowEnvironment,
    http: httpx.AsyncClient,
    sessions: SessionFactory,
    task_queue: str,
    item_prefix: str,
) -> None:
    """The completion commits, then its attempt is lost (it raises after the commit): the
    retry finds the order completed and counts nothing."""
    client, port = await client_serving_metrics(temporal_env)
    real = OrderActivities(sessions)
    attempts: list[int] = []

    @activity.defn(name="complete_order")
    async def complete_then_lose(ref: OrderRef) -> OrderState:
        attempts.append(activity.info().attempt)
        done = await real.complete_order(ref)
        if len(attempts) == 1:
            raise ApplicationError("the answer was lost after the commit")
        return done

    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 5})
    async with worker_with(client, task_queue, sessions, complete_then_lose):
        before = await scrape_worker(port)
        order = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
        assert (await wait_for_run(http, order.json()["workflow_id"]))["status"] == "COMPLETED"
        after = await scrape_worker(port)
    assert len(attempts) == 2
    completed = "statewright_orders_completed"
    assert business(after, completed) - business(before, completed) == 1


async def scrape_worker(port: int) -> Samples:
    async with httpx.AsyncClient() as scraper:
        text = (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_docs_list_every_metric_statewright_defines() -> None:
    docs = (REPO / "docs" / "metrics.md").read_text()
    api = ApiMetrics()
    names = [
        f"{family.name}_total" if family.type == "counter" else family.name
        for family in api.registry.collect()
    ]
    names += [f"{name}_total" for name in COUNTERS]
    names += [PUBLISHED_AT, f"{EXECUTIONS_METRIC}_total"]
    missing = [name for name in names if f"`{name}`" not in docs]
    assert missing == [], missing
