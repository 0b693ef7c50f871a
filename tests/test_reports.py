"""The reporting API, the report runner (time-skipping for its waits), its schedule, the
published page (also in headless Chromium), and the S3 page publisher."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.reports import ReportActivities
from api.app import create_app
from api.schedules import REPORT_SCHEDULE_ID, apply_report_schedule
from core.db import SessionFactory
from core.publisher import LocalPagePublisher, S3PagePublisher
from core.settings import Settings
from statewright.flows import FLOWS
from tests.browser import rendered_dom
from tests.conftest import free_port, serve
from tests.helpers import stock_items, table_rows, wait_for_run, worker_with
from workflows.contracts import ReportRunInput, StagedFile
from workflows.reports import ReportRunnerWorkflow

SCRIPT_ITEM = "<script>alert(1)</script>"


def reporting_settings(settings: Settings, site: Path, delay: float) -> Settings:
    return settings.model_copy(
        update={
            "report_min_delay_seconds": delay,
            "report_wait_seconds": 0.2,
            "report_max_polls": 50,
            "publish_url": str(site),
        }
    )


@asynccontextmanager
async def serve_reporting(
    settings: Settings, database_url: str, client: Client, site: Path, delay: float
) -> AsyncIterator[tuple[str, Settings]]:
    configured = reporting_settings(settings, site, delay)
    async with serve(create_app(FLOWS, configured, database_url, client)) as base:
        yield base, configured


@pytest.fixture
async def reporting(
    settings: Settings, database_url: str, client: Client, tmp_path: Path
) -> AsyncIterator[tuple[str, Settings]]:
    """The app with reports due 0.5 s after they are asked for, publishing to a temp folder."""
    async with serve_reporting(settings, database_url, client, tmp_path / "site", 0.5) as served:
        yield served


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_reporting_api_is_asynchronous(
    reporting: tuple[str, Settings], sessions: SessionFactory, item_prefix: str
) -> None:
    base, _ = reporting
    item = f"{item_prefix}-r"
    await stock_items(sessions, **{item: 7})
    async with httpx.AsyncClient(base_url=base) as http:
        started = await http.post("/reports")
        assert started.status_code == 202
        report_id = started.json()["report_id"]
        assert started.json()["status_url"] == f"/reports/{report_id}"

        early = (await http.get(f"/reports/{report_id}")).json()
        assert (early["status"], early["download_url"]) == ("IN_PROGRESS", None)
        too_soon = await http.get(f"/reports/{report_id}/download")
        assert too_soon.status_code == 409 and "not ready" in too_soon.json()["detail"]
        for path in ("/reports/nope", "/reports/nope/download"):
            assert (await http.get(path)).status_code == 404

        await asyncio.sleep(0.6)
        done = (await http.get(f"/reports/{report_id}")).json()
        assert done["status"] == "COMPLETED"
        assert done["download_url"] == f"{base}/reports/{report_id}/download"
        download = await http.get(done["download_url"])

        keyed = [await http.post("/reports", headers={"Idempotency-Key": "r-1"}) for _ in "ab"]

    assert download.headers["content-type"].startswith("text/csv")
    header, *rows = csv_rows(download.text)
    assert header == ["item_id", "stock", "units_sold", "orders_completed"]
    assert [item, "7", "0", "0"] in rows
    assert done["row_count"] == len(rows)
    assert keyed[0].json() == keyed[1].json(), "the same key asks for the same report"


async def test_runner_end_to_end_publishes_exactly_the_csv_and_escapes(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    item_prefix: str,
    tmp_path: Path,
) -> None:
    a = f"{item_prefix}-a"
    await stock_items(sessions, **{a: 10, SCRIPT_ITEM: 5})
    store = LocalPagePublisher(tmp_path / "site")
    # Due after 1.5 s: the dev server fires short timers at about 1 s, so this takes 2 polls.
    async with (
        serve_reporting(settings, database_url, client, tmp_path / "site", 1.5) as (base, _),
        worker_with(client, task_queue, sessions, reports_api_url=base, publisher=store),
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        for cart in ([(a, 2), (SCRIPT_ITEM, 1)], [(a, 3)]):
            order = {"order": [{"item_id": i, "quantity": q} for i, q in cart]}
            placed = await http.post("/orders", json=order)
            assert (await wait_for_run(http, placed.json()["workflow_id"]))["status"] == "COMPLETED"
        first = await http.post("/report-runner/runs")
        assert first.status_code == 202
        run = await wait_for_run(http, first.json()["workflow_id"])
        page = await http.get("/site/report.html")
        download = await http.get(f"/reports/{run['result']['report_id']}/download")
        second = await http.post("/report-runner/runs")
        await wait_for_run(http, second.json()["workflow_id"])
        previous = await http.get("/site/report.previous.html")

    assert run["status"] == "COMPLETED", run["error"]
    polls = [s for s in run["steps"] if s["name"] == "poll_report"]
    assert len(polls) > 1, "the report outlasts the first wait: the loop loops"
    assert [s["name"] for s in run["steps"]][-3:] == [
        "download_report",
        "render_report",
        "publish_report",
    ]
    assert run["result"]["location"] == f"{base}/site/report.html", "a URL, not a file path"
    assert not list((tmp_path / "site" / ".staging").iterdir()), "working files are cleared"
    _, *rows = csv_rows(download.text)
    assert table_rows(page.text) == rows, "the page holds exactly the CSV's rows"
    assert [a, "5", "5", "2"] in rows
    assert [SCRIPT_ITEM, "4", "1", "1"] in rows
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert SCRIPT_ITEM not in page.text
    assert f'<span id="row-count">{len(rows)}</span>' in page.text
    assert '<time id="generated-at" datetime="' in page.text, "the page says when it was made"
    assert previous.status_code == 200 and previous.text == page.text, "the last page is kept"


async def test_poll_loop_runs_more_than_once_with_time_skipping(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    sessions: SessionFactory,
    task_queue: str,
    tmp_path: Path,
) -> None:
    """Ten-second waits pass in no time; the report is due after 0.3 s of real time."""
    ts_client = time_skipping_env.client
    async with (
        serve_reporting(settings, database_url, ts_client, tmp_path, 0.3) as (base, _),
        worker_with(ts_client, task_queue, sessions, reports_api_url=base),
    ):
        handle = await ts_client.start_workflow(
            ReportRunnerWorkflow.run,
            ReportRunInput(wait_seconds=10, max_polls=10_000),
            id=f"report-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        result = await handle.result()
        polls = await _count_steps(handle, "poll_report")

    assert polls > 1
    assert result.row_count >= 0 and result.location.endswith("report.html")


async def test_report_never_ready_hits_the_poll_bound(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    sessions: SessionFactory,
    task_queue: str,
    tmp_path: Path,
) -> None:
    ts_client = time_skipping_env.client
    async with (
        serve_reporting(settings, database_url, ts_client, tmp_path, 3600) as (base, _),
        worker_with(ts_client, task_queue, sessions, reports_api_url=base),
    ):
        handle = await ts_client.start_workflow(
            ReportRunnerWorkflow.run,
            ReportRunInput(wait_seconds=10, max_polls=3),
            id=f"report-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        polls = await _count_steps(handle, "poll_report")

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == "report not ready after 3 polls"
    assert polls == 3


async def _count_steps(handle: Any, name: str) -> int:
    history = await handle.fetch_history()
    return sum(
        1
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and event.activity_task_scheduled_event_attributes.activity_type.name == name
    )


async def test_runner_4xx_is_not_retried(
    client: Client, task_queue: str, sessions: SessionFactory, reporting: tuple[str, Settings]
) -> None:
    base, _ = reporting
    async with worker_with(client, task_queue, sessions, reports_api_url=f"{base}/nowhere"):
        handle = await client.start_workflow(
            ReportRunnerWorkflow.run,
            ReportRunInput(wait_seconds=0.1, max_polls=2),
            id=f"report-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ReportingApiRejected"
    assert "404" in cause.message


async def test_schedule_is_applied_idempotently_and_fires_the_runner(
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    reporting: tuple[str, Settings],
    tmp_path: Path,
) -> None:
    """The time-skipping server has no Schedules: this runs on the dev server, every 2 s."""
    base, configured = reporting
    schedule_id = f"report-runner-{uuid.uuid4().hex[:8]}"
    store = LocalPagePublisher(tmp_path / "scheduled")
    try:
        first = await apply_report_schedule(
            client, configured, schedule_id=schedule_id, every=timedelta(seconds=2)
        )
        again = await apply_report_schedule(
            client, configured, schedule_id=schedule_id, every=timedelta(seconds=2)
        )
        async with worker_with(client, task_queue, sessions, reports_api_url=base, publisher=store):
            published = None
            for _ in range(150):
                published = await store.read("report.html")
                if published:
                    break
                await asyncio.sleep(0.1)
        description = await client.get_schedule_handle(schedule_id).describe()
    finally:
        await client.get_schedule_handle(schedule_id).delete()

    assert (first.created, again.created) == (True, False)
    assert published is not None, "a scheduled run published the page"
    assert description.schedule.policy.overlap.name == "SKIP"
    runs = [a.action.workflow_id for a in description.info.recent_actions]  # type: ignore[attr-defined]
    assert runs and all(run.startswith(schedule_id) for run in runs)


async def test_schedule_api_shows_pauses_and_resumes(
    http: httpx.AsyncClient, client: Client, settings: Settings
) -> None:
    assert (await http.get("/report-runner/schedule")).status_code == 404
    await apply_report_schedule(client, settings)
    try:
        shown = (await http.get("/report-runner/schedule")).json()
        paused = (await http.post("/report-runner/schedule/pause")).json()
        await apply_report_schedule(client, settings)  # as `statewright up` does on every start
        still = (await http.get("/report-runner/schedule")).json()
        resumed = (await http.post("/report-runner/schedule/resume")).json()
    finally:
        await client.get_schedule_handle(REPORT_SCHEDULE_ID).delete()

    assert shown["schedule_id"] == "report-runner"
    assert shown["cron_expressions"] == ["* * * * *"] and shown["overlap"] == "SKIP"
    assert shown["paused"] is False and len(shown["next_run_times"]) >= 2
    assert paused["paused"] is True and still["paused"] is True, "apply keeps a pause"
    assert paused["next_run_times"] == still["next_run_times"] == [], "a paused schedule runs not"
    assert resumed["paused"] is False and len(resumed["next_run_times"]) >= 2


async def test_site_page_404_until_published(http: httpx.AsyncClient) -> None:
    for path in ("/site/report.html", "/site/secrets.txt"):
        assert (await http.get(path)).status_code == 404


async def test_report_page_in_headless_chromium(
    reporting: tuple[str, Settings], tmp_path: Path, sessions: SessionFactory, item_prefix: str
) -> None:
    base, _ = reporting
    rows = [["sku-1", "8", "2", "1"], [SCRIPT_ITEM, "4", "1", "1"]]
    text = "item_id,stock,units_sold,orders_completed\n" + "\n".join(
        ",".join(f'"{cell}"' for cell in row) for row in rows
    )
    # The real Render and Publish steps make the page, so the browser sees what users see.
    store = LocalPagePublisher(tmp_path / "site")
    steps = ReportActivities(base, store)
    await store.stage("r.csv", text.encode())
    staged = StagedFile(report_id="r", name="r.csv", size_bytes=len(text.encode()))
    await steps.publish_report(await steps.render_report(staged))

    dom = await rendered_dom(f"{base}/site/report.html", tmp_path / "profile")
    assert table_rows(dom) == rows, "the rendered DOM shows the CSV's rows as text"


async def test_s3_publisher_against_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 publishing against moto's S3-compatible server, on this machine."""
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="site")
        store = S3PagePublisher("site", "reports/prod", endpoint_url=endpoint)
        assert await store.read("report.html") is None
        first = await store.publish("report.html", b"<p>one</p>")
        await store.publish("report.html", b"<p>two</p>")
        current, previous = (
            await store.read("report.html"),
            await store.read("report.previous.html"),
        )
    finally:
        server.stop()

    assert first == "s3://site/reports/prod/report.html"
    assert (current, previous) == (b"<p>two</p>", b"<p>one</p>")


