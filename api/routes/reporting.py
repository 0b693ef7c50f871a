"""A stand-in for the asynchronous reporting API that seed 001's runner polls: a third party
in the seed, served here so the runner has something real to call. Ask for a report, poll
it until it is generated, download it as CSV."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response

from api.auth import require
from api.deps import SessionDep, SettingsDep
from api.report_generation import current_report, request_report
from api.schemas import (
    PRINTABLE,
    ErrorOut,
    ReportAccepted,
    ReportOut,
    json_error,
)
from api.starts import IdempotencyKey, run_key
from core.models import ReportRow

TAG = "reporting API (stand-in)"
router = APIRouter(prefix="/reports", tags=[TAG])

ReportId = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}


@router.post(
    "", dependencies=[require("reports:write")], status_code=202, response_model=ReportAccepted
)
async def create_report(
    session: SessionDep, settings: SettingsDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Ask for a report of inventory and sales per item. It is generated asynchronously."""
    report_id = run_key("reports", key) if key else uuid.uuid4().hex
    async with session.begin():
        await request_report(session, report_id, settings.report_min_delay_seconds)
    body = ReportAccepted(report_id=report_id, status_url=f"/reports/{report_id}")
    return JSONResponse(status_code=202, content=body.model_dump())


@router.get(
    "/{report_id}",
    dependencies=[require("runs:read")],
    response_model=ReportOut,
    responses=NOT_FOUND,
)
async def get_report(report_id: ReportId, request: Request, session: SessionDep) -> ReportOut:
    """IN_PROGRESS until the report is generated; then COMPLETED with a `download_url`."""
    async with session.begin():
        report = await _found(session, report_id)
    ready = report.status == "COMPLETED"
    return ReportOut(
        report_id=report.report_id,
        status=report.status,
        download_url=str(request.url_for("download_report", report_id=report_id))
        if ready
        else None,
        requested_at=report.requested_at,
        generated_at=report.generated_at,
        row_count=report.row_count,
    )


@router.get(
    "/{report_id}/download",
    dependencies=[require("runs:read")],
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "the report as CSV, with a header row",
        },
        404: json_error("unknown report"),
        409: json_error("the report is not ready yet"),
    },
)
async def download_report(report_id: ReportId, session: SessionDep) -> Response:
    async with session.begin():
        report = await _found(session, report_id)
    if report.status != "COMPLETED" or report.csv is None:
        raise HTTPException(status_code=409, detail=f"report {report_id!r} is not ready yet")
    return Response(
        content=report.csv,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="report-{report_id}.csv"'},
    )


async def _found(session: SessionDep, report_id: str) -> ReportRow:
    report = await current_report(session, report_id)
    if report is None:
        raise HTTPException(status_code=404, detail=f"report {report_id!r} not found")
    return report
