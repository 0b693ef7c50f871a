"""Seed 001: Create report, Wait, Poll (loop back to Wait while not ready), Download, and
Update site, which here is Render then Publish. A Temporal Schedule runs it every minute."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        REPORT_FAILED,
        REPORT_NOT_READY,
        REPORTING_API_REJECTED,
        PublishedReport,
        ReportRunInput,
        ReportStatus,
        ReportTicket,
        StagedFile,
    )
    from workflows.step_functions import catch, fail, regular_step, step_policy

BUSINESS_ERRORS = (REPORT_FAILED, REPORTING_API_REJECTED)
STEP_RETRY = step_policy(*BUSINESS_ERRORS)


@workflow.defn(name="ReportRunnerWorkflow")
class ReportRunnerWorkflow:
    """Asks for a report, polls until it is ready (bounded), and publishes it as a page.

    Every step calls the reporting API or the page publisher, so every step is a regular activity.
    """

    @workflow.run
    async def run(self, request: ReportRunInput) -> PublishedReport:
        return await catch(self._run(request), BUSINESS_ERRORS)

    @staticmethod
    async def _run(request: ReportRunInput) -> PublishedReport:
        ticket = await regular_step("create_report", request, ReportTicket, STEP_RETRY)
        status: ReportStatus | None = None
        for _ in range(request.max_polls):
            await workflow.sleep(timedelta(seconds=request.wait_seconds))
            status = await regular_step("poll_report", ticket, ReportStatus, STEP_RETRY)
            if status.download_url is not None:
                break
        if status is None or status.download_url is None:  # every poll said "not yet"
            raise fail(REPORT_NOT_READY, f"report not ready after {request.max_polls} polls")
        # The CSV and the page travel as references to the page publisher, not as documents: a
        # large inventory made payloads past Temporal's limits.
        csv_file = await regular_step("download_report", status, StagedFile, STEP_RETRY)
        page_file = await regular_step("render_report", csv_file, StagedFile, STEP_RETRY)
        return await regular_step("publish_report", page_file, PublishedReport, STEP_RETRY)
