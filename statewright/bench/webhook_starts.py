"""Webhook start latency through the API, against a raw `client.start_workflow` in the same run.

Run it against a stack that is up (`python3 dev.py up` in another terminal):

    .venv/bin/python -m statewright.bench.webhook_starts [--count 500] [--api URL] [--json FILE]

The two kinds of start alternate, one of each in turn, so that both see the same server and
worker load. Target (issue 3): webhook p99 at most 1.5 times the raw start p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from core.settings import Settings
from core.temporal import connect
from workflows.contracts import WebhookInput
from workflows.webhooks import WebhookWorkflow

TARGET_RATIO = 1.5


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 50), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "max_ms": round(max(samples), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
    }


async def run(count: int, api: str, warmup: int) -> dict[str, object]:
    settings = Settings()
    client = await connect(settings)
    api_ms: list[float] = []
    raw_ms: list[float] = []
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        if (await http.get("/health")).status_code != 200:
            raise SystemExit(f"{api}/health is not 200: is `python3 dev.py up` running?")
        for i in range(warmup + count):
            t0 = time.perf_counter()
            response = await http.post("/webhooks", json={"bench": i, "at": time.time()})
            t1 = time.perf_counter()
            if response.status_code != 202:
                raise SystemExit(f"POST /webhooks answered {response.status_code}: {response.text}")
            await client.start_workflow(
                WebhookWorkflow.run,
                WebhookInput(payload={"bench": i, "raw": True}, received_at=datetime.now(UTC)),
                id=f"webhook-bench-{uuid.uuid4().hex}",
                task_queue=settings.task_queue,
            )
            t2 = time.perf_counter()
            if i >= warmup:
                api_ms.append((t1 - t0) * 1000)
                raw_ms.append((t2 - t1) * 1000)
            if (i + 1 - warmup) % 100 == 0 and i >= warmup:
                print(f"  {i + 1 - warmup}/{count} pairs sent", flush=True)
    api_stats, raw_stats = summary(api_ms), summary(raw_ms)
    return {
        "count": count,
        "webhook_post": api_stats,
        "raw_start_workflow": raw_stats,
        "ratio_p99": round(api_stats["p99_ms"] / raw_stats["p99_ms"], 2),
        "target_ratio_p99": TARGET_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--api", default=None, help="API base URL (default: from settings)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    settings = Settings()
    api = args.api or f"http://{settings.api_host}:{settings.api_port}"
    print(f"sending {args.count} webhook POSTs to {api} and as many raw starts, alternating")
    figures = asyncio.run(run(args.count, api, args.warmup))
    print(f"{'':22}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name in ("webhook_post", "raw_start_workflow"):
        stats = figures[name]
        assert isinstance(stats, dict)
        print(f"{name:22}{stats['p50_ms']:9.1f}{stats['p99_ms']:9.1f}{stats['max_ms']:9.1f}")
    verdict = "meets" if figures["ratio_p99"] <= TARGET_RATIO else "MISSES"  # type: ignore[operator]
    print(f"webhook p99 / raw start p99 = {figures['ratio_p99']} ({verdict} the <= 1.5 target)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
