"""The API's own metrics, served at `GET /metrics` in the Prometheus text format.

Every request is counted by its route template (`/orders/{order_id}`, never the id itself, so
the label set stays bounded), method and status, and timed. The time a start spent in
Temporal comes from the `Server-Timing` header that start routes already answer with
(`api.starts.accepted`), so no route needs to know about metrics. Requests the API turned
away are counted again by reason.

Each app has a registry of its own: tests build many apps in one process, and the default
global registry would refuse the second app's metrics.
"""

from __future__ import annotations

import re
import time
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REJECTED: Final = {
    401: "unauthenticated",
    403: "forbidden",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}
"""The statuses that mean the API turned a request away, and the reason each is counted as."""

LATENCY_BUCKETS: Final = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TEMPORAL_TIMING: Final = re.compile(rb"temporal;dur=([0-9.]+)")


class ApiMetrics:
    """The API's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "statewright_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "statewright_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.start_latency = Histogram(
            "statewright_temporal_start_duration_seconds",
            "Time a start route spent in Temporal starting the run.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "statewright_http_rejected_requests",
            "Requests turned away, by reason: " + ", ".join(sorted(set(REJECTED.values()))),
            ["reason"],
            registry=self.registry,
        )
        for reason in REJECTED.values():
            self.rejected.labels(reason)  # every reason shows, at 0, before it first happens
        # Read from Postgres at each scrape: a count kept in a process would be wrong after
        # every restart, and cases wait for days.
        self.cases_waiting = Gauge(
            "statewright_cases_waiting_for_tier2",
            "Support cases waiting for tier 2 now (NaN: the database did not answer).",
            registry=self.registry,
        )
        self.oldest_wait = Gauge(
            "statewright_cases_waiting_for_tier2_oldest_seconds",
            "How long the longest-waiting case has waited for tier 2 (0: none waits).",
            registry=self.registry,
        )


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500
        temporal_ms: float | None = None

        async def observed(message: Message) -> None:
            nonlocal status, temporal_ms
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"server-timing":
                        found = _TEMPORAL_TIMING.search(value)
                        if found:
                            temporal_ms = float(found.group(1))
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = _route_of(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - began)
            if temporal_ms is not None:
                self.metrics.start_latency.labels(route).observe(temporal_ms / 1000)
            if status in REJECTED:
                self.metrics.rejected.labels(REJECTED[status]).inc()


def _route_of(scope: Scope) -> str:
    """The matched route's template; requests that matched none share one label."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
