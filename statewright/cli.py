"""The `statewright` command: `up` for a whole dev stack, or one production-style process."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from core import logs
from core.settings import Settings
from core.temporal import TemporalUnreachable, connect_patiently

if TYPE_CHECKING:
    from api.schedules import Applied
    from statewright.embedded import EmbeddedPostgres

log = logging.getLogger("statewright")


_attached: list[EmbeddedPostgres] = []


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL if set; else the embedded Postgres in the data folder, started if need be."""
    if settings.database_url:
        return settings.database_url
    from statewright.embedded import start_postgres

    embedded = start_postgres(settings.data_path / "postgres")
    _attached.append(embedded)
    return embedded.url


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from migrations.apply import upgrade

    upgrade(resolve_database_url(settings))
    log.info("database schema is up to date")
    return 0


def cmd_worker(settings: Settings, _: argparse.Namespace) -> int:
    import uvloop

    from statewright.flows import FLOWS
    from worker.main import run_worker

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run_worker(FLOWS, settings, resolve_database_url(settings)))
    return 0


def cmd_api(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from activities.task_handlers import load_task_modules
    from api.app import create_app
    from api.auth import UnknownScope
    from api.server import server_config
    from statewright.eager_api import eager_worker
    from statewright.flows import FLOWS

    # The API pins each handler's mode (local or regular) into the executions it starts.
    load_task_modules(settings.task_modules)
    if not settings.api_keys:
        if not settings.api_is_local and not settings.allow_open_api:
            log.error(
                "refusing to serve on %s with no API keys: set STATEWRIGHT_API_KEYS "
                "(see `statewright keys new`), or STATEWRIGHT_ALLOW_OPEN_API=true to accept it",
                settings.api_host,
            )
            return 2
        log.warning(
            "no API keys configured: the API is open to anyone who can reach %s:%s",
            settings.api_host,
            settings.api_port,
        )

    try:
        app = create_app(
            FLOWS, settings, resolve_database_url(settings), eager_worker=eager_worker(settings)
        )
    except UnknownScope as err:
        log.error("%s", err)
        return 2
    uvicorn.Server(server_config(app, settings)).run()
    return 0


def cmd_schedules_apply(settings: Settings, _: argparse.Namespace) -> int:
    applied = asyncio.run(apply_schedules(settings))
    log.info("schedule %r %s", applied.schedule_id, "created" if applied.created else "updated")
    return 0


async def apply_schedules(settings: Settings) -> Applied:
    """Create or update every schedule (today: the report runner's)."""
    from api.schedules import apply_report_schedule
    from core.search_attributes import ensure_search_attributes

    client = await connect_patiently(settings, wait_s=30)
    await ensure_search_attributes(client)
    return await apply_report_schedule(client, settings)


def cmd_keys_new(_: Settings, args: argparse.Namespace) -> int:
    from api.flows import scopes as known_scopes
    from core.keys import ApiKeySpec, digest, new_key
    from statewright.flows import FLOWS

    name, scopes = args.name, [s.strip() for s in args.scopes.split(",") if s.strip()]
    choices = known_scopes(FLOWS)
    unknown = [s for s in scopes if s not in choices]
    if unknown:
        log.error("unknown scope(s) %s; choose from %s", unknown, ", ".join(choices))
        return 2
    key = new_key()
    spec = ApiKeySpec.model_validate({"name": name, "sha256": digest(key), "scopes": scopes})
    print(f"key (give it to the client; it is shown only now): {key}")
    print("add this entry to the JSON list in STATEWRIGHT_API_KEYS:")
    print(spec.model_dump_json())
    return 0


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from api.flows import workflow_type
    from statewright.bench.figures import write_outputs
    from statewright.bench.options import Options
    from statewright.bench.runner import BenchTargetError, run_bench
    from statewright.embedded import running_postgres_url
    from statewright.flows import FLOWS

    loadable = {flow.name: flow for flow in FLOWS if flow.bench is not None}
    flow = loadable.get(args.scenario)
    if flow is None or flow.bench is None:
        log.error("no bench scenario %r; choose from %s", args.scenario, ", ".join(loadable))
        return 2
    if args.wait and not flow.bench.waits:
        waiting = ", ".join(
            name for name, each in loadable.items() if each.bench and each.bench.waits
        )
        log.error("--wait needs a route that answers with its run's result: %s", waiting)
        return 2
    overrides: dict[str, object] = {}
    if args.api_url:
        overrides["reports_api_url_override"] = args.api_url
    if args.temporal_address:
        overrides["temporal_address"] = args.temporal_address
    settings = settings.model_copy(update=overrides)
    # The stack's own database: DATABASE_URL, or the embedded Postgres that `statewright up`
    # runs in this data folder. Never a new one: it would be empty, and measure nothing.
    database_url = settings.database_url or running_postgres_url(settings.data_path / "postgres")
    if database_url is None:
        log.error(
            "no database to check the stack against: no Postgres runs in %s and DATABASE_URL "
            "is unset. Run the bench with the STATEWRIGHT_DATA_DIR (or DATABASE_URL) of the "
            "stack it targets",
            settings.data_path / "postgres",
        )
        return 1
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        log.error(
            "--plot needs matplotlib, from the bench extra: pip install '.[bench]' "
            "(`python3 dev.py cli bench ...` installs it)"
        )
        return 2
    if args.rate is not None and (args.rate <= 0 or args.duration <= 0):
        log.error("--rate and --duration must be greater than 0")
        return 2
    if args.rate is not None and args.plot:
        log.error("--plot draws closed-loop runs; leave it out with --rate")
        return 2
    versus = None
    if flow.bench.versus is not None and args.rate is None:
        other = loadable[flow.bench.versus]
        assert other.bench is not None
        versus = (other.name, other.bench, workflow_type(other.workflow))
    options = Options(
        versus=versus,
        scenario=flow.name,
        load=flow.bench,
        workflow_type=workflow_type(flow.workflow),
        count=args.count if args.rate is None else max(1, round(args.rate * args.duration)),
        concurrency=args.concurrency,
        rate=args.rate,
        duration_s=args.duration,
        lines=args.lines,
        json_path=args.json,
        plot_path=args.plot,
        wait=args.wait,
    )
    try:
        result = asyncio.run(run_bench(options, settings, database_url))
    except BenchTargetError as err:
        log.error("%s", err)
        return 1
    write_outputs(result, options)
    return 1 if result["invariants"]["violations"] else 0


def cmd_sfn(settings: Settings, args: argparse.Namespace) -> int:
    from statewright import sfn_cli

    return sfn_cli.run(settings, args)


def cmd_up(settings: Settings, _: argparse.Namespace) -> int:
    from statewright.supervisor import run_stack

    return run_stack(settings)


Handler = Callable[[Settings, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statewright",
        description="Step Functions tutorial workflows as durable Temporal workflows. "
        "Configuration comes from the environment (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(handler=handler)
        return parser

    command("up", cmd_up, "start Postgres, migrations, Temporal, a worker and the API")
    command("worker", cmd_worker, "run a worker (production style: one process)")
    command("api", cmd_api, "run the HTTP API (production style: one process)")
    command("migrate", cmd_migrate, "apply the database migrations and exit")
    schedules = sub.add_parser("schedules", help="manage the Temporal Schedules")
    schedule_actions = schedules.add_subparsers(dest="action", required=True, metavar="ACTION")
    schedule_actions.add_parser(
        "apply", help="create the report runner's schedule, or update it"
    ).set_defaults(handler=cmd_schedules_apply)
    bench = command("bench", cmd_bench, "load a running stack through its API, with a baseline")
    # The choices come from the manifest, which is slow to import; cmd_bench checks them.
    bench.add_argument(
        "scenario", help="a flow with a bench scenario in the manifest: orders, payments, ..."
    )
    bench.add_argument(
        "--api-url",
        help="the stack's API (default: STATEWRIGHT_REPORTS_API_URL, else this machine's "
        "API at STATEWRIGHT_API_HOST and STATEWRIGHT_API_PORT)",
    )
    bench.add_argument(
        "--temporal-address",
        help="its Temporal frontend, host:port (default: TEMPORAL_ADDRESS, else the dev "
        "server's port). Its database comes from DATABASE_URL, or the running embedded "
        "Postgres of STATEWRIGHT_DATA_DIR",
    )
    bench.add_argument("--count", type=int, default=1000, help="runs per phase (1000)")
    bench.add_argument("--concurrency", type=int, default=32, help="senders at once (32)")
    bench.add_argument(
        "--rate",
        type=float,
        help="open loop: send this many requests a second, whatever the answers do, and "
        "report latency at that load (the scenario only; no baseline, no limit)",
    )
    bench.add_argument(
        "--duration", type=float, default=60.0, help="seconds of sending, with --rate (60)"
    )
    bench.add_argument(
        "--wait",
        action="store_true",
        help="webhooks: POST /webhooks?wait=true, so each answer carries its run's result "
        "and its latency is the run's",
    )
    bench.add_argument("--lines", type=int, default=2, help="lines per cart, for orders (2)")
    bench.add_argument("--json", type=Path, help="write the figures to this file")
    bench.add_argument("--plot", type=Path, help="draw latency and throughput to this PNG")
    from statewright import sfn_cli

    sfn_cli.add_parser(sub, cmd_sfn)
    keys = sub.add_parser("keys", help="make API keys")
    key_actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = key_actions.add_parser("new", help="make a key and print its STATEWRIGHT_API_KEYS entry")
    new.add_argument("--name", required=True, help="who or what uses the key")
    new.add_argument("--scopes", required=True, help="comma-separated, e.g. orders:write,runs:read")
    new.set_defaults(handler=cmd_keys_new)
    return parser


def main(argv: list[str] | None = None) -> NoReturn:
    """Run a subcommand, then leave without interpreter teardown (see `_exit`)."""
    _exit(_run(argv))


def _exit(code: int) -> NoReturn:
    # The Temporal SDK's Rust threads can outlive the event loop and abort CPython's
    # finalisation ("PyGILState_Release ... must be current", temporalio/sdk-python#300),
    # which would turn a clean stop into SIGABRT. Everything is closed by now: flush and go.
    # os._exit skips atexit, where the embedded Postgres forgets this process as one of its
    # users (and stops, if it was the last): do that here, or a later `up` never stops it.
    for embedded in _attached:
        embedded.stop()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure()
    handler: Handler = args.handler
    try:
        return handler(Settings(), args)
    except KeyboardInterrupt:
        return 130
    except (TemporalUnreachable, OperationalError, ValidationError) as err:
        # Configuration and reachability problems: one clear line, no traceback.
        log.error("%s", err)
        return 1


if __name__ == "__main__":
    main()
