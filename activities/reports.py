"""The report runner's steps: talk to the reporting API over HTTP, render, publish."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from jinja2 import Environment, PackageLoader, select_autoescape
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.business_metrics import count, published_now
from core.publisher import PagePublisher
from workflows.contracts import (
    REPORT_FAILED,
    REPORTING_API_REJECTED,
    PublishedReport,
    ReportRunInput,
    ReportStatus,
    ReportTicket,
    StagedFile,
)

PAGE_NAME = "report.html"
HTTP_TIMEOUT = httpx.Timeout(10.0)

_templates = Environment(
    loader=PackageLoader("activities", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def _render(report_id: str, text: str, generated_at: datetime | None) -> tuple[str, int]:
    """The report page for a CSV, and how many rows it shows."""
    header, *rows = list(csv.reader(io.StringIO(text)))
    generated = generated_at or datetime.now(UTC)
    html = _templates.get_template("report.html.j2").render(
        report_id=report_id,
        header=header,
        rows=rows,
        generated_iso=generated.isoformat(),
        generated_text=generated.strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    return html, len(rows)


class ReportActivities:
    """Holds the reporting API's base URL and the page publisher."""

    def __init__(
        self, api_base_url: str, publisher: PagePublisher, api_key: str | None = None
    ) -> None:
        self._base_url = api_base_url.rstrip("/")
        self._publisher = publisher
        # Sent as a header only; never part of an activity's input or result, so never in
        # a workflow history.
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    @activity.defn(name="create_report")
    async def create_report(self, _: ReportRunInput) -> ReportTicket:
        # One report per run, however often this retries: the run id is the idempotency key.
        key = f"report-runner:{activity.info().workflow_run_id}"
        response = await self._call("POST", "/reports", headers={"Idempotency-Key": key})
        body = response.json()
        return ReportTicket(report_id=body["report_id"], status_url=body["status_url"])

    @activity.defn(name="poll_report")
    async def poll_report(self, ticket: ReportTicket) -> ReportStatus:
        status = ReportStatus.model_validate((await self._call("GET", ticket.status_url)).json())
        if status.status == "FAILED":
            raise ApplicationError(
                f"report {ticket.report_id} failed to generate",
                type=REPORT_FAILED,
                non_retryable=True,
            )
        return status

    @activity.defn(name="download_report")
    async def download_report(self, status: ReportStatus) -> StagedFile:
        """Download the report's CSV into the page publisher's staging area."""
        assert status.download_url, "download_report runs only once a download URL exists"
        content = (await self._call("GET", status.download_url)).content
        name = f"{status.report_id}.csv"
        await self._publisher.stage(name, content)
        return StagedFile(
            report_id=status.report_id,
            name=name,
            size_bytes=len(content),
            generated_at=status.generated_at,
        )

    @activity.defn(name="render_report")
    async def render_report(self, staged: StagedFile) -> StagedFile:
        """The staged CSV to a staged HTML page. Autoescaping keeps an item id like
        `<script>` as text."""
        content = await self._publisher.read_staged(staged.name)
        if content is None:
            raise ApplicationError(
                f"the staged CSV {staged.name} is gone", type=REPORT_FAILED, non_retryable=True
            )
        html, rows = _render(staged.report_id, content.decode(), staged.generated_at)
        page = html.encode()
        name = f"{staged.report_id}.html"
        await self._publisher.stage(name, page)
        return StagedFile(
            report_id=staged.report_id,
            name=name,
            size_bytes=len(page),
            generated_at=staged.generated_at,
            row_count=rows,
        )

    @activity.defn(name="publish_report")
    async def publish_report(self, staged: StagedFile) -> PublishedReport:
        """Publish the staged page, then forget the report's working files. A retry after
        the page went up publishes what is there already."""
        content = await self._publisher.read_staged(staged.name)
        if content is not None:
            await self._publisher.publish(PAGE_NAME, content)
            await self._publisher.discard_staged(f"{staged.report_id}.csv")
            await self._publisher.discard_staged(staged.name)
            # Counted once: a retry finds the staged page gone and publishes nothing.
            count("statewright_reports_published")
            published_now(time.time())
        return PublishedReport(
            report_id=staged.report_id,
            location=self._publisher.url(PAGE_NAME, self._base_url),
            row_count=staged.row_count or 0,
            size_bytes=staged.size_bytes,
        )

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Transient trouble (no connection, 5xx) raises a retryable error; a 4xx does not."""
        target = url if url.startswith(("http://", "https://")) else self._base_url + url
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, headers=self._auth) as http:
                response = await http.request(method, target, **kwargs)
        except httpx.TransportError as err:
            raise ApplicationError(
                f"reporting API unreachable at {target}: {err!r}", type="ReportingApiUnavailable"
            ) from err
        if response.status_code >= 500:
            raise ApplicationError(
                f"reporting API answered {response.status_code} for {method} {target}",
                type="ReportingApiUnavailable",
            )
        if response.status_code >= 400:
            raise ApplicationError(
                f"reporting API refused {method} {target}: {response.status_code} "
                f"{response.text[:200]}",
                type=REPORTING_API_REJECTED,
                non_retryable=True,
            )
        return response
