"""The `statewright` command: `up` for a whole dev stack, or one production-style process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from core import logs
from core.settings import Settings
from core.temporal import TemporalUnreachable, connect_patiently

if TYPE_CHECKING:
    from core.schedules import Applied

log = logging.getLogger("statewright")


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL if set; else the embedded Postgres in the data folder, started if need be."""
    if settings.database_url:
        return settings.database_url
    from core.embedded import start_postgres

    return start_postgres(settings.data_path / "postgres").url


def cmd_migrate(settings: Settings) -> int:
    from core.migrate import upgrade

    upgrade(resolve_database_url(settings))
    log.info("database schema is up to date")
    return 0


def cmd_worker(settings: Settings) -> int:
    from worker.main import run_worker

    asyncio.run(run_worker(settings, resolve_database_url(settings)))
    return 0


def cmd_api(settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    app = create_app(settings, resolve_database_url(settings))
    uvicorn.run(
        app, host=settings.api_host, port=settings.api_port, log_level="info", access_log=False
    )
    return 0


def cmd_schedules_apply(settings: Settings) -> int:
    applied = asyncio.run(apply_schedules(settings))
    log.info("schedule %r %s", applied.schedule_id, "created" if applied.created else "updated")
    return 0


async def apply_schedules(settings: Settings) -> Applied:
    """Create or update every schedule (today: the report runner's)."""
    from core.schedules import apply_report_schedule

    client = await connect_patiently(settings, wait_s=30)
    return await apply_report_schedule(client, settings)


def cmd_up(settings: Settings) -> int:
    from core.supervisor import run_stack

    return run_stack(settings)


COMMANDS = {
    "up": (cmd_up, "start Postgres, migrations, Temporal, a worker and the API; Ctrl-C stops all"),
    "worker": (cmd_worker, "run a worker (production style: one process)"),
    "api": (cmd_api, "run the HTTP API (production style: one process)"),
    "migrate": (cmd_migrate, "apply the database migrations and exit"),
    "schedules": (
        cmd_schedules_apply,
        "`schedules apply`: create or update the Temporal Schedules",
    ),
}


def main(argv: list[str] | None = None) -> NoReturn:
    """Run a subcommand, then leave without interpreter teardown (see `_exit`)."""
    _exit(_run(argv))


def _exit(code: int) -> NoReturn:
    # The Temporal SDK's Rust threads can outlive the event loop and abort CPython's
    # finalisation ("PyGILState_Release ... must be current", temporalio/sdk-python#300),
    # which would turn a clean stop into SIGABRT. Everything is closed by now: flush and go.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="statewright",
        description="Step Functions tutorial workflows as durable Temporal workflows. "
        "Configuration comes from the environment (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == "schedules":
            actions = command.add_subparsers(dest="action", required=True, metavar="ACTION")
            actions.add_parser("apply", help="create the report runner's schedule, or update it")
    args = parser.parse_args(argv)
    logs.configure()
    handler, _ = COMMANDS[args.command]
    try:
        return handler(Settings())
    except KeyboardInterrupt:
        return 130
    except (TemporalUnreachable, OperationalError, ValidationError) as err:
        # Configuration and reachability problems: one clear line, no traceback.
        log.error("%s", err)
        return 1


if __name__ == "__main__":
    main()
