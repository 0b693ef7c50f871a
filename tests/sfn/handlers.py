"""Task handlers the engine's tests run, registered as a user's module would register them."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from statewright.tasks import task

CALLS: Counter[str] = Counter()
"""How often each keyed call was made, across retries."""


class CustomError(Exception):
    """An error a handler raises on purpose; its class name is the ASL error."""


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
    if CALLS[event["key"]] <= event["failures"]:
        raise CustomError(f"call {CALLS[event['key']]} fails")
    return {"calls": CALLS[event["key"]]}


@task("sleep")
async def sleep(event: dict[str, float]) -> dict[str, float]:
    await asyncio.sleep(event["seconds"])
    return event


@task("huge")
def huge(event: dict[str, int]) -> str:
    return "x" * event["bytes"]


@task("not-json")
def not_json(event: Any) -> Any:
    return {1, 2}
