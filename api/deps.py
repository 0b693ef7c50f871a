"""Typed dependencies shared by the routes; the app's lifespan owns what they hand out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client

from api.auth import KeyRing, RateLimiter
from api.eager import EagerStarts
from api.gateway import TemporalGateway
from api.sfn.context import HistoryCache, MachineCache
from api.sfn.sigv4 import Credential
from api.step_inputs import StepInputs
from core.db import SessionFactory
from core.publisher import PagePublisher
from core.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    temporal: TemporalGateway
    publisher: PagePublisher
    keys: KeyRing
    limiter: RateLimiter
    step_inputs: StepInputs
    eager: EagerStarts
    sfn_credentials: dict[str, Credential] | None = None
    """SigV4 credentials of the Step Functions API, by access key id; None: not configured."""
    sfn_machines: MachineCache = field(default_factory=MachineCache)
    sfn_histories: HistoryCache = field(default_factory=HistoryCache)
    known_items: set[str] = field(default_factory=set)
    """Store item ids seen to exist; items are never deleted, so this only grows."""


# Dependencies are async even when they do no I/O: FastAPI runs a plain `def` dependency in
# a thread pool, and two thread hops per request cost more CPU than the route itself.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.statewright
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_settings(state: State) -> Settings:
    return state.settings


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        yield session


async def get_client(state: State) -> Client:
    return await state.temporal.client()


async def get_step_inputs(state: State) -> StepInputs:
    return state.step_inputs


StepInputsDep = Annotated[StepInputs, Depends(get_step_inputs)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ClientDep = Annotated[Client, Depends(get_client)]
