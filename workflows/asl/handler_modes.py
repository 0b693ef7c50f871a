"""Which task handlers run as local activities: declared by `@task(local=True)` in the
worker's process, read by the interpreter when it schedules a handler (`tasks`).

Workflow code imports this module passed through the sandbox, so the sandboxed and the
unsandboxed runner both see the worker's one set."""

from __future__ import annotations

_LOCAL: set[str] = set()


def declare_local(function: str) -> None:
    _LOCAL.add(function)


def declare_regular(function: str) -> None:
    _LOCAL.discard(function)


def is_local(function: str) -> bool:
    return function in _LOCAL
