"""`GET /metrics`: the API's metrics in the Prometheus text format (`api.metrics`)."""

from __future__ import annotations

import logging
import math

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.auth import require
from api.deps import SessionDep
from api.metrics import ApiMetrics
from core.models import SupportCaseRow

log = logging.getLogger(__name__)

_WAITING = (
    select(func.count(), func.extract("epoch", func.now() - func.min(SupportCaseRow.updated_at)))
    .select_from(SupportCaseRow)
    .where(SupportCaseRow.status == "AWAITING_TIER2")
)


def metrics_router(metrics: ApiMetrics) -> APIRouter:
    """The scrape endpoint. With API keys on it needs `runs:read`, as the runs do: the
    counts tell how the service is used. Prometheus sends the key as a bearer token
    (`authorization` in its scrape config)."""
    router = APIRouter(tags=["health"])

    @router.get(
        "/metrics",
        dependencies=[require("runs:read")],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def scrape(session: SessionDep) -> Response:
        """Requests by route template, method and status; their latency; the time start
        routes spent in Temporal; requests turned away, by reason; and the support cases
        waiting for tier 2."""
        waiting, oldest = math.nan, math.nan
        try:
            count, age = (await session.execute(_WAITING)).one()
            waiting, oldest = float(count), float(age or 0)
        except SQLAlchemyError as err:
            # A scrape during an outage still answers: the HTTP counters matter most then.
            log.warning("metrics: cases waiting for tier 2 not counted (%s)", type(err).__name__)
        metrics.cases_waiting.set(waiting)
        metrics.oldest_wait.set(oldest)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
