"""`GET /metrics`: the API's metrics in the Prometheus text format (`api.metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import require
from api.metrics import ApiMetrics


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
    async def scrape() -> Response:
        """Requests by route template, method and status; their latency; the time start
        routes spent in Temporal; and requests turned away, by reason."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
