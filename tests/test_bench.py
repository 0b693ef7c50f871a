"""`statewright bench` end to end on a tiny load: it runs both phases, checks the invariants,
and writes its JSON and plot. (Speed itself is measured by running the tool, not in tests.)"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from core.bench import Options, run_bench, write_outputs
from core.bench_http import BenchHttpClient, BenchHttpError, timing_ms
from core.settings import Settings


async def test_bench_runs_both_phases_and_reports_ratios(
    api: str, worker: object, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    options = Options(
        scenario="orders",
        count=8,
        concurrency=4,
        lines=2,
        json_path=tmp_path / "bench.json",
        plot_path=tmp_path / "bench.png",
    )
    configured = settings.model_copy(update={"reports_api_url_override": api})

    result = await run_bench(options, configured, database_url)
    write_outputs(result, options)

    figures = json.loads((tmp_path / "bench.json").read_text())
    assert figures["baseline"]["completed"] == 8
    assert figures["scenario_figures"]["completed"] == 8
    assert figures["ratios"]["throughput_vs_baseline"] > 0
    assert figures["ratios"]["closed_throughput_vs_baseline"] > 0
    assert figures["ratios"]["post_p99_vs_start_p99"] > 0
    # Each POST contains the start call the API made for it, so its p99 cannot be lower.
    assert figures["scenario_figures"]["api_start_call_ms"]["p50"] > 0
    assert figures["ratios"]["post_p99_vs_api_start_call_p99"] >= 1.0
    assert figures["invariants"] == {"checked": True, "violations": []}
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_server_timing_is_read_by_metric_name() -> None:
    header = 'db;dur=2.5, temporal;dur=41.7;desc="start run", cache;desc=hit'
    assert timing_ms(header, "temporal") == 41.7
    assert timing_ms(header, "db") == 2.5
    assert timing_ms(header, "cache") is None
    assert timing_ms(None, "temporal") is None


async def test_bench_client_keeps_connections_alive_and_refuses_what_it_cannot_read() -> None:
    answers = [
        b"HTTP/1.1 202 Accepted\r\ncontent-length: 12\r\nserver-timing: temporal;dur=3\r\n"
        b'\r\n{"ok": true}',
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    ]
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while answers and (head := await reader.readuntil(b"\r\n\r\n")):
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, BenchHttpClient(f"http://127.0.0.1:{port}") as http:
        first = await http.post("/orders", {"order": []})
        assert (first.status_code, first.json()) == (202, {"ok": True})
        assert timing_ms(first.server_timing, "temporal") == 3.0
        with pytest.raises(BenchHttpError, match="chunked"):
            await http.post("/orders", {"order": []})
    assert connections == 1, "the second request reused the first connection"


def test_bench_client_speaks_plain_http_only() -> None:
    with pytest.raises(ValueError, match="plain http"):
        BenchHttpClient("https://example.com")
