"""`statewright bench` end to end on a tiny load: it runs both phases, checks the invariants,
and writes its JSON and plot. (Speed itself is measured by running the tool, not in tests.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from temporalio.client import Client

from core.settings import Settings
from statewright.bench import http_client
from statewright.bench.figures import closes_per_second, print_table, report, write_outputs
from statewright.bench.http_client import BenchHttpClient, BenchHttpError, timing_ms
from statewright.bench.options import Options
from statewright.bench.phases import Phase, Progress
from statewright.bench.runner import run_bench
from statewright.bench.scenarios import ORDERS, WEBHOOKS
from tests.conftest import REPO


async def test_bench_runs_both_phases_and_reports_ratios(
    api: str, worker: object, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    options = Options(
        scenario="orders",
        load=ORDERS,
        workflow_type="CreateOrderWorkflow",
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
    # The empty-workflow limit ran in the same run, on its own task queue and worker.
    assert figures["limit"]["completed"] == 8
    assert figures["ratios"]["throughput_vs_limit"] > 0
    assert figures["ratios"]["cpu_vs_limit"] > 0
    assert figures["server_cpu_per_run_ms"]["limit"] > 0
    assert figures["scenario_figures"]["completed"] == 8
    assert figures["ratios"]["throughput_vs_baseline"] > 0
    assert figures["ratios"]["closed_throughput_vs_baseline"] > 0
    assert figures["ratios"]["post_p99_vs_start_p99"] > 0
    # Each POST contains the start call the API made for it, so its p99 cannot be lower.
    assert figures["scenario_figures"]["api_start_call_ms"]["p50"] > 0
    assert figures["ratios"]["post_p99_vs_api_start_call_p99"] >= 1.0
    assert figures["invariants"] == {"checked": True, "violations": []}
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_an_open_loop_run_reports_latency_at_the_offered_rate(
    api: str, worker: object, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    options = Options(
        scenario="orders",
        load=ORDERS,
        workflow_type="CreateOrderWorkflow",
        count=6,
        rate=6.0,
        duration_s=1.0,
        json_path=tmp_path / "open.json",
    )
    configured = settings.model_copy(update={"reports_api_url_override": api})

    result = await run_bench(options, configured, database_url)
    write_outputs(result, options)

    figures = json.loads((tmp_path / "open.json").read_text())
    assert figures["mode"] == "open loop" and figures["rate_per_s"] == 6.0
    assert figures["scenario_figures"]["sent"] == 6
    assert figures["scenario_figures"]["completed"] == 6
    assert figures["scenario_figures"]["post_latency_ms"]["p50"] > 0
    assert figures["scenario_figures"]["end_to_end_ms"]["p50"] > 0
    assert "limit" not in figures and "baseline" not in figures
    assert figures["invariants"] == {"checked": True, "violations": []}


async def test_a_waiting_run_answers_each_webhook_with_its_result(
    api: str, worker: object, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """With `wait`, the route must answer 200 with the result: a 202 counts as a failure."""
    options = Options(
        scenario="webhooks",
        load=WEBHOOKS,
        workflow_type="WebhookWorkflow",
        count=4,
        rate=4.0,
        duration_s=1.0,
        wait=True,
        json_path=tmp_path / "wait.json",
    )
    configured = settings.model_copy(update={"reports_api_url_override": api})
    result = await run_bench(options, configured, database_url)
    write_outputs(result, options)

    figures = json.loads((tmp_path / "wait.json").read_text())["scenario_figures"]
    assert figures["send_failure_reasons"] == {}
    assert (figures["sent"], figures["send_failures"], figures["completed"]) == (4, 0, 4)


def test_wait_is_refused_where_no_route_answers_with_a_result() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "statewright.cli", "bench", "orders", "--wait"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--wait needs a route that answers with its run's result: webhooks" in done.stderr


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


async def test_bench_client_never_reuses_a_connection_the_server_closed_or_may_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request sent on a connection as the server closes it gets no answer at all; the
    open-loop bench lost a few requests a minute so, at a rate that leaves connections idle."""
    answer = b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"
    connections = 0
    close_idle = True

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split(b"\r")[0]))
        writer.write(answer)
        await writer.drain()
        if close_idle:  # the keep-alive timeout, at once
            writer.close()
            return
        with contextlib.suppress(asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, BenchHttpClient(f"http://127.0.0.1:{port}") as http:
        await http.post("/webhooks", {})
        await asyncio.sleep(0.2)  # the close reaches the client
        assert (await http.post("/webhooks", {})).status_code == 202
        assert connections == 2, "a closed connection was not reused"

        close_idle = False
        monkeypatch.setattr(http_client, "REUSE_WITHIN_S", 0.0)
        await http.post("/webhooks", {})
        assert (await http.post("/webhooks", {})).status_code == 202
        assert connections == 4, "a connection idle past the reuse window was not reused"


def test_bench_client_speaks_plain_http_only() -> None:
    with pytest.raises(ValueError, match="plain http"):
        BenchHttpClient("https://example.com")


def test_help_says_how_to_target_another_stack() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "statewright.cli", "bench", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "--api-url" in done.stdout and "--temporal-address" in done.stdout
    assert "DATABASE_URL" in done.stdout


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEMPORAL_ADDRESS"}}
    return subprocess.run(
        [sys.executable, "-m", "statewright.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=REPO,
        timeout=120,
    )


def test_bench_never_starts_a_postgres_of_its_own(tmp_path: Path) -> None:
    """Against a data folder where no Postgres runs, it said nothing, started an empty one,
    and died on a raw SQL traceback. Now: one clear line, and nothing started."""
    done = run_cli("bench", "orders", "--count", "1", STATEWRIGHT_DATA_DIR=str(tmp_path))

    assert done.returncode == 1
    assert "no database to check the stack against" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "postgres").exists(), "no Postgres was started"


def test_bench_names_a_database_without_the_schema(
    database_url: str, client: Client, tmp_path: Path
) -> None:
    admin = database_url.replace("postgresql+psycopg", "postgresql")
    empty = f"bench_empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{empty}"')
    url = database_url.rsplit("/", 1)[0] + "/" + empty
    if "?" in database_url:
        url += "?" + database_url.split("?", 1)[1]

    done = run_cli(
        "bench",
        "orders",
        "--count",
        "1",
        "--temporal-address",
        client.service_client.config.target_host,
        DATABASE_URL=url,
        STATEWRIGHT_DATA_DIR=str(tmp_path),
    )

    assert done.returncode == 1, done.stderr
    assert "has no Statewright tables" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_progress_bar_never_goes_back(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress("orders", 10)
    for closed in (3, 7, 5, 6, 10):
        progress.show(10, closed)
    shown = [int(m) for m in re.findall(r"\]\s+(\d+)/10 closed", capsys.readouterr().err)]
    assert shown == [3, 7, 7, 7, 10]


def test_figures_without_samples_are_null_not_nan(tmp_path: Path) -> None:
    empty_baseline, empty_scenario = Phase("baseline", "X"), Phase("webhooks", "Y")
    for phase in (empty_baseline, empty_scenario):
        phase.cpu_s = dict.fromkeys(("worker", "server", "api", "postgres", "load_generator"), 0.0)
    options = Options(
        scenario="webhooks",
        load=WEBHOOKS,
        workflow_type="Y",
        count=0,
        json_path=tmp_path / "figures.json",
    )

    write_outputs(report(options, empty_baseline, empty_scenario, []), options)

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    figures = json.loads((tmp_path / "figures.json").read_text(), parse_constant=no_constants)
    assert figures["scenario_figures"]["post_latency_ms"] == {"p50": None, "p99": None, "max": None}
    assert figures["ratios"]["throughput_vs_baseline"] is None


def test_a_webhooks_table_speaks_of_runs_not_lines(capsys: pytest.CaptureFixture[str]) -> None:
    baseline, scenario = Phase("baseline", "X"), Phase("webhooks", "Y")
    for phase in (baseline, scenario):
        phase.cpu_s = dict.fromkeys(("worker", "server", "api", "postgres", "load_generator"), 1.0)
    print_table(report(Options("webhooks", WEBHOOKS, "Y"), baseline, scenario, []))
    table = capsys.readouterr().out
    assert "per line" not in table
    assert "CPU (worker + API + server) per run" in table


def test_throughput_over_a_short_run_has_enough_points() -> None:
    """Eight closes within 1.2 s were one or two dots in whole seconds."""
    closes = [100.0 + 0.15 * n for n in range(9)]
    times, rates = closes_per_second(closes)
    assert len(times) >= 10
    assert abs(sum(rate * (times[1] - times[0]) for rate in rates) - len(closes)) < 1e-6
