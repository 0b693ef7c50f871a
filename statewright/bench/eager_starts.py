"""What eager workflow start does on this server: the empty workflow started the ordinary way
and eagerly, alternating, with a worker on the starting client.

    .venv/bin/python -m statewright.bench.eager_starts [--count 200]

Eagerly, the server hands the first workflow task back in the start call's own answer, so
the run needs no task-queue match and no poll. Prints, for each way, the start call and the
time from the start to the result (p50 and p99), and how many starts the server really took
eagerly: a server with eager start turned off takes none, and says so only here.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from core.settings import Settings
from core.temporal import connect
from statewright.bench.phases import percentile
from workflows.bench import BenchEmptyWorkflow
from workflows.ids import LIMIT_RUNS


def eagerly_started(handle: WorkflowHandle[Any, Any]) -> bool:
    # The SDK marks the handle; it has no public accessor for it (temporalio 1.35).
    return bool(getattr(handle, "__temporal_eagerly_started", False))


async def measure(client: Client, count: int) -> dict[str, dict[str, float | int | None]]:
    """`count` starts each way, alternating, one at a time; figures per way."""
    queue = f"eager-starts-{uuid.uuid4().hex[:8]}"
    figures: dict[bool, tuple[list[float], list[float], int]] = {
        eager: ([], [], 0) for eager in (False, True)
    }
    async with Worker(client, task_queue=queue, workflows=[BenchEmptyWorkflow]):
        for index in range(count):
            for eager in (False, True):
                starts, results, taken = figures[eager]
                began = time.perf_counter()
                handle = await client.start_workflow(
                    BenchEmptyWorkflow.run,
                    {"index": index},
                    id=LIMIT_RUNS.of(f"{queue}-{index}-{'eager' if eager else 'ordinary'}"),
                    task_queue=queue,
                    request_eager_start=eager,
                )
                started = time.perf_counter()
                await handle.result()
                starts.append((started - began) * 1000)
                results.append((time.perf_counter() - began) * 1000)
                figures[eager] = (starts, results, taken + eagerly_started(handle))
    return {
        "eager" if eager else "ordinary": {
            "start_p50_ms": percentile(starts, 50),
            "start_p99_ms": percentile(starts, 99),
            "result_p50_ms": percentile(results, 50),
            "result_p99_ms": percentile(results, 99),
            "eagerly_started": taken,
        }
        for eager, (starts, results, taken) in figures.items()
    }


async def main(count: int) -> None:
    client = await connect(Settings())
    for way, row in (await measure(client, count)).items():
        print(
            f"{way:<9} start p50 {row['start_p50_ms']:.1f} ms, p99 {row['start_p99_ms']:.1f} ms; "
            f"start to result p50 {row['result_p50_ms']:.1f} ms, p99 {row['result_p99_ms']:.1f} "
            f"ms; eagerly started {row['eagerly_started']}/{count}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="starts each way (200)")
    asyncio.run(main(parser.parse_args().count))
