"""Seed 001: Create report, Wait, Poll (loop back to Wait while not ready), Download, and
Update site, which here is Render then Publish. A Temporal Schedule runs it every minute."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

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
    from workflows.failures import expected, run_failure
    from workflows.retry import step_policy
    from workflows.steps import regular_step

T = TypeVar("T")
BUSINESS_ERRORS = (REPORT_FAILED, REPORTING_API_REJECTED)
STEP_RETRY = step_policy(*BUSINESS_ERRORS)


@workflow.defn(name="ReportRunnerWorkflow")
class ReportRunnerWorkflow:
    """Asks for a report, polls until it is ready (bounded), and publishes it as a page."""

    @workflow.run
    async def run(self, request: ReportRunInput) -> PublishedReport:
        try:
            ticket = await self._step("create_report", request, ReportTicket)
            status: ReportStatus | None = None
            for _ in range(request.max_polls):
                await workflow.sleep(timedelta(seconds=request.wait_seconds))
                status = await self._step("poll_report", ticket, ReportStatus)
                if status.download_url is not None:
                    break
            if status is None or status.download_url is None:  # every poll said "not yet"
                raise expected(
                    ApplicationError(
                        f"report not ready after {request.max_polls} polls",
                        type=REPORT_NOT_READY,
                        non_retryable=True,
                    )
                )
            # The CSV and the page travel as references to the site store, not as documents:
            # a large inventory made payloads past Temporal's limits.
            csv_file = await self._step("download_report", status, StagedFile)
            page_file = await self._step("render_report", csv_file, StagedFile)
            published = await self._step("publish_report", page_file, PublishedReport)
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise
            raise run_failure(err, BUSINESS_ERRORS) from err
        return published

    @staticmethod
    async def _step(activity: str, arg: object, result_type: type[T]) -> T:
        return await regular_step(activity, arg, result_type, STEP_RETRY)
