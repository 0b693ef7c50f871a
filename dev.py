#!/usr/bin/env python3
"""Bootstrap for a fresh machine that has only Python 3.11+.

    python3 dev.py up      install what is needed, then run the whole stack (statewright up)
    python3 dev.py test    install what is needed, then run the whole test suite
    python3 dev.py lint    ruff and mypy over the project's code
    python3 dev.py cli ... any `statewright` command, e.g. `cli keys new --name ops --scopes admin`

It keeps a virtualenv in .venv and reinstalls only when a lock file changes. Extra arguments
go to the command it runs (for example `python3 dev.py test -k orders`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
LOCKS = {
    "runtime": ["requirements.lock"],
    # `statewright bench` plots with matplotlib, which the runtime does not need.
    "bench": ["requirements.lock", "requirements-bench.lock"],
    "dev": ["requirements.lock", "requirements-bench.lock", "requirements-dev.lock"],
}


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def ensure_env(kind: str) -> None:
    inputs = [ROOT / "pyproject.toml", *(ROOT / name for name in LOCKS[kind])]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()
    stamp = VENV / f".installed-{kind}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not (BIN / "python").exists():
        say(f"creating virtualenv in {VENV.name}/")
        venv.create(VENV, with_pip=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    for lock in LOCKS[kind]:
        say(f"installing pinned dependencies from {lock} (first run takes a minute or two)")
        subprocess.run([*pip, "-r", str(ROOT / lock)], check=True)
    # setuptools warns at length about editable installs; show its output only if it fails.
    project = subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], capture_output=True, text=True)
    if project.returncode:
        sys.exit(project.stdout + project.stderr)
    stamp.write_text(digest)
    say("environment ready")


def environment() -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONHOME", None)
    return env


def run(command: list[str]) -> int:
    return subprocess.run(command, env=environment(), cwd=ROOT).returncode


def become(command: list[str]) -> None:
    """Replace this process, so Ctrl-C and SIGTERM reach the command itself and nothing in
    between kills it before it has stopped what it started."""
    os.chdir(ROOT)
    os.execve(command[0], command, environment())


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036  (this file may run on any python3)
        print(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
        return 2
    if not argv or argv[0] not in {"up", "test", "lint", "cli"}:
        print(__doc__)
        return 2
    task, rest = argv[0], argv[1:]
    if task in ("up", "cli"):
        ensure_env("bench" if rest[:1] == ["bench"] else "runtime")
        become([str(BIN / "statewright"), *(["up"] if task == "up" else []), *rest])
    ensure_env("dev")
    if task == "test":
        become([str(BIN / "python"), "-m", "pytest", *rest])
    code = run([str(BIN / "ruff"), "check", "."]) or run(
        [str(BIN / "ruff"), "format", "--check", "."]
    )
    return code or run([str(BIN / "mypy")])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
