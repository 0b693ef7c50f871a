"""The FastAPI application factory. The lifespan owns the engine and the Temporal client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from temporalio.client import Client

from api import errors
from api.auth import AUTH_RESPONSES, KeyRing, RateLimiter
from api.deps import AppState
from api.gateway import TemporalGateway
from api.limits import BodyLimits
from api.pages import pages_router
from api.query import known_query_only
from api.routes import cases, health, orders, payments, reports, runs, site, store, webhooks
from core.db import create_engine, create_session_factory
from core.settings import Settings
from core.site_store import configured_site_store

# Routes are matched in this order, one pattern at a time, on every request: the starts that
# carry load come first. The docs keep the walk-through's order through DOC_TAGS.
PROTECTED = (orders, webhooks, payments, cases, runs, store, reports, site)
DOC_TAGS = ["health", "store", "orders", "payments", "webhooks", "cases", "reports", "site", "runs"]


def create_app(settings: Settings, database_url: str, client: Client | None = None) -> FastAPI:
    """Build the API. Pass `client` to share an already connected Temporal client."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(database_url, pool_size=settings.db_pool_size)
        app.state.statewright = AppState(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            temporal=TemporalGateway(settings, client),
            site_store=configured_site_store(settings),
            keys=KeyRing(settings.api_keys),
            limiter=RateLimiter(settings.rate_limit_per_minute),
        )
        try:
            yield
        finally:
            await engine.dispose()

    keys_on = bool(settings.api_keys)
    app = FastAPI(
        title="Statewright",
        summary="AWS Step Functions tutorial workflows, run as durable Temporal workflows.",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own docs pages load their scripts from a CDN: api.pages serves them,
        # and the schema, from here instead.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        openapi_tags=[{"name": tag} for tag in DOC_TAGS],
        # Starlette answers `/runs/` with a redirect to an absolute URL built from the Host
        # header, which the client controls. A path is spelled one way; the other is a 404.
        redirect_slashes=False,
        dependencies=[Depends(known_query_only)],
    )
    errors.install(app)
    for module in PROTECTED:
        app.include_router(module.router, responses=AUTH_RESPONSES if keys_on else None)
    app.include_router(health.router)
    app.include_router(pages_router(app))
    app.add_middleware(
        BodyLimits,
        max_body_bytes=settings.max_body_bytes,
        path_limits={"/webhooks": settings.webhook_max_body_bytes},
    )
    return app
