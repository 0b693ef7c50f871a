"""`statewright up`: one foreground process that owns every dev service and stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from api.schedules import Applied, apply_report_schedule
from core.search_attributes import ensure_search_attributes
from core.settings import Settings
from core.temporal import connect
from migrations.apply import upgrade
from statewright.embedded import EmbeddedPostgres, start_postgres, temporal_dev_command

STARTUP_TIMEOUT_S = 60
STOP_GRACE_S = 15
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
REAP_EVERY_S = 5


def _die_with_parent() -> None:
    # If `up` itself is killed with SIGKILL, the kernel still stops its children.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _adopt_orphans() -> None:
    # pg_ctl starts Postgres and exits, leaving it an orphan. As their subreaper, `up` becomes
    # its parent: it can see it die, and reap it, which Postgres needs before it can start
    # again (it refuses while the pid in its lock file exists, even as a zombie).
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)


def _reap_orphans(own: set[int]) -> None:
    """Reap adopted descendants that have exited (a dead Postgres's backends), leaving our
    own children to their `Popen`s."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in own:
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(int(entry), os.WNOHANG)


def _say(message: str) -> None:
    print(f"[statewright] {message}", flush=True)


class StartupError(RuntimeError):
    pass


FAST_CRASH_S = 10
"""A child that exits sooner than this after it started has crashed fast."""
MAX_FAST_CRASHES = 5
"""After this many fast crashes in a row, restarting is no use: `up` gives up."""
MAX_RESTART_DELAY_S = 30


def _exit_words(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


@dataclass
class Restarts:
    """When a part last started, how often it has crashed fast in a row, and when it is due
    to start again."""

    name: str
    started_at: float = field(default_factory=time.monotonic)
    fast_crashes: int = 0
    due_at: float | None = None
    first_delay_s: float = 1.0

    def died(self, how: str) -> str | None:
        """Note a death; the reason to give up, or None (a restart is scheduled)."""
        now = time.monotonic()
        ran = now - self.started_at
        self.fast_crashes = self.fast_crashes + 1 if ran < FAST_CRASH_S else 1
        if self.fast_crashes > MAX_FAST_CRASHES:
            return (
                f"{self.name} stopped {self.fast_crashes} times in a row, each within "
                f"{FAST_CRASH_S}s of starting ({how}); not restarting it again"
            )
        delay = min(self.first_delay_s * 2.0 ** (self.fast_crashes - 1), MAX_RESTART_DELAY_S)
        _say(f"{self.name} stopped after {ran:.0f}s ({how}); restarting it in {delay:.1f}s")
        self.due_at = now + delay
        return None

    def due(self) -> bool:
        return self.due_at is not None and time.monotonic() >= self.due_at

    def restarted(self) -> None:
        self.started_at, self.due_at = time.monotonic(), None
        _say(f"{self.name} restarted")


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path | None
    process: subprocess.Popen[bytes] = field(init=False)
    log_file: IO[bytes] | None = None
    restarts: Restarts = field(init=False)

    def __post_init__(self) -> None:
        self.restarts = Restarts(self.name)
        self.start()

    def start(self) -> None:
        if self.log_file is None and self.log is not None:
            self.log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT if self.log_file else None,
            stdin=subprocess.DEVNULL,
            # Own process group: a terminal's Ctrl-C reaches only `up`, which stops children
            # in order (API, worker, then Temporal and Postgres).
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _say(f"{self.name} did not stop in {STOP_GRACE_S}s; killing it")
                self.process.kill()
                self.process.wait()
        if self.process.returncode not in (0, -signal.SIGTERM):
            _say(f"{self.name} exited with code {self.process.returncode}")
        if self.log_file:
            self.log_file.close()


@dataclass
class Stack:
    settings: Settings
    children: list[Child] = field(default_factory=list)
    postgres: EmbeddedPostgres | None = None
    postgres_restarts: Restarts = field(default_factory=lambda: Restarts("Postgres"))
    stopping: bool = False
    reaped_at: float = 0.0

    def spawn(self, name: str, command: list[str], env: dict[str, str], log: Path | None) -> None:
        self.children.append(Child(name, command, env, log))

    def stop(self) -> None:
        self.stopping = True
        for child in reversed(self.children):
            _say(f"stopping {child.name}")
            child.stop()
        self.children.clear()
        if self.postgres is not None:
            _say("stopping Postgres")
            self.postgres.stop()
            self.postgres = None

    def exited_child(self) -> Child | None:
        return next((c for c in self.children if not c.running()), None)

    def tend(self) -> str | None:
        """Restart whatever died, with backoff; the reason to give up, or None."""
        now = time.monotonic()
        if now - self.reaped_at >= REAP_EVERY_S:
            self.reaped_at = now
            own = {child.process.pid for child in self.children}
            if self.postgres is not None:  # reaped by `alive`, which notes how it ended
                own.add(int(self.postgres.server.get_postmaster_info().pid))
            _reap_orphans(own)
        for child in self.children:
            restarts = child.restarts
            if restarts.due():
                child.start()
                restarts.restarted()
            elif restarts.due_at is None and not child.running():
                given_up = restarts.died(_exit_words(child.process.returncode))
                if given_up:
                    return given_up
        if self.postgres is not None:
            restarts = self.postgres_restarts
            if restarts.due():
                try:
                    self.postgres.revive()
                except Exception as err:  # pg_ctl failed: count it as another fast death
                    restarts.started_at = time.monotonic()
                    restarts.due_at = None
                    return restarts.died(f"could not start: {err}")
                restarts.restarted()
            elif restarts.due_at is None and not self.postgres.alive():
                code = self.postgres.exit_code
                return restarts.died("its server is gone" if code is None else _exit_words(code))
        return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _require_free_ports(settings: Settings) -> None:
    wanted = {settings.api_port: "STATEWRIGHT_API_PORT"}
    if settings.uses_dev_temporal:
        wanted[settings.temporal_dev_port] = "STATEWRIGHT_TEMPORAL_PORT"
        wanted[settings.temporal_ui_port] = "STATEWRIGHT_TEMPORAL_UI_PORT"
        wanted[settings.temporal_metrics_port] = "STATEWRIGHT_TEMPORAL_METRICS_PORT"
    if settings.worker_serves_metrics:
        wanted[settings.worker_metrics_port] = "STATEWRIGHT_WORKER_METRICS_PORT"
    busy = [
        f"{port} (set {var} to move it)" for port, var in wanted.items() if not _port_free(port)
    ]
    if busy:
        raise StartupError(
            "port(s) already in use on 127.0.0.1: "
            + ", ".join(busy)
            + ". Is another `statewright up` running?"
        )


def _wait_until(what: str, ready: Callable[[], bool], stack: Stack) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if stack.stopping:
            raise StartupError("stopped while starting")
        crashed = stack.exited_child()
        if crashed is not None:
            how = _exit_words(crashed.process.returncode)
            raise StartupError(f"{crashed.name} stopped while starting ({how})")
        if ready():
            return
        time.sleep(0.2)
    raise StartupError(f"{what} was not ready after {STARTUP_TIMEOUT_S}s")


def _temporal_ready(settings: Settings) -> bool:
    async def check() -> bool:
        client = await asyncio.wait_for(connect(settings), 2)
        return await client.service_client.check_health()

    try:
        return asyncio.run(check())
    except Exception:
        return False


async def _apply_schedule(settings: Settings) -> Applied:
    client = await connect(settings)
    await ensure_search_attributes(client)  # an external Temporal may lack them
    return await apply_report_schedule(client, settings)


SEED_LABEL = "    Seed machines "
BANNER_WIDTH = 96


def register_seed_machines(settings: Settings) -> list[str]:
    """Register the seeds' state machines through the Step Functions API, as
    `statewright sfn seed` does, and say how it went; return the banner's lines about them.

    Never raises: a stack whose seeds could not be registered still serves everything else,
    and `statewright sfn seed` registers them later.
    """
    from statewright.sfn_cli import Sfn, register_seeds

    try:
        registered = register_seeds(Sfn(settings, None))
    except Exception as err:
        _say(
            f"could not register the seed state machines ({_why(err)}); the stack runs "
            "without them: fix that, then run `statewright sfn seed`"
        )
        return [f"{SEED_LABEL}none registered (see above; then `statewright sfn seed`)"]
    counts: dict[str, int] = {}
    for each in registered:
        counts[each.outcome] = counts.get(each.outcome, 0) + 1
        if not each.ok:
            _say(f"seed state machine {each.line()}")
    _say("seed state machines: " + ", ".join(f"{n} {outcome}" for outcome, n in counts.items()))
    names = [each.name for each in registered if each.ok]
    text = ", ".join(names) if names else "none registered (see above)"
    return textwrap.wrap(
        text + " (`statewright sfn list`)",
        width=BANNER_WIDTH,
        initial_indent=SEED_LABEL,
        subsequent_indent=" " * len(SEED_LABEL),
        break_on_hyphens=False,
    )


def _why(err: Exception) -> str:
    """One line about a failed API call: AWS's error code and message when it answered."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
    return f"{type(err).__name__}: {err}"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _start(stack: Stack) -> None:
    settings = stack.settings
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    _require_free_ports(settings)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    if settings.uses_embedded_postgres:
        _say(f"starting embedded Postgres in {data / 'postgres'}")
        stack.postgres = start_postgres(data / "postgres")
        database_url = stack.postgres.url
    else:
        _say("using Postgres from DATABASE_URL")
        assert settings.database_url
        database_url = settings.database_url
    env["DATABASE_URL"] = database_url

    _say("applying migrations")
    upgrade(database_url)

    if settings.uses_dev_temporal:
        _say(f"starting Temporal dev server (state in {data / 'temporal.sqlite'})")
        stack.spawn("Temporal", temporal_dev_command(settings), env, data / "temporal.log")
        env["TEMPORAL_ADDRESS"] = settings.temporal_target
    else:
        _say(f"using Temporal at {settings.temporal_target}")
    _wait_until("Temporal", lambda: _temporal_ready(settings), stack)

    cli = [sys.executable, "-m", "statewright.cli"]
    stack.spawn("worker", [*cli, "worker"], env, None)
    stack.spawn("API", [*cli, "api"], env, None)
    base = f"http://{settings.api_host}:{settings.api_port}"
    _wait_until("the API", lambda: _http_ok(f"{base}/health"), stack)

    applied = asyncio.run(_apply_schedule(settings))
    verb = "created" if applied.created else "updated"
    _say(
        f"schedule {applied.schedule_id!r} {verb}: the report runner runs on cron "
        f"{settings.report_schedule_cron!r}"
    )
    seeds = "".join(f"{line}\n" for line in register_seed_machines(settings))

    ui = settings.temporal_ui_url if settings.uses_dev_temporal else "(your Temporal's web UI)"
    keys = (
        f"{len(settings.api_keys)} configured; every endpoint but /health needs one"
        if settings.api_keys
        else f"none: open to anyone who can reach {settings.api_host} (README: Access control)"
    )
    print(
        "\n"
        "  Statewright is up.\n"
        f"    Start here    {base}/\n"
        f"    API docs      {base}/docs\n"
        f"    Health        {base}/health\n"
        f"    Temporal UI   {ui}\n"
        f"    Report page   {base}/site/report.html (published every minute)\n"
        f"{metrics_lines(settings, base)}"
        f"{seeds}"
        f"    Data folder   {data}\n"
        f"    API keys      {keys}\n"
        "  Press Ctrl-C to stop everything.\n",
        flush=True,
    )


def metrics_lines(settings: Settings, base: str) -> str:
    """The banner's lines naming every metrics endpoint `up` started (Prometheus format)."""
    where = [f"{base}/metrics (API)"] if settings.metrics else []
    if settings.worker_serves_metrics:
        where.append(f"http://{settings.api_host}:{settings.worker_metrics_port}/metrics (worker)")
    if settings.uses_dev_temporal:
        where.append(f"http://127.0.0.1:{settings.temporal_metrics_port}/metrics (Temporal)")
    if not where:
        return ""
    label, indent = "    Metrics       ", " " * 18
    return "".join(f"{indent if i else label}{line}\n" for i, line in enumerate(where))


def run_stack(settings: Settings) -> int:
    """Start everything, wait for a signal or a crash, then stop everything in order."""
    stack = Stack(settings)

    def on_signal(signum: int, _: FrameType | None) -> None:
        if not stack.stopping:
            _say(f"received {signal.Signals(signum).name}; shutting down")
        stack.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    _adopt_orphans()
    code = 0
    try:
        _start(stack)
        while not stack.stopping:
            given_up = stack.tend()
            if given_up is not None:
                _say(given_up)
                code = 1
                break
            time.sleep(0.2)
    except StartupError as err:
        if not stack.stopping:
            _say(f"could not start: {err}")
            code = 1
    finally:
        stack.stop()
    _say("stopped")
    return code
