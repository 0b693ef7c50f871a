"""When Temporal or Postgres is away, the API says so with a 503 and never a 500."""

from __future__ import annotations

import httpx

from api.app import create_app
from core.db import SessionFactory
from core.settings import Settings
from statewright.flows import FLOWS
from tests.conftest import free_port, serve
from tests.helpers import stock_items


async def test_temporal_down_gives_503(
    database_url: str, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-x"
    await stock_items(sessions, **{item: 5})
    settings = Settings(database_url=database_url, temporal_address=f"127.0.0.1:{free_port()}")

    async with (
        serve(create_app(FLOWS, settings, database_url)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        health = await http.get("/health")
        started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
        run = await http.get("/runs/order-anything")

    assert health.status_code == 503
    assert health.json()["postgres"] == "ok"
    assert health.json()["temporal"].startswith("unreachable")
    for response in (started, run):
        assert response.status_code == 503
        assert response.json() == {"detail": "Temporal is unreachable"}


async def test_postgres_down_gives_503(settings: Settings) -> None:
    dead = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2"

    async with (
        serve(create_app(FLOWS, settings, dead)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        health = await http.get("/health")
        listed = await http.get("/store-items")

    assert health.status_code == 503
    assert health.json()["postgres"].startswith("unreachable")
    assert health.json()["temporal"] == "ok"
    assert listed.status_code == 503
    assert listed.json() == {"detail": "the database is unreachable"}