async def test_a_large_inventory_keeps_the_history_small(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    item_prefix: str,
    tmp_path: Path,
) -> None:
    """20,000 store items: the CSV and the page are megabytes, and Temporal refuses payloads
    past 2 MB. The runner passes references (a claim check), so its history stays small."""
    async with sessions.begin() as session:
        await session.execute(
            text(
                "INSERT INTO store_items (item_id, stock) "
                "SELECT :p || '-' || n, n % 97 FROM generate_series(1, 20000) AS n"
            ),
            {"p": item_prefix},
        )
    store = LocalPagePublisher(tmp_path / "site")
    try:
        async with (
            serve_reporting(settings, database_url, client, tmp_path / "site", 0.2) as (base, _),
            worker_with(client, task_queue, sessions, reports_api_url=base, publisher=store),
            httpx.AsyncClient(base_url=base, timeout=60) as http,
        ):
            started = await http.post("/report-runner/runs")
            workflow_id = started.json()["workflow_id"]
            run = await wait_for_run(http, workflow_id)
            page = await http.get("/site/report.html")
            history = await client.get_workflow_handle(workflow_id).fetch_history()
    finally:  # later reports in this session need not carry 20,000 rows
        async with sessions.begin() as session:
            await session.execute(
                text("DELETE FROM store_items WHERE item_id LIKE :p || '-%'"), {"p": item_prefix}
            )

    assert run["status"] == "COMPLETED", run["error"]
    assert run["result"]["row_count"] >= 20_000
    assert len(page.content) > 1_000_000
    history_bytes = len(history.to_json())
    print(f"\n20,000+ items: page {len(page.content):,} bytes, history {history_bytes:,} bytes")
    assert history_bytes < 60_000
