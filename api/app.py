"""The FastAPI application factory. The lifespan owns the engine and the Temporal client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client

from api import errors
from api.auth import AUTH_RESPONSES, KeyRing, RateLimiter
from api.deps import AppState
from api.eager import EagerStarts, WorkerFactory
from api.flows import ApiFlow, scopes, workflow_types
from api.gateway import TemporalGateway
from api.limits import BodyLimits
from api.metrics import ApiMetrics, MetricsMiddleware
from api.pages import pages_router
from api.query import known_query_only
from api.request_ids import RequestIds
from api.routes import health, inspector, reporting, runs, site, store
from api.routes.metrics import metrics_router
from api.routes.runs import listing_router
from api.sfn.sigv4 import load_credentials
from api.step_inputs import StepInputs
from core.db import create_engine, create_session_factory
from core.publisher import configured_publisher
from core.settings import Settings
from core.tracing import provider_from_environment, temporal_tracing
from core.version import VERSION


def create_app(
    flows: Sequence[ApiFlow],
    settings: Settings,
    database_url: str,
    client: Client | None = None,
    tracer_provider: TracerProvider | None = None,
    eager_worker: WorkerFactory | None = None,
) -> FastAPI:
    """Build the API for the workflows declared in `flows` (the manifest,
    `statewright.flows`). Pass `client` to share an already connected Temporal client, and
    `tracer_provider` to trace (else tracing follows `OTEL_EXPORTER_OTLP_ENDPOINT`).
    `eager_worker` builds the worker that lets the API start runs eagerly (`api.eager`);
    without it, every start is ordinary."""
    tracing = tracer_provider or provider_from_environment("statewright-api")
    keys = KeyRing(settings.api_keys, known_scopes=scopes(flows))
    step_inputs = StepInputs([flow.workflow for flow in flows])
    # A bad credentials file stops the API at start, not at its first AWS request.
    path = settings.sfn_credentials_file
    sfn_credentials = load_credentials(path) if path is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(database_url, pool_size=settings.db_pool_size)
        sessions = create_session_factory(engine)
        eager = EagerStarts(eager_worker, settings.eager_task_queue)
        # The eager runs' steps get a pool of their own, as the worker's: a request never
        # waits behind steps for a connection, and steps, which retry, skip the pre-ping.
        steps_engine = (
            create_engine(database_url, pool_size=settings.db_pool_size, pre_ping=False)
            if eager_worker is not None
            else engine
        )
        app.state.statewright = AppState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            temporal=TemporalGateway(
                settings,
                client,
                [temporal_tracing(tracing)] if tracing else [],
                on_connect=lambda connected: eager.attach(
                    connected, create_session_factory(steps_engine)
                ),
            ),
            publisher=configured_publisher(settings),
            keys=keys,
            limiter=RateLimiter(settings.rate_limit_per_minute),
            step_inputs=step_inputs,
            eager=eager,
            sfn_credentials=sfn_credentials,
        )
        try:
            yield
        finally:
            # Eager tasks in hand finish before the engine their steps use goes away.
            await eager.close()
            await steps_engine.dispose()
            await engine.dispose()

    keys_on = bool(settings.api_keys)
    app = FastAPI(
        title="Statewright",
        summary="AWS Step Functions tutorial workflows, run as durable Temporal workflows.",
        version=VERSION,
        lifespan=lifespan,
        # FastAPI's own docs pages load their scripts from a CDN: api.pages serves them,
        # and the schema, from here instead.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        openapi_tags=[
            {"name": tag}
            for tag in [
                "health",
                "store",
                *(f.name for f in flows if f.routes),
                reporting.TAG,
                "site",
                "runs",
            ]
        ],
        # Starlette answers `/runs/` with a redirect to an absolute URL built from the Host
        # header, which the client controls. A path is spelled one way; the other is a 404.
        redirect_slashes=False,
        dependencies=[Depends(known_query_only)],
    )
    errors.install(app)
    # Routes are matched in this order, one pattern at a time, on every request: the starts
    # that carry load come first.
    protected = [flow.routes for flow in flows if flow.routes is not None]
    protected += [listing_router(workflow_types(flows)), runs.router, store.router]
    # The reporting API the report runner polls: a third party's in seed 001, a stand-in here.
    protected += [reporting.router, site.router]
    for router in protected:
        app.include_router(router, responses=AUTH_RESPONSES if keys_on else None)
    app.include_router(health.router)
    metrics = ApiMetrics() if settings.metrics else None
    if metrics is not None:
        app.include_router(metrics_router(metrics), responses=AUTH_RESPONSES if keys_on else None)
    app.include_router(inspector.router, responses=AUTH_RESPONSES if keys_on else None)
    app.include_router(pages_router(app))
    app.add_middleware(
        BodyLimits,
        max_body_bytes=settings.max_body_bytes,
        path_limits={"/webhooks": settings.webhook_max_body_bytes},
    )
    # Outermost, so that they also count and log what the body limits turn away.
    if metrics is not None:
        app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIds)
    if tracing is not None:
        # Scrapes and health checks would be most of the spans and tell nothing.
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracing, excluded_urls="/metrics,/health"
        )
    return app
