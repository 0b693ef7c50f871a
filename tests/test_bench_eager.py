"""The eager-start probe: the server really takes eager starts, and the ordinary ones are
not counted as eager."""

from __future__ import annotations

from temporalio.client import Client

from statewright.bench.eager_starts import measure


async def test_eager_starts_are_taken_eagerly_and_ordinary_ones_are_not(client: Client) -> None:
    figures = await measure(client, 5)
    assert figures["eager"]["eagerly_started"] == 5
    assert figures["ordinary"]["eagerly_started"] == 0
    for way in ("eager", "ordinary"):
        start, result = figures[way]["start_p50_ms"], figures[way]["result_p50_ms"]
        assert start is not None and result is not None and 0 < start <= result
