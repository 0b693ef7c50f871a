"""API keys with scopes, the rate limit, and keys kept out of logs and histories."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from temporalio.client import Client

from api.app import create_app
from api.auth import KeyRing, UnknownScope
from api.flows import scopes
from api.sfn.protocol import aws_json
from core.db import SessionFactory
from core.keys import ApiKeySpec, digest, new_key
from core.publisher import LocalPagePublisher
from core.settings import Settings
from statewright.cli import _run
from statewright.flows import FLOWS
from tests.conftest import serve
from tests.helpers import api_routes, stock_items, wait_for_run, worker_with

KEYS = {name: new_key() for name in ("ops", "shop", "reader", "runner")}
SCOPES: dict[str, list[Any]] = {
    "ops": ["admin"],
    "shop": ["orders:write"],
    "reader": ["runs:read"],
    "runner": ["reports:write", "runs:read"],
}


def specs() -> list[ApiKeySpec]:
    return [ApiKeySpec(name=name, sha256=digest(KEYS[name]), scopes=SCOPES[name]) for name in KEYS]


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


@pytest.fixture
async def guarded(
    settings: Settings, database_url: str, client: Client
) -> AsyncIterator[httpx.AsyncClient]:
    keyed = settings.model_copy(update={"api_keys": specs(), "rate_limit_per_minute": 1000})
    async with (
        serve(create_app(FLOWS, keyed, database_url, client)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        yield http


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def signed_by_sigv4(route: APIRoute) -> bool:
    """The AWS Step Functions API: AWS's signatures, not API keys (tests/sfn/)."""
    return route.endpoint is aws_json


def protected_routes() -> list[tuple[str, str]]:
    app = create_app(FLOWS, Settings(api_keys=specs()), "postgresql+psycopg://unused/none")
    routes = [
        (method, route.path)
        for route in api_routes(app)
        if route.path != "/health" and not signed_by_sigv4(route)
        for method in sorted(route.methods or ())
    ]
    assert len(routes) >= 20, routes
    return routes


def test_every_route_but_health_declares_a_scope() -> None:
    app = create_app(FLOWS, Settings(), "postgresql+psycopg://unused/none")
    routes = api_routes(app)
    assert len(routes) >= 20
    for route in routes:
        if route.path == "/health" or signed_by_sigv4(route):
            continue
        required = [
            getattr(dep.call, "required_scope", None) for dep in route.dependant.dependencies
        ]
        assert any(required), f"{route.path} {route.methods} has no scope check"
        # A scope no key can hold (a typo) would lock everyone but admin out of the route.
        assert set(filter(None, required)) <= set(scopes(FLOWS)), (route.path, required)


@pytest.mark.parametrize(("method", "path"), protected_routes())
async def test_no_key_is_401(guarded: httpx.AsyncClient, method: str, path: str) -> None:
    response = await guarded.request(method, concrete(path), json={} if method == "POST" else None)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "missing API key" in response.json()["detail"]


