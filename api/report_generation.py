"""The asynchronous reporting API's data side: inventory and sales per item, as CSV.

A report is due `min_delay` after it was requested; the first read after that generates it,
under a row lock, so it is generated once and nothing is lost if the API restarts meanwhile.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ReportRow

COLUMNS = ("item_id", "stock", "units_sold", "orders_completed")

PER_ITEM = text(
    """
    SELECT i.item_id, i.stock,
           COALESCE(SUM(l.quantity) FILTER (WHERE o.status = 'COMPLETED'), 0) AS units_sold,
           COUNT(DISTINCT o.order_id) FILTER (WHERE o.status = 'COMPLETED') AS orders_completed
    FROM store_items i
    LEFT JOIN order_lines l ON l.item_id = i.item_id
    LEFT JOIN orders o ON o.order_id = l.order_id
    GROUP BY i.item_id, i.stock
    ORDER BY i.item_id
    """
)


async def request_report(session: AsyncSession, report_id: str, min_delay_s: float) -> None:
    """Record the request; a repeat with the same id (an idempotent retry) changes nothing."""
    await session.execute(
        text(
            "INSERT INTO reports (report_id, status, requested_at, ready_at) "
            "VALUES (:id, 'IN_PROGRESS', now(), now() + make_interval(secs => :delay)) "
            "ON CONFLICT (report_id) DO NOTHING"
        ),
        {"id": report_id, "delay": min_delay_s},
    )


async def current_report(session: AsyncSession, report_id: str) -> ReportRow | None:
    """The report, generated first if it has come due."""
    report = await session.get(ReportRow, report_id, with_for_update=True)
    if report is None or report.status != "IN_PROGRESS":
        return report
    due = await session.scalar(text("SELECT now() >= :ready_at"), {"ready_at": report.ready_at})
    if due:
        report.csv, report.row_count = await _per_item_csv(session)
        report.generated_at = await session.scalar(text("SELECT now()"))
        report.status = "COMPLETED"
    return report


async def _per_item_csv(session: AsyncSession) -> tuple[str, int]:
    rows = (await session.execute(PER_ITEM)).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue(), len(rows)
