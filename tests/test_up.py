"""`statewright up` as a newcomer runs it: the whole stack, the README walk-through verbatim
(on free ports), a clean stop, and a second start that finds everything still there."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from core.settings import Settings
from statewright.supervisor import register_seed_machines
from tests.conftest import REPO, free_port
from workflows.seeds import SEEDS

START_TIMEOUT_S = 120


def walkthrough_script() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Walk-through", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "README walk-through has no sh block"
    return match.group(1)


def quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the quick start holds exactly one shell block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def readme_banner() -> str:
    """The block the README shows `up` printing."""
    readme = (REPO / "README.md").read_text()
    after = readme.split("it prints where to look:\n", 1)[1]
    match = re.match(r"\s*```\n(.*?)```", after, re.DOTALL)
    assert match, "the quick start shows the banner right after saying so"
    return match.group(1)


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    commands = quick_start_commands()
    assert commands == ["python3 dev.py up", "python3 dev.py test"]
    assert commands[1] in (REPO / ".ci" / "run").read_text()


class Stack:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port, self.temporal_port, self.ui_port = free_port(), free_port(), free_port()
        self.worker_metrics_port, self.temporal_metrics_port = free_port(), free_port()
        self.env = {
            k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEMPORAL_ADDRESS"}
        }
        self.env.update(
            STATEWRIGHT_DATA_DIR=str(data_dir),
            STATEWRIGHT_API_PORT=str(self.api_port),
            STATEWRIGHT_TEMPORAL_PORT=str(self.temporal_port),
            STATEWRIGHT_TEMPORAL_UI_PORT=str(self.ui_port),
            STATEWRIGHT_WORKER_METRICS_PORT=str(self.worker_metrics_port),
            STATEWRIGHT_TEMPORAL_METRICS_PORT=str(self.temporal_metrics_port),
            STATEWRIGHT_TASK_QUEUE="up-test",
        )
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.log: Path | None = None
        self.process_pid = 0

    def log_text(self) -> str:
        assert self.log is not None
        return self.log.read_text()

    @contextmanager
    def running(self) -> Iterator[str]:
        """Start `up`; once healthy yield its output; then SIGTERM it and check it all ended."""
        log = self.data_dir.parent / f"up-{time.monotonic_ns()}.log"
        self.log = log
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "statewright.cli", "up"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started = time.monotonic()
        try:
            while "Statewright is up." not in log.read_text():
                assert process.poll() is None, f"up exited early:\n{log.read_text()}"
                assert time.monotonic() - started < START_TIMEOUT_S, log.read_text()
                time.sleep(0.1)
            print(f"\n`statewright up` healthy after {time.monotonic() - started:.1f}s")
            self.process_pid = process.pid
            yield log.read_text()
            children = psutil.Process(process.pid).children(recursive=True)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
        assert code == 0, log.read_text()
        assert "stopped" in log.read_text()
        assert "exited with code" not in log.read_text(), "every child stops cleanly"
        for child in children:
            assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child
        leftovers = [
            p.info
            for p in psutil.process_iter(["pid", "cmdline"])
            if str(self.data_dir) in " ".join(p.info["cmdline"] or [])
        ]
        assert leftovers == [], f"still running after stop: {leftovers}"


@pytest.mark.slow
def test_up_serves_the_walkthrough_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    script = walkthrough_script().replace("127.0.0.1:8000", f"127.0.0.1:{stack.api_port}")

    with stack.running() as banner:
        promised = (
            readme_banner()
            .replace("127.0.0.1:8000", f"127.0.0.1:{stack.api_port}")
            .replace("127.0.0.1:8233", f"127.0.0.1:{stack.ui_port}")
            .replace("127.0.0.1:9464", f"127.0.0.1:{stack.worker_metrics_port}")
            .replace("127.0.0.1:7235", f"127.0.0.1:{stack.temporal_metrics_port}")
            .replace("/path/to/checkout/.data", str(stack.data_dir))
        )
        assert promised in banner, "up prints what the README says it prints"
        for port in (stack.api_port, stack.worker_metrics_port, stack.temporal_metrics_port):
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics")
            assert scraped.status_code == 200 and "# TYPE" in scraped.text, port
        for seed in SEEDS:
            assert seed.name in banner, "up names the seeds' state machines it registered"
        assert httpx.get(f"http://127.0.0.1:{stack.ui_port}/").status_code == 200
        assert httpx.get(f"{stack.base}/docs").status_code == 200
        assert "Statewright" in httpx.get(f"{stack.base}/").text

        walk = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert walk.returncode == 0, walk.stdout + walk.stderr
        reference = json.loads(walk.stdout.splitlines()[2])  # echo "$RESPONSE"
        first_order = reference["order_id"]
        ui = f"http://127.0.0.1:{stack.ui_port}"
        assert reference["ui_url"].startswith(f"{ui}/namespaces/default/workflows/order-")
        assert httpx.get(reference["ui_url"]).status_code == 200
        # What the Temporal UI shows comes from its own API: the order is found by its
        # OrderId search attribute, and its four steps are local-activity markers.
        query = {"query": f'OrderId="{first_order}"'}
        found = httpx.get(f"{ui}/api/v1/namespaces/default/workflows", params=query).json()
        assert [e["execution"]["workflowId"] for e in found["executions"]] == [
            f"order-{first_order}"
        ]
        history = httpx.get(
            f"{ui}/api/v1/namespaces/default/workflows/order-{first_order}/history"
        ).json()["history"]["events"]
        markers = [
            e["markerRecordedEventAttributes"]["markerName"]
            for e in history
            if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
            and e["markerRecordedEventAttributes"]["markerName"] == "core_local_activity"
        ]
        assert len(markers) == 4
        assert '"status":"COMPLETED"' in walk.stdout
        assert "not in stock: sku-2 (requested 1, available 0)" in walk.stdout
        assert httpx.get(f"{stack.base}/store-items/sku-1").json()["stock"] == 8

    with stack.running() as again:
        assert f"seed state machines: {len(SEEDS)} unchanged" in again
        assert httpx.get(f"{stack.base}/store-items/sku-1").json() == {
            "item_id": "sku-1",
            "stock": 8,
        }
        assert httpx.get(f"{stack.base}/orders/{first_order}").json()["status"] == "COMPLETED"
        run = httpx.get(f"{stack.base}/runs/order-{first_order}").json()
        assert run["status"] == "COMPLETED", "the run's history survived the restart"
        assert [step["name"] for step in run["steps"]] == [
            "check_stock",
            "create_order",
            "reserve_stock",
            "complete_order",
        ]


async def test_up_registers_the_seeds_through_the_api(
    api: str, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `up` does once the API answers (the same code as `statewright sfn seed`), against
    the test API: the banner's lines name every seed, and a second start changes nothing."""
    port = int(api.rsplit(":", 1)[1])
    configured = settings.model_copy(update={"api_host": "127.0.0.1", "api_port": port})
    first = await asyncio.to_thread(register_seed_machines, configured)
    lines = await asyncio.to_thread(register_seed_machines, configured)

    said = capsys.readouterr().out
    assert first == lines
    assert lines[0].startswith("    Seed machines seed-000-shopping-order, ")
    assert all(line.startswith(" " * 18) for line in lines[1:])
    assert ", ".join(seed.name for seed in SEEDS) in " ".join(line.strip() for line in lines)
    assert f"[statewright] seed state machines: {len(SEEDS)} unchanged" in said


async def test_up_reports_seeds_it_could_not_register_and_carries_on(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    nobody = settings.model_copy(update={"api_host": "127.0.0.1", "api_port": free_port()})

    lines = await asyncio.to_thread(register_seed_machines, nobody)

    said = capsys.readouterr().out
    assert lines == ["    Seed machines none registered (see above; then `statewright sfn seed`)"]
    assert (
        "[statewright] could not register the seed state machines (EndpointConnectionError:" in said
    )
    assert "then run `statewright sfn seed`" in said
