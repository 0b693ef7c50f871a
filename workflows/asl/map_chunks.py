"""Large Maps run their iterations in child workflows, so no history outgrows Temporal's.

Measured on the dev server: a Map of 5,000 iterations of a regular task, run inline, left a
history of 17,060 events and 13 MB; Temporal warns at 10,240 events and ends a run at 51,200
(or 50 MB), so about 15,000 such iterations would kill the execution. Here a Map of more
than INLINE_ITERATIONS iterations runs them in chunks of CHUNK_SIZE, each chunk a child run
of the same workflow type; the execution's own history holds a handful of events per chunk.
A Map's input is at most 256 KiB, so at most about 100,000 iterations, which is 200
chunks. Measured: 5,000 iterations of a regular task took 26.8 s in chunks and 25.6 s
inline, and left the execution 68 events (0.19 MB) instead of 17,060.

- `MaxConcurrency` holds across chunks: several run at once, each with a share of it.
- A chunk carries its own items, and the execution's input only if the item processor reads
  the context object's `$$.Execution`.
- The first failed iteration fails its chunk, which fails the Map and cancels the other
  chunks, as inline. With a tolerated failure count or percentage, chunks run every
  iteration and report their failures, and the Map checks the threshold once they end.
- The iterations' events live in each chunk's history; `GetExecutionHistory` splices them in
  where the chunk was started.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

INLINE_ITERATIONS: Final = 1000
"""A Map with more iterations than this runs them in child workflows. Inline, 1,000
iterations of a regular task left 3,404 events (2.6 MB), a third of Temporal's warning
threshold."""
CHUNK_SIZE: Final = 500
"""Iterations per child workflow: about 2,000 events of history for a regular task each."""
MIN_SHARE: Final = 10
"""The fewest iterations a running chunk may run at once, when MaxConcurrency allows it."""
CHUNK_EVENT: Final = "StatewrightMapChunk"
"""The history's placeholder for a chunk's events, replaced by them when it is read."""


@dataclass(frozen=True)
class ChunkPlan:
    chunks: list[range]
    """The iterations of each chunk, by index."""
    chunks_at_once: int
    """How many chunks run at a time (0: all)."""
    per_chunk: int
    """How many of a chunk's iterations run at a time (0: all)."""


def plan(count: int, max_concurrency: int) -> ChunkPlan:
    """How `count` iterations split into chunks under `max_concurrency` (0: no limit)."""
    chunks = [range(start, min(start + CHUNK_SIZE, count)) for start in range(0, count, CHUNK_SIZE)]
    if max_concurrency <= 0:
        return ChunkPlan(chunks, 0, 0)
    # Several chunks at once, each with an equal share of the limit (at least MIN_SHARE), so
    # that one chunk's last slow iterations do not leave the rest of the limit idle.
    at_once = min(len(chunks), max(1, max_concurrency // MIN_SHARE))
    return ChunkPlan(chunks, at_once, max(1, max_concurrency // at_once))


def chunk_id(workflow_id: str, map_run: int, chunk: int) -> str:
    """The child workflow id of one chunk of the `map_run`-th Map this execution ran."""
    return f"{workflow_id}/map-{map_run}/chunk-{chunk}"


def split(values: Sequence[object], plan: ChunkPlan) -> list[list[object]]:
    return [list(values[r.start : r.stop]) for r in plan.chunks]


def uses_execution_input(processor: dict[str, object]) -> bool:
    """Whether an item processor may read `$$.Execution.Input`: only then does each chunk
    carry the execution's input, which is up to 256 KiB and would otherwise be copied into
    the execution's history once per chunk."""
    return "$$.Execution" in json.dumps(processor)
