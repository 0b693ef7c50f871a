"""Seed 001's four Lambda functions, as task handlers: `CreateReport`, `PollReport`,
`DownloadReport` and `UpdateSite`, against our own reporting API over HTTP.

The work is the hand-written `ReportActivities`' own, called as they are, with the worker's
reporting API URL and key and its page publisher, so each step keeps their guarantees. The
data flowing between the states (the seed's plain Lambda tasks hand each output on as the next
input) is:

- CreateReport: `{}` -> `{"report_id", "status_url"}`. One report per execution run, however
  often it is retried (the run id is the `Idempotency-Key` of `POST /reports`).
- PollReport: that, or its own output (the seed's Choice loops back through the Wait) ->
  `{"report_id", "status_url", "status", "download_url", "generated_at"}`, `download_url`
  null until the report is COMPLETED. A report that FAILED is the error `ReportFailed`.
- DownloadReport: -> `{"report_id", "name", "size_bytes", ...}`. The CSV is staged with the
  page publisher and only its name travels on, since state data is limited to 256 KiB and an
  inventory's CSV is not.
- UpdateSite: renders the staged CSV as an escaped HTML table, publishes it as the report
  page, and returns `{"report_id", "location", "row_count", "size_bytes"}`.

Failures follow DESIGN.md section 1. The reporting API refusing a request (a 4xx) is the
task's error `ReportingApiRejected`, as the hand-written run names it, and fails the
execution (the seed's states have no Retry). The reporting API being away (no connection, a
timeout, a 5xx) is an infrastructure error: the call is tried again below the state, with
backoff of up to 30 s, until the API is back or the state's `TimeoutSeconds` ends; the seed
sets none, so an accepted execution waits for the API and then does its work. An execution
that must fail on an outage needs a `TimeoutSeconds` on its states (`States.Timeout`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from activities.reports import ReportActivities
from activities.task_handlers import TaskContext, lambda_error, task
from core.publisher import PagePublisher
from workflows.contracts import (
    ReportRunInput,
    ReportStatus,
    ReportTicket,
    StagedFile,
)

M = TypeVar("M", bound=BaseModel)


class InvalidReportInput(Exception):
    """The input is not what the state before this one returns."""


def _publisher(context: TaskContext) -> PagePublisher:
    if context.publisher is None:
        raise RuntimeError("this handler needs the worker's page publisher")
    return context.publisher


def _reports(context: TaskContext) -> ReportActivities:
    if not context.reports_api_url:
        raise RuntimeError("this handler needs the reporting API's URL")
    return ReportActivities(context.reports_api_url, _publisher(context), context.reports_api_key)


def _parse(model: type[M], event: Any, expected: str) -> M:
    try:
        return model.model_validate(event)
    except ValidationError:
        raise InvalidReportInput(f"the input must be {expected}") from None


@task("CreateReport")
async def create_report(event: Any, context: TaskContext) -> dict[str, Any]:
    """Ask the reporting API for a report; answer what PollReport needs to follow it."""
    try:
        ticket = await _reports(context).create_report(ReportRunInput())
    except ApplicationError as err:
        raise lambda_error(err) from None
    return ticket.model_dump(mode="json")


@task("PollReport")
async def poll_report(event: Any, context: TaskContext) -> dict[str, Any]:
    """The report's status, with `download_url` null until it is ready, and the ticket
    again, so that a poll that loops back has what it needs."""
    ticket = _parse(ReportTicket, event, "CreateReport's output: {'report_id', 'status_url'}")
    try:
        status = await _reports(context).poll_report(ticket)
    except ApplicationError as err:
        raise lambda_error(err) from None
    return {**ticket.model_dump(mode="json"), **status.model_dump(mode="json")}


@task("DownloadReport")
async def download_report(event: Any, context: TaskContext) -> dict[str, Any]:
    """Fetch the CSV into the publisher's staging area; answer a reference to it."""
    status = _parse(ReportStatus, event, "PollReport's output, with a download_url")
    if status.download_url is None:
        raise InvalidReportInput("the report has no download_url yet: poll until it has one")
    try:
        staged = await _reports(context).download_report(status)
    except ApplicationError as err:
        raise lambda_error(err) from None
    return staged.model_dump(mode="json")


@task("UpdateSite")
async def update_site(event: Any, context: TaskContext) -> dict[str, Any]:
    """Render the staged CSV as the report page and publish it."""
    staged = _parse(StagedFile, event, "DownloadReport's output: {'report_id', 'name', ...}")
    reports = _reports(context)
    try:
        if await _publisher(context).read_staged(staged.name) is not None:
            page = await reports.render_report(staged)
        else:
            # A run of this call that was never recorded published the page and forgot the
            # working files: publishing again finds nothing staged and reports the page as
            # it is (its row count unknown, so 0).
            page = staged.model_copy(update={"name": f"{staged.report_id}.html"})
        published = await reports.publish_report(page)
    except ApplicationError as err:
        raise lambda_error(err) from None
    return published.model_dump(mode="json")
