"""Task handlers the engine's tests run, registered as a user's module would register them."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

from statewright.tasks import task

CALLS: Counter[str] = Counter()
"""How often each keyed call was made, across retries."""

SEEN: defaultdict[str, list[Any]] = defaultdict(list)
"""Every event a keyed handler (`flaky`, `scripted`) was called with, in call order."""

TRACE: defaultdict[str, list[tuple[str, Any]]] = defaultdict(list)
"""`("start", value)` and `("end", value)` of each `record` call, in the order they happened."""

TOKENS: defaultdict[str, list[str]] = defaultdict(list)
"""The task tokens `remember-token` was handed, by key, as a queue would hold them for the
worker that answers later."""


class CustomError(Exception):
    """An error a handler raises on purpose; its class name is the ASL error."""


_NAMED: dict[str, type[Exception]] = {}


def named_error(name: str) -> type[Exception]:
    """An exception class called `name`, so a handler can fail with any ASL error name."""
    if name not in _NAMED:
        _NAMED[name] = type(name, (Exception,), {})
    return _NAMED[name]


@task("echo")
def echo(event: Any) -> Any:
    return event


@task("local-echo", local=True)
async def local_echo(event: Any) -> Any:
    return event


@task("add")
def add(event: dict[str, int]) -> int:
    return event["a"] + event["b"]


@task("fail")
def fail(event: dict[str, str]) -> None:
    raise CustomError(event.get("message", "failed on purpose"))


@task("flaky")
def flaky(event: dict[str, Any]) -> dict[str, Any]:
    """Fails with `CustomError` the first `failures` calls for `key`, then answers."""
    CALLS[event["key"]] += 1
    SEEN[event["key"]].append(event)
    if CALLS[event["key"]] <= event["failures"]:
        raise CustomError(f"call {CALLS[event['key']]} fails")
    return {"calls": CALLS[event["key"]]}


@task("scripted")
def scripted(event: dict[str, Any]) -> dict[str, Any]:
    """Call n for `key` fails with the error named `errors[n]` while there is one; then answers."""
    SEEN[event["key"]].append(event)
    calls = len(SEEN[event["key"]])
    if calls <= len(event["errors"]):
        raise named_error(event["errors"][calls - 1])(f"call {calls} fails")
    return {"calls": calls}


@task("record")
async def record(event: dict[str, Any]) -> Any:
    """Notes its start and end under `key`, `seconds` apart; answers `value`."""
    TRACE[event["key"]].append(("start", event["value"]))
    await asyncio.sleep(event.get("seconds", 0))
    TRACE[event["key"]].append(("end", event["value"]))
    return event["value"]


@task("remember-token")
async def remember_token(event: dict[str, Any]) -> dict[str, bool]:
    """Keeps the task token it is handed under `key`, after `seconds`; answers at once."""
    await asyncio.sleep(event.get("seconds", 0))
    TOKENS[event["key"]].append(event["token"])
    return {"queued": True}


@task("sleep")
async def sleep(event: dict[str, float]) -> dict[str, float]:
    await asyncio.sleep(event["seconds"])
    return event


@task("local-sleep", local=True)
async def local_sleep(event: dict[str, float]) -> dict[str, float]:
    await asyncio.sleep(event["seconds"])
    return event


@task("huge")
def huge(event: dict[str, int]) -> str:
    return "x" * event["bytes"]


@task("not-json")
def not_json(event: Any) -> Any:
    return {1, 2}


@task("flaky-connection")
def flaky_connection(event: dict[str, Any]) -> dict[str, Any]:
    """Fails with ConnectionError, as a database away would, the first `failures` calls for
    `key`, then answers."""
    CALLS[event["key"]] += 1
    if CALLS[event["key"]] <= event["failures"]:
        raise ConnectionError("connection refused")
    return {"calls": CALLS[event["key"]]}


BROKEN: set[str] = set()
"""Keys `fixable` fails for, until a test takes them out: a dependency that is down."""


@task("fixable")
def fixable(event: dict[str, Any]) -> dict[str, Any]:
    """Fails with `CustomError` while `key` is in `BROKEN`; else answers `value`. Every call
    is noted in `SEEN[key]`, failed or not."""
    SEEN[event["key"]].append(event)
    if event["key"] in BROKEN:
        raise CustomError(f"{event['key']} is down")
    return {"value": event.get("value")}
