"""The FastAPI application factory. The lifespan owns the engine and the Temporal client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import errors
from api.deps import AppState
from api.gateway import TemporalGateway
from api.limits import BodyLimits
from api.routes import cases, health, orders, payments, reports, runs, site, store, webhooks
from core.db import create_engine, create_session_factory
from core.settings import Settings
from core.site_store import configured_site_store


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
        )
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Statewright",
        summary="AWS Step Functions tutorial workflows, run as durable Temporal workflows.",
        version="0.1.0",
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (health, store, orders, payments, webhooks, cases, reports, site, runs):
        app.include_router(module.router)
    app.add_middleware(
        BodyLimits,
        max_body_bytes=settings.max_body_bytes,
        path_limits={"/webhooks": settings.webhook_max_body_bytes},
    )
    return app
