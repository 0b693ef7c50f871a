"""`GET /metrics`: the API's Prometheus metrics move by exactly what happened."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from core.db import SessionFactory
from tests.helpers import stock_items, wait_for_run

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient) -> Samples:
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_requests_are_counted_by_route_template_status_and_reason(
    http: httpx.AsyncClient, worker: object, sessions: SessionFactory, item_prefix: str
) -> None:
    item = f"{item_prefix}-a"
    await stock_items(sessions, **{item: 5})
    before = await scrape(http)

    started = await http.post("/orders", json={"order": [{"item_id": item, "quantity": 1}]})
    assert started.status_code == 202
    await wait_for_run(http, started.json()["workflow_id"])
    order = await http.get(f"/orders/{started.json()['order_id']}")
    assert order.status_code == 200
    invalid = await http.post("/orders", json={"order": [{"item_id": item, "qty": 1}]})
    assert invalid.status_code == 422
    not_json = await http.post("/webhooks", content=b"x", headers={"content-type": "text/plain"})
    assert not_json.status_code == 415

    after = await scrape(http)
    requests = "statewright_http_requests_total"
    assert moved(before, after, requests, route="/orders", method="POST", status="202") == 1
    assert moved(before, after, requests, route="/orders", method="POST", status="422") == 1
    assert (
        moved(before, after, requests, route="/orders/{order_id}", method="GET", status="200") == 1
    )
    assert not any(started.json()["order_id"] in str(key) for key in after), "ids never label"
    rejected = "statewright_http_rejected_requests_total"
    assert moved(before, after, rejected, reason="invalid") == 1
    assert moved(before, after, rejected, reason="unsupported_media_type") == 1
    assert moved(before, after, rejected, reason="rate_limited") == 0
    latency = "statewright_http_request_duration_seconds_count"
    assert moved(before, after, latency, route="/orders", method="POST") == 2
    starts = "statewright_temporal_start_duration_seconds_count"
    assert moved(before, after, starts, route="/orders") == 1, "only the accepted start"
