"""How each task handler runs, local or regular: declared by `@task(local=...)` in the
processes that import the handler modules (the worker, and the API, which pins the modes
into each execution it starts), read by the interpreter when it schedules a handler.

Workflow code imports this module passed through the sandbox, so the sandboxed and the
unsandboxed runner both see the worker's one table."""

from __future__ import annotations

_MODES: dict[str, bool] = {}


def declare_local(function: str) -> None:
    _MODES[function] = True


def declare_regular(function: str) -> None:
    _MODES[function] = False


def is_local(function: str) -> bool:
    return _MODES.get(function, False)


def modes_named_in(text: str) -> dict[str, bool]:
    """The mode of every known handler whose name appears in `text` (a definition): what an
    execution of it pins. A name that appears by chance costs a few bytes, nothing more."""
    return {name: local for name, local in _MODES.items() if name in text}
