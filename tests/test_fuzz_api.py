"""schemathesis against the app's own OpenAPI schema, over real HTTP: no answer may be a 5xx,
and every answer must be one the schema declares, with the body it declares.

FUZZ_EXAMPLES bounds the examples per operation (default 20), so CI time stays bounded.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.db import create_engine, create_session_factory
from core.settings import Settings
from core.temporal import connect
from statewright.flows import FLOWS
from tests.conftest import free_port
from worker.main import build_worker, dependencies

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture(scope="module")
def served_api(
    database_url: str, temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app and a worker in their own thread and event loop, so that schemathesis can call
    the app synchronously and every run it starts can finish."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app_settings = Settings(
        database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        task_queue=f"fuzz-{uuid.uuid4().hex}",
        reports_api_url_override=base,
        publish_url=str(tmp_path_factory.mktemp("fuzz-site")),
        report_min_delay_seconds=0,
        report_wait_seconds=0.1,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(FLOWS, app_settings, database_url),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )

    async def serve_with_worker() -> None:
        client = await connect(app_settings)
        engine = create_engine(database_url)
        deps = dependencies(app_settings, create_session_factory(engine))
        try:
            async with build_worker(FLOWS, client, app_settings.task_queue, deps):
                await server.serve()
        finally:
            await engine.dispose()

    thread = threading.Thread(target=asyncio.run, args=(serve_with_worker(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the fuzzed app did not start"
        time.sleep(0.02)
    yield base
    server.should_exit = True
    thread.join(30)


# The schema comes from the app itself, so it is known at collection time, before any server.
SCHEMA = schemathesis.openapi.from_dict(
    create_app(FLOWS, Settings(), "postgresql+psycopg://unused/none").openapi()
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_api_conforms_to_its_schema(operation: Any, served_api: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(base_url=served_api, checks=list(CHECKS))

    fuzz()