async def test_with_keys_on_the_aws_api_is_closed_without_sigv4_credentials(
    guarded: httpx.AsyncClient,
) -> None:
    # No STATEWRIGHT_SFN_CREDENTIALS_FILE: no AWS call passes, whatever it names or carries.
    for headers in ({}, {"X-Amz-Target": "AWSStepFunctions.ListStateMachines"}, bearer("ops")):
        response = await guarded.post("/", json={}, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["__type"] == "UnrecognizedClientException"
        assert "STATEWRIGHT_SFN_CREDENTIALS_FILE" in response.json()["message"]


async def test_health_and_only_health_is_open(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/health")).status_code == 200
    for path in ("/docs", "/openapi.json"):
        assert (await guarded.get(path)).status_code == 401
        assert (await guarded.get(path, headers=bearer("reader"))).status_code == 200


async def test_unknown_key_is_401_and_a_missing_scope_is_403(
    guarded: httpx.AsyncClient, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-k"
    await stock_items(sessions, **{item: 3})
    order = {"order": [{"item_id": item, "quantity": 1}]}

    unknown = await guarded.get("/runs", headers={"Authorization": f"Bearer {new_key()}"})
    reader_orders = await guarded.post("/orders", json=order, headers=bearer("reader"))
    shop_reads = await guarded.get("/runs", headers=bearer("shop"))
    shop_orders = await guarded.post("/orders", json=order, headers=bearer("shop"))
    by_header = await guarded.get("/runs", headers={"X-API-Key": KEYS["reader"]})
    admin_cancels = await guarded.post("/runs/nope/cancel", headers=bearer("ops"))

    assert unknown.status_code == 401 and unknown.json()["detail"] == "unknown API key"
    assert reader_orders.status_code == 403
    assert reader_orders.json()["detail"] == "API key 'reader' lacks the scope 'orders:write'"
    assert shop_reads.status_code == 403
    assert shop_orders.status_code == 202
    assert by_header.status_code == 200
    assert admin_cancels.status_code == 404, "admin passes every scope check"


async def test_rate_limit_per_key_is_429(
    settings: Settings, database_url: str, client: Client
) -> None:
    keyed = settings.model_copy(update={"api_keys": specs(), "rate_limit_per_minute": 3})
    async with (
        serve(create_app(FLOWS, keyed, database_url, client)) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        answers = [
            (await http.get("/runs", headers=bearer("reader"))).status_code for _ in range(4)
        ]
        other_key = await http.get("/runs", headers=bearer("ops"))
        limited = await http.get("/runs", headers=bearer("reader"))

    assert answers == [200, 200, 200, 429]
    assert other_key.status_code == 200, "the limit is per key"
    assert int(limited.headers["Retry-After"]) >= 1
    assert "over its limit of 3 requests a minute" in limited.json()["detail"]


def test_keys_are_compared_against_every_digest() -> None:
    ring = KeyRing(specs(), known_scopes=scopes(FLOWS))
    assert ring.verify(KEYS["shop"]) is not None
    assert ring.verify(KEYS["shop"]).name == "shop"  # type: ignore[union-attr]
    assert ring.verify(KEYS["shop"] + "x") is None
    assert ring.verify("") is None
    assert not KeyRing([], known_scopes=[]).enabled


def test_a_key_with_an_unknown_scope_is_refused_at_start() -> None:
    """A misspelt scope would fail every request with 403; the API refuses to start."""
    typo = ApiKeySpec(name="ops", sha256=digest("k"), scopes=["order:write"])
    with pytest.raises(UnknownScope, match=r"'ops' holds unknown scope\(s\) order:write"):
        create_app(FLOWS, Settings(api_keys=[typo]), "postgresql+psycopg://unused/none")


def test_each_flow_with_routes_has_a_write_scope() -> None:
    assert scopes(FLOWS) == [
        "orders:write",
        "payments:write",
        "webhooks:write",
        "cases:write",
        "reports:write",
        "sfn:write",
        "runs:read",
        "runs:cancel",
        "admin",
    ]


async def test_keys_never_reach_logs_or_histories(
    settings: Settings,
    database_url: str,
    client: Client,
    task_queue: str,
    sessions: SessionFactory,
    item_prefix: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An order and a report run (whose worker calls the API with its own key), with every
    logger at DEBUG: no key appears in any log line or in either run's history."""
    item = f"{item_prefix}-h"
    await stock_items(sessions, **{item: 3})
    keyed = settings.model_copy(
        update={"api_keys": specs(), "report_min_delay_seconds": 0, "publish_url": str(tmp_path)}
    )
    caplog.set_level(logging.DEBUG)
    async with (
        serve(create_app(FLOWS, keyed, database_url, client)) as base,
        worker_with(
            client,
            task_queue,
            sessions,
            reports_api_url=base,
            reports_api_key=KEYS["runner"],
            publisher=LocalPagePublisher(tmp_path),
        ),
        httpx.AsyncClient(base_url=base, timeout=30, headers=bearer("ops")) as http,
    ):
        order = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
        report = await http.post("/report-runner/runs")
        await http.get("/runs", headers={"Authorization": f"Bearer {KEYS['shop']}"})  # a 403
        runs = [await wait_for_run(http, r.json()["workflow_id"]) for r in (order, report)]
        histories = [
            (await client.get_workflow_handle(run["workflow_id"]).fetch_history()).to_json()
            for run in runs
        ]

    assert [run["status"] for run in runs] == ["COMPLETED", "COMPLETED"]
    for key in KEYS.values():
        assert key not in caplog.text
        assert all(key not in history for history in histories)


def test_api_refuses_an_open_non_local_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEWRIGHT_API_HOST", "0.0.0.0")
    monkeypatch.delenv("STATEWRIGHT_API_KEYS", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused/none")
    assert _run(["api"]) == 2
